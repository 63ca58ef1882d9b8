//! Max or min of two values in one row, by the sign of their difference.
//!
//! Row: `a | b | s | out` in advice, `is_min` in fixed 0, |a - b| in the magnitude lanes:
//!   s in {0, 1},  (2s - 1)(a - b) = m,  m = sum of magnitude limbs, so s = 1 means a >= b
//!   out = b + s d + is_min (d - 2 s d),  d = a - b:  max(a, b), or a - s d = min(a, b)
//! a and b are bounded far below the field size, so (2s - 1) d = m holds over the integers and s
//! is the true sign (either value when a = b, which gives the same output).

use super::{limbs, Columns};
use crate::circuit::trace::{Gate, Trace, Wire};
/// The integer semantics this chip constrains (defined with the specification).
pub use crate::quant::native::max_or_min;
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct MaxConfig {
    pub q: Selector,
}

impl MaxConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, rem_lanes: usize, lookup_bits: u32) -> Self {
        let q = meta.selector();
        meta.create_gate("max", |m| {
            let q = m.query_selector(q);
            let a = |m: &mut halo2_proofs::plonk::VirtualCells<Fr>, i| cols.advice(m, i, 0);
            let (x, y, s, out) = (a(m, 0), a(m, 1), a(m, 2), a(m, 3));
            let is_min = cols.fixed(m, 0, 0);
            let mag = cols.compose_limbs(m, rem_lanes..cols.lanes(), 0, lookup_bits);
            let (one, two) = (Expression::Constant(Fr::one()), Expression::Constant(Fr::from(2)));
            let d = x - y.clone();
            vec![
                q.clone() * (s.clone() * (one.clone() - s.clone())),
                q.clone() * ((two.clone() * s.clone() - one) * d.clone() - mag),
                q * (y + s.clone() * d.clone() + is_min * (d.clone() - two * s * d) - out),
            ]
        });
        MaxConfig { q }
    }
}

impl Trace {
    /// max(a, b), or min(a, b) when `min`; |a - b| must fit the magnitude lanes.
    pub fn max_or_min(&mut self, a: Wire, b: Wire, min: bool) -> Wire {
        let s = self.shape;
        let (av, bv) = (self.value(a), self.value(b));
        debug_assert!(
            !self.checked || (av - bv).unsigned_abs() < 1u128 << s.mag_bits(),
            "the layout leaves room for |a - b|"
        );
        let row = self.push_row(Gate::Max);
        self.place(row, 0, a);
        self.place(row, 1, b);
        self.new_wire(row, 2, (av >= bv) as i128);
        self.set_fixed(row, 0, min as i128);
        for (j, l) in limbs((av - bv).unsigned_abs(), s.lookup_bits, s.mag_lanes).enumerate() {
            self.set_limb(row, s.rem_lanes + j, l);
        }
        self.new_wire(row, 3, max_or_min(av, bv, min))
    }
}
