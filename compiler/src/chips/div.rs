//! Division by a positive activation: `q = round((k a + c) / b)`, by quotient and remainder.
//!
//! Two rows. Row 1: `a | b | q` in advice, `2k | 2c` in fixed, the remainder r in all lookup lanes;
//! row 2: `2b - 1 - r` in all lookup lanes. With W = lanes * lookup_bits:
//!   2k a + 2c + b = 2b q + r,   0 <= r < 2^W,   0 <= 2b - 1 - r < 2^W
//! so 0 <= r < 2b (which also forces b >= 1), and q is the quotient rounded half up. q is range
//! checked by the requant row that follows every division, so every term stays far below the
//! field size and the equation holds over the integers: q and r are unique.
//! For a reciprocal (no a) k = 0 and the a cell is unused.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2_proofs::poly::Rotation;
use halo2curves::bn256::Fr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DivValues {
    pub q: i128,
    pub r: i128,
}

/// The integer semantics; None when b is not positive.
pub fn divide(a: i128, b: i128, k: i128, c: i128) -> Option<DivValues> {
    if b <= 0 {
        return None;
    }
    let n = 2 * (k * a + c) + b;
    Some(DivValues { q: n.div_euclid(2 * b), r: n.rem_euclid(2 * b) })
}

#[derive(Clone, Debug)]
pub struct DivConfig {
    pub q: Selector,
}

impl DivConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, lookup_bits: u32) -> Self {
        let sel = meta.selector();
        meta.create_gate("div", |m| {
            let s = m.query_selector(sel);
            let (a, b, q) = (
                m.query_advice(cols.advice[0], Rotation::cur()),
                m.query_advice(cols.advice[1], Rotation::cur()),
                m.query_advice(cols.advice[2], Rotation::cur()),
            );
            let (k2, c2) =
                (m.query_fixed(cols.fixed[0], Rotation::cur()), m.query_fixed(cols.fixed[1], Rotation::cur()));
            let (r, slack) = cols.remainder_and_slack(m, lookup_bits);
            let (one, two) = (Expression::Constant(Fr::one()), Expression::Constant(Fr::from(2)));
            vec![
                s.clone() * (k2 * a + c2 + b.clone() - two.clone() * b.clone() * q - r.clone()),
                s * (two * b - one - r - slack),
            ]
        });
        DivConfig { q: sel }
    }
}

impl Trace {
    /// round((k a + c) / b) for b > 0 (the caller range checks the quotient); None if b <= 0.
    pub fn div(&mut self, a: Option<Wire>, b: Wire, k: i128, c: i128) -> Option<Wire> {
        let s = self.shape;
        let bv = self.value(b);
        let v = match divide(a.map_or(0, |a| self.value(a)), bv, k, c) {
            None if !self.checked => DivValues { q: 0, r: 0 },
            v => v?,
        };
        debug_assert!(!self.checked || bv < 1i128 << (s.lane_bits() - 1), "the layout leaves room for 2b");
        let slack = (2 * bv - 1 - v.r).max(0) as u128;
        let row = self.remainder_rows(Gate::Div, v.r as u128, slack);
        if let Some(a) = a {
            self.place(row, 0, a);
        }
        self.place(row, 1, b);
        let q = self.new_wire(row, 2, v.q);
        self.set_fixed(row, 0, 2 * k);
        self.set_fixed(row, 1, 2 * c);
        Some(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::limbs;
    use crate::chips::testing::{assert_rejected, assert_satisfied, input_wire, set_input, test_trace};
    use crate::quant::Requant;

    #[test]
    fn semantics_is_rounded_division() {
        for a in -300i128..300 {
            for b in 1..40 {
                let got = divide(a, b, 16, 0).map(|v| v.q);
                let exact = (16 * a) as f64 / b as f64;
                assert!(got.is_some_and(|q| (q as f64 - exact).abs() <= 0.5), "{a}/{b}: {got:?}");
            }
        }
        assert_eq!(divide(5, 0, 1, 0), None);
        assert_eq!(divide(5, -3, 1, 0), None);
        assert_eq!(divide(0, 7, 0, 256).map(|v| v.q), Some(37)); // 256 / 7 = 36.57
    }

    /// a / b (or c / b), its quotient range checked as the plan does.
    fn one_div(a: Option<i128>, b: i128, k: i128, c: i128) -> (Trace, usize, Wire) {
        let mut t = test_trace();
        let a = a.map(|a| input_wire(&mut t, a));
        let b = input_wire(&mut t, b);
        let q = t.div(a, b, k, c).unwrap();
        let row = t.rows() - 2;
        let out = t.requant(q, Requant { shift: 0, relu: false, bits: 12 }).unwrap();
        t.expose(out);
        (t, row, q)
    }

    #[test]
    fn honest_witnesses_pass() {
        for (a, b, k, c) in [(Some(100), 7, 16, 0), (Some(-100), 7, 16, 0), (Some(0), 1, 16, 0), (None, 9, 0, 1024)] {
            let (t, _, _) = one_div(a, b, k, c);
            assert_satisfied(&t);
        }
    }

    #[test]
    fn other_quotient_fails() {
        // q + 1 with r - 2b keeps the equation; r is then negative and cannot be written in limbs.
        let (mut t, row, q) = one_div(Some(100), 7, 16, 0);
        t.tamper_wire(q, t.value(q) + 1);
        assert_rejected(&t);
        let (mut t, _, q) = one_div(Some(100), 7, 16, 0);
        t.tamper_wire(q, t.value(q) - 1);
        // r + 2b is still in range, but 2b - 1 - r is then negative.
        let r = divide(100, 7, 16, 0).unwrap().r + 14;
        for (j, l) in limbs(r as u128, t.shape.lookup_bits, t.shape.lanes()).enumerate() {
            t.tamper_limb(row, j, l);
        }
        assert_rejected(&t);
    }

    #[test]
    fn non_positive_divisor_fails() {
        // b = 0 would let any q pass the equation (r = 2k a); 2b - 1 - r >= 0 refuses it.
        // Every other constraint is kept: b's own range-check row says 0, r = 2k a, q unchanged.
        let (mut t, row, _) = one_div(Some(100), 1, 16, 0);
        set_input(&mut t, row - 1, 0);
        for (j, l) in limbs(2 * 16 * 100, t.shape.lookup_bits, t.shape.lanes()).enumerate() {
            t.tamper_limb(row, j, l);
        }
        assert_rejected(&t);
    }

    #[test]
    fn slack_of_another_remainder_fails() {
        let (mut t, row, _) = one_div(Some(100), 7, 16, 0);
        t.tamper_limb(row + 1, 0, t.limb(row + 1, 0) ^ 1);
        assert_rejected(&t);
    }
}
