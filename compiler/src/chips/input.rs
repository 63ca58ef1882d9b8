//! A model input: an integer in the declared range [lo, hi], exactly (not a power of two around it).
//!
//! One row: `x` in advice 0, `lo | hi` in fixed, `x - lo` in the remainder lanes and `hi - x` in
//! the magnitude lanes (full widths: the layout gives both groups room for hi - lo):
//!   x - lo = r,  hi - x = s,  r and s sums of limbs, so integers in [0, 2^(lanes * lookup_bits))
//! x is then an integer, and r + s = hi - lo holds over the integers (every term is far below the
//! field size), so lo <= x <= hi exactly, whatever the range. This is the only check on a private
//! input: every later use of x reads this wire.

use super::{limbs, Columns};
use crate::circuit::trace::{Gate, Trace, Wire};
/// The integer semantics this chip constrains (defined with the specification).
pub use crate::quant::native::in_range;
use halo2_proofs::plonk::{ConstraintSystem, Selector};
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct InputConfig {
    pub q: Selector,
}

impl InputConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, lookup_bits: u32, mag_lanes: usize) -> Self {
        let sel = meta.selector();
        meta.create_gate("input", |m| {
            let q = m.query_selector(sel);
            let x = cols.advice(m, 0, 0);
            let (lo, hi) = (cols.fixed(m, 0, 0), cols.fixed(m, 1, 0));
            let rem_lanes = cols.lanes() - mag_lanes;
            let r = cols.compose_limbs(m, 0..rem_lanes, 0, lookup_bits);
            let s = cols.compose_limbs(m, rem_lanes..cols.lanes(), 0, lookup_bits);
            vec![q.clone() * (x.clone() - lo - r), q * (hi - x - s)]
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
        Some(self.range_row(value, lo, hi))
    }

    /// The input gate's row for `value` in [lo, hi], whether or not it is.
    pub(crate) fn range_row(&mut self, value: i128, lo: i128, hi: i128) -> Wire {
        let s = self.shape;
        debug_assert!(
            !self.checked || hi - lo < 1i128 << s.rem_bits().min(s.mag_bits()),
            "the layout leaves room for hi - lo"
        );
        let row = self.push_row(Gate::Input);
        for (j, l) in limbs((value - lo).max(0) as u128, s.lookup_bits, s.rem_lanes).enumerate() {
            self.set_limb(row, j, l);
        }
        for (j, l) in limbs((hi - value).max(0) as u128, s.lookup_bits, s.mag_lanes).enumerate() {
            self.set_limb(row, s.rem_lanes + j, l);
        }
        self.set_fixed(row, 0, lo);
        self.set_fixed(row, 1, hi);
        self.new_wire(row, 0, value)
    }
}
