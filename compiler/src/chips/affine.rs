//! Elementwise `y = w * x + b` with constant w, b: `advice / 2` independent ops per row.
//!
//! Row: pairs (x, y) in advice (2j, 2j+1) and (w, b) in fixed (2j, 2j+1):  y = w * x + b.
//! Unused pairs are all zero and satisfy the gate.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
/// The integer semantics this chip constrains (defined with the specification).
pub use crate::quant::native::affine;
use halo2_proofs::plonk::{ConstraintSystem, Selector};
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct AffineConfig {
    pub q: Selector,
}

impl AffineConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let q = meta.selector();
        meta.create_gate("affine", |m| {
            let q = m.query_selector(q);
            (0..cols.width() / 2)
                .map(|j| {
                    let x = cols.advice(m, 2 * j, 0);
                    let y = cols.advice(m, 2 * j + 1, 0);
                    let w = cols.fixed(m, 2 * j, 0);
                    let b = cols.fixed(m, 2 * j + 1, 0);
                    q.clone() * (w * x + b - y)
                })
                .collect::<Vec<_>>()
        });
        AffineConfig { q }
    }
}

impl Trace {
    /// `w * x + b`, packed with other affine ops into shared rows.
    pub fn affine(&mut self, x: Wire, w: i64, b: i128) -> Wire {
        let slots = self.shape.advice / 2;
        let (row, slot) = self.open_slot(1, Gate::Affine, slots);
        let y = affine(self.value(x), w, b);
        self.place(row, 2 * slot, x);
        self.set_fixed(row, 2 * slot, w as i128);
        self.set_fixed(row, 2 * slot + 1, b);
        self.new_wire(row, 2 * slot + 1, y)
    }

    /// A wire fixed to the constant `c` (an affine slot with w = 0, b = c).
    pub fn constant(&mut self, c: i128) -> Wire {
        let slots = self.shape.advice / 2;
        let (row, slot) = self.open_slot(1, Gate::Affine, slots);
        self.set_fixed(row, 2 * slot + 1, c);
        self.new_wire(row, 2 * slot + 1, c)
    }

    /// The next free slot of the packed gate `kind` (index into `open`), opening a row if none.
    pub(crate) fn open_slot(&mut self, kind: usize, gate: Gate, slots: usize) -> (usize, usize) {
        let (row, slot) = match self.open[kind] {
            Some((row, slot)) if slot < slots => (row, slot),
            _ => (self.push_row(gate), 0),
        };
        self.open[kind] = Some((row, slot + 1));
        (row, slot)
    }
}
