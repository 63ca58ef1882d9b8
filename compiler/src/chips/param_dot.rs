//! Dot product with witnessed weights: `acc = sum x_i * w_i`, both factors advice cells, for layers
//! whose weights are hashed rather than fixed in the key.
//!
//! Row: pairs (x_i, w_i) in advice (2i, 2i + 1) for i < (advice - 1) / 2 (copies), the running sum
//! in advice W-1; in fixed i the flag that pair i is used, in fixed W the chain flag that adds the
//! previous row's sum.
//!   acc = chain * acc[-1] + sum_i used_i * x_i * w_i
//! Both factors are advice, so a free slot must not count: its flag is 0.
//! A bias is one more pair, (b, 1) with the constant wire 1. The weights' own rows (their range
//! checks) come from the input chip; their commitment from the packing and Poseidon chips.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
use halo2_proofs::plonk::{ConstraintSystem, Selector};
use halo2curves::bn256::Fr;

/// Pairs a row holds with `advice` columns.
pub fn pairs_per_row(advice: usize) -> usize {
    (advice - 1) / 2
}

/// Rows a dot of `n` pairs takes (an empty one still writes its zero sum).
pub fn rows(n: usize, advice: usize) -> usize {
    n.div_ceil(pairs_per_row(advice)).max(1)
}

#[derive(Clone, Debug)]
pub struct ParamDotConfig {
    pub q: Selector,
}

impl ParamDotConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let q = meta.selector();
        let w = cols.width();
        meta.create_gate("param dot", |m| {
            let q = m.query_selector(q);
            let acc = cols.advice(m, w - 1, 0);
            let prev = cols.advice(m, w - 1, -1);
            let chain = cols.fixed(m, w, 0);
            let sum = (0..pairs_per_row(w)).fold(chain * prev, |s, i| {
                s + cols.fixed(m, i, 0) * cols.advice(m, 2 * i, 0) * cols.advice(m, 2 * i + 1, 0)
            });
            vec![q * (sum - acc)]
        });
        ParamDotConfig { q }
    }
}

impl Trace {
    /// `sum x * w` over `pairs` of wires; returns the wire of the sum.
    pub fn param_dot(&mut self, pairs: &[(Wire, Wire)]) -> Wire {
        let advice = self.shape.advice;
        let mut acc: Option<Wire> = None;
        let mut chunks: Vec<&[(Wire, Wire)]> = pairs.chunks(pairs_per_row(advice)).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for chunk in chunks {
            let row = self.push_row(Gate::ParamDot);
            let prev = acc.map_or(0, |a| self.value(a));
            let value = chunk.iter().fold(prev, |s, &(x, w)| s + self.value(x) * self.value(w));
            for (i, &(x, w)) in chunk.iter().enumerate() {
                self.place(row, 2 * i, x);
                self.place(row, 2 * i + 1, w);
                self.set_fixed(row, i, 1);
            }
            self.set_fixed(row, advice, acc.is_some() as i128);
            acc = Some(self.new_wire(row, advice - 1, value));
        }
        acc.unwrap_or_default()
    }

    /// The constant wire 1 (one per trace).
    pub(crate) fn one(&mut self) -> Wire {
        match self.one {
            Some(w) => w,
            None => {
                let w = self.constant(1);
                self.one = Some(w);
                w
            }
        }
    }

    /// A witnessed weight: a wire range checked to [lo, hi] of its tensor's width (the input
    /// chip's row), so its packing is injective and the plan's bounds hold.
    /// (`QuantPlan::with_params` refuses wider values, so this never sees one.)
    pub fn param(&mut self, value: i128, (lo, hi): (i128, i128)) -> Wire {
        debug_assert!(!self.checked || super::input::in_range(value, lo, hi), "a weight outside its width");
        self.range_row(value, lo, hi)
    }
}
