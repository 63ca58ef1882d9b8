//! Elementwise product of two activations: `advice / 3` independent products per row.
//!
//! Row: triples (a, b, c) in advice (3j, 3j+1, 3j+2):  c = a * b.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
/// The integer semantics this chip constrains (defined with the specification).
pub use crate::quant::native::mul;
use halo2_proofs::plonk::{ConstraintSystem, Selector};
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct MulConfig {
    pub q: Selector,
}

impl MulConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let q = meta.selector();
        meta.create_gate("mul", |m| {
            let q = m.query_selector(q);
            (0..cols.width() / 3)
                .map(|j| {
                    let a = cols.advice(m, 3 * j, 0);
                    let b = cols.advice(m, 3 * j + 1, 0);
                    let c = cols.advice(m, 3 * j + 2, 0);
                    q.clone() * (a * b - c)
                })
                .collect::<Vec<_>>()
        });
        MulConfig { q }
    }
}

impl Trace {
    /// `a * b`, packed with other products into shared rows.
    pub fn mul(&mut self, a: Wire, b: Wire) -> Wire {
        let slots = self.shape.advice / 3;
        let (row, slot) = self.open_slot(0, Gate::Mul, slots);
        let c = mul(self.value(a), self.value(b));
        self.place(row, 3 * slot, a);
        self.place(row, 3 * slot + 1, b);
        self.new_wire(row, 3 * slot + 2, c)
    }
}
