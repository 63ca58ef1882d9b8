//! A model input: an integer in the declared range [lo, hi], exactly (not a power of two around it).
//!
//! Two rows. Row 1: `x` in advice 0, `lo | hi` in fixed, `x - lo` in all lookup lanes; row 2:
//! `hi - x` in all lookup lanes. With W = lanes * lookup_bits:
//!   x - lo = r,  hi - x = slack,  0 <= r, slack < 2^W
//! r and slack are integers (limbs), so x is an integer; r + slack = hi - lo holds over the
//! integers (both are far below the field size), so lo <= x <= hi. This is the only check on a
//! private input: every later use of x reads this wire.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
use halo2_proofs::plonk::{ConstraintSystem, Selector};
use halo2_proofs::poly::Rotation;
use halo2curves::bn256::Fr;

/// The integer semantics: whether `x` is an allowed input.
pub fn in_range(x: i128, lo: i128, hi: i128) -> bool {
    (lo..=hi).contains(&x)
}

#[derive(Clone, Debug)]
pub struct InputConfig {
    pub q: Selector,
}

impl InputConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, lookup_bits: u32) -> Self {
        let sel = meta.selector();
        meta.create_gate("input", |m| {
            let q = m.query_selector(sel);
            let x = m.query_advice(cols.advice[0], Rotation::cur());
            let (lo, hi) = (m.query_fixed(cols.fixed[0], Rotation::cur()), m.query_fixed(cols.fixed[1], Rotation::cur()));
            let (r, slack) = cols.remainder_and_slack(m, lookup_bits);
            vec![q.clone() * (x.clone() - lo - r), q * (hi - x - slack)]
        });
        InputConfig { q: sel }
    }
}

impl Trace {
    /// A model input `value` in [lo, hi]; None outside (a keygen trace lays the rows out anyway).
    pub fn input(&mut self, value: i128, lo: i128, hi: i128) -> Option<Wire> {
        if self.checked && !in_range(value, lo, hi) {
            return None;
        }
        debug_assert!(!self.checked || hi - lo < 1i128 << self.shape.lane_bits(), "the layout leaves room for hi - lo");
        let row = self.remainder_rows(Gate::Input, (value - lo).max(0) as u128, (hi - value).max(0) as u128);
        self.set_fixed(row, 0, lo);
        self.set_fixed(row, 1, hi);
        Some(self.new_wire(row, 0, value))
    }
}
