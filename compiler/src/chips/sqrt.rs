//! Square root by its integer decomposition: `s = floor(sqrt(k v + 1))`, no table. The + 1 keeps
//! the root at least one unit (a layer norm divides by it right after) and moves it by at most
//! one unit.
//!
//! Two rows. Row 1: `v | s` in advice, `k` in fixed 0, the remainder r in all lookup lanes; row 2:
//! `2s - r` in all lookup lanes. With W = lanes * lookup_bits:
//!   k v + 1 = s^2 + r,   0 <= r < 2^W,   0 <= 2s - r < 2^W
//! so s^2 <= k v + 1 < (s + 1)^2 (and s >= 0): s is the floor of the root. s is range checked by
//! the requant row that follows, so the equation holds over the integers and s is unique.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2_proofs::poly::Rotation;
use halo2curves::bn256::Fr;

/// floor(sqrt(k v + 1)) and its remainder; None when k v is negative.
pub fn isqrt(v: i128, k: i128) -> Option<(i128, i128)> {
    let x = v.checked_mul(k).filter(|x| *x >= 0)? + 1;
    let mut s = (x as f64).sqrt() as i128;
    // The float root is within one of the integer root; settle it exactly.
    while s * s > x {
        s -= 1;
    }
    while (s + 1) * (s + 1) <= x {
        s += 1;
    }
    Some((s, x - s * s))
}

#[derive(Clone, Debug)]
pub struct SqrtConfig {
    pub q: Selector,
}

impl SqrtConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, lookup_bits: u32) -> Self {
        let sel = meta.selector();
        meta.create_gate("sqrt", |m| {
            let q = m.query_selector(sel);
            let v = m.query_advice(cols.advice[0], Rotation::cur());
            let s = m.query_advice(cols.advice[1], Rotation::cur());
            let k = m.query_fixed(cols.fixed[0], Rotation::cur());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::limbs;
    use crate::chips::testing::{assert_rejected, assert_satisfied, input_wire, set_input, test_trace};
    use crate::quant::Requant;

    #[test]
    fn semantics_is_the_floor_of_the_root() {
        for v in 0..2000i128 {
            let (s, r) = isqrt(v, 3).unwrap();
            let x = 3 * v + 1;
            assert!(s * s <= x && x < (s + 1) * (s + 1) && r == x - s * s, "{v}");
            assert!((s as f64 - ((3 * v) as f64).sqrt()).abs() <= 1.0, "{v}");
        }
        assert_eq!(isqrt(0, 5), Some((1, 0)));
        assert_eq!(isqrt(-1, 4), None);
        assert_eq!(isqrt(1 << 100, 1).map(|x| x.0), Some(1 << 50));
    }

    fn one(v: i128, k: i128) -> (Trace, usize, Wire) {
        let mut t = test_trace();
        let x = input_wire(&mut t, v);
        let s = t.sqrt(x, k).unwrap();
        let row = t.rows() - 2;
        let out = t.requant(s, Requant { shift: 0, relu: false, bits: 12 }).unwrap();
        t.expose(out);
        (t, row, s)
    }

    #[test]
    fn honest_witnesses_pass() {
        for (v, k) in [(0, 16), (1, 16), (99, 16), (1000, 4), (2047, 1)] {
            let (t, _, _) = one(v, k);
            assert_satisfied(&t);
        }
    }

    #[test]
    fn a_root_one_off_fails() {
        for delta in [-1, 1] {
            let (mut t, row, _) = one(99, 16);
            let (root, _) = isqrt(99, 16).unwrap();
            let wrong = root + delta;
            // The range check after it takes the other root too (row + 2 is that requant).
            set_input(&mut t, row + 2, wrong);
            // Keep k v + 1 = s^2 + r: r takes the difference (negative for s + 1: no limbs write it).
            let r = 16 * 99 + 1 - wrong * wrong;
            if r >= 0 {
                for (j, l) in limbs(r as u128, t.shape.lookup_bits, t.shape.lanes()).enumerate() {
                    t.tamper_limb(row, j, l);
                }
            }
            assert_rejected(&t);
        }
    }

    #[test]
    fn slack_of_another_remainder_fails() {
        let (mut t, row, _) = one(99, 16);
        t.tamper_limb(row + 1, 0, t.limb(row + 1, 0) ^ 1);
        assert_rejected(&t);
    }
}
