//! Division by a positive activation: `q = round((k a + c) / b)`, by quotient and remainder.
//!
//! Two rows. Row 1: `a | b | q` in advice, `2k | 2c` in fixed, the remainder r in all lookup lanes;
//! row 2: `2b - 1 - r` in all lookup lanes. With W = lanes * lookup_bits:
//!   2k a + 2c + b = 2b q + r,   0 <= r < 2^W,   0 <= 2b - 1 - r < 2^W
//! so 0 <= r < 2b (which also forces b >= 1), and q is the quotient rounded half up, *if q is an
//! integer*: over the field the equation alone admits q + j / 2b. q's integrality and range come
//! from the requant row that follows every division (shift 0: its remainder lanes have width 0,
//! so v = y exactly, and y is a sum of limbs). Then every term stays far below the field size and
//! the equation holds over the integers: q and r are unique. (Issue 16: before requants bounded
//! their remainders exactly, q - 1/2 with r + b passed; `a_quotient_rounded_down_by_a_half_fails`.)
//! For a reciprocal (no a) k = 0 and the a cell is unused.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
/// The integer semantics this chip constrains (defined with the specification).
pub use crate::quant::native::{divide, DivValues};
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct DivConfig {
    pub q: Selector,
}

impl DivConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, lookup_bits: u32) -> Self {
        let sel = meta.selector();
        meta.create_gate("div", |m| {
            let s = m.query_selector(sel);
            let (a, b, q) = (cols.advice(m, 0, 0), cols.advice(m, 1, 0), cols.advice(m, 2, 0));
            let (k2, c2) = (cols.fixed(m, 0, 0), cols.fixed(m, 1, 0));
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
