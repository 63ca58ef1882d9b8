//! Square root by its integer decomposition: `s = floor(sqrt(k v + 1))`, no table. The + 1 keeps
//! the root at least one unit (a layer norm divides by it right after) and moves it by at most
//! one unit.
//!
//! Two rows. Row 1: `v | s` in advice, `k` in fixed 0, the remainder r in all lookup lanes; row 2:
//! `2s - r` in all lookup lanes. With W = lanes * lookup_bits:
//!   k v + 1 = s^2 + r,   0 <= r < 2^W,   0 <= 2s - r < 2^W
//! so s^2 <= k v + 1 < (s + 1)^2 (and s >= 0): s is the floor of the root. s is range checked by
//! the requant row that follows, so the equation holds over the integers and s is unique.
//! s is an integer even without that requant: 2s = r + slack is one (limbs), and s^2 = k v + 1 - r
//! is one, so (2s)^2 = 4 s^2 holds between two integers far below the field size, over the
//! integers: 2s is even. (A fraction s + 1/2 makes r a fraction; `a_fractional_root_fails`.)

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
/// The integer semantics this chip constrains (defined with the specification).
pub use crate::quant::native::isqrt;
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct SqrtConfig {
    pub q: Selector,
}

impl SqrtConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, lookup_bits: u32) -> Self {
        let sel = meta.selector();
        meta.create_gate("sqrt", |m| {
            let q = m.query_selector(sel);
            let v = cols.advice(m, 0, 0);
            let s = cols.advice(m, 1, 0);
            let k = cols.fixed(m, 0, 0);
            let (r, slack) = cols.remainder_and_slack(m, lookup_bits);
            let (one, two) = (Expression::Constant(Fr::one()), Expression::Constant(Fr::from(2)));
            vec![q.clone() * (k * v + one - s.clone() * s.clone() - r.clone()), q * (two * s - r - slack)]
        });
        SqrtConfig { q: sel }
    }
}

impl Trace {
    /// floor(sqrt(k v + 1)) (the caller range checks it); None when k v < 0.
    pub fn sqrt(&mut self, v: Wire, k: i128) -> Option<Wire> {
        let sh = self.shape;
        let (s, r) = match isqrt(self.value(v), k) {
            None if !self.checked => (0, 0),
            v => v?,
        };
        debug_assert!(!self.checked || 2 * s < 1i128 << sh.lane_bits(), "the layout leaves room for 2s");
        let row = self.remainder_rows(Gate::Sqrt, r as u128, (2 * s - r) as u128);
        self.place(row, 0, v);
        let out = self.new_wire(row, 1, s);
        self.set_fixed(row, 0, k);
        Some(out)
    }
}
