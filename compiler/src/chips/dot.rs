//! Dot product with constant weights: `acc = bias + sum x_i * w_i`, `advice - 1` MACs per row.
//!
//! Row: inputs in advice 0..W-1 (copies), the running sum in advice W-1; weights in fixed
//! 0..W-1, the bias in fixed W-1, and in fixed W a chain flag that adds the previous row's sum.
//!   acc = chain * acc[-1] + bias + sum_i x_i * w_i
//! Weights, bias and chain are fixed columns, so they are part of the verifying key.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
/// The integer semantics this chip constrains (defined with the specification).
pub use crate::quant::native::dot;
use halo2_proofs::plonk::{ConstraintSystem, Selector};
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct DotConfig {
    pub q: Selector,
}

impl DotConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let q = meta.selector();
        let w = cols.width();
        meta.create_gate("dot", |m| {
            let q = m.query_selector(q);
            let acc = cols.advice(m, w - 1, 0);
            let prev = cols.advice(m, w - 1, -1);
            let bias = cols.fixed(m, w - 1, 0);
            let chain = cols.fixed(m, w, 0);
            let sum = (0..w - 1).fold(bias + chain * prev, |s, i| s + cols.advice(m, i, 0) * cols.fixed(m, i, 0));
            vec![q * (sum - acc)]
        });
        DotConfig { q }
    }
}

impl Trace {
    /// `bias + sum x * w` over `terms`; returns the wire of the sum.
    pub fn dot(&mut self, terms: &[(Wire, i64)], bias: i128) -> Wire {
        let lanes = self.shape.advice - 1;
        let mut acc: Option<Wire> = None;
        let mut chunks: Vec<&[(Wire, i64)]> = terms.chunks(lanes).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for (c, chunk) in chunks.into_iter().enumerate() {
            let row = self.push_row(Gate::Dot);
            let prev = acc.map_or(0, |a| self.value(a));
            let first = c == 0;
            let row_bias = if first { bias } else { 0 };
            let value = dot(chunk.iter().map(|&(x, w)| (self.value(x), w)), row_bias + prev);
            for (i, &(x, w)) in chunk.iter().enumerate() {
                self.place(row, i, x);
                self.set_fixed(row, i, w as i128);
            }
            self.set_fixed(row, lanes, row_bias);
            self.set_fixed(row, lanes + 1, (!first) as i128);
            acc = Some(self.new_wire(row, lanes, value));
        }
        acc.unwrap_or_default()
    }
}
