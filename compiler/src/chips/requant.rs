//! Requant: rescale by 2^d with round-half-up, range check the result to its own bits, optional ReLU.
//!
//! One row: `v | y | b | out` in advice, `c = 2^d | half = 2^(d-1) | relu` in fixed. The remainder's
//! limbs fill the first rem_lanes lookup lanes with widths that bound it below 2^d exactly, and
//! |y|'s limbs the next mag_lanes with widths that bound it below 2^bits (the node's calibrated
//! range, not only what the lanes could hold):
//!   v + half = c * y + r,       r = sum of remainder limbs, so r is an integer in [0, 2^d)
//!   b in {0, 1},  (2b - 1) * y = m,  m = sum of magnitude limbs, so y is an integer, |y| < 2^bits
//!   out = y + relu * (b * y - y)
//! y and r are integers (limbs are table entries), so v = c y + r - half is one too: a requant
//! proves its input integral, whatever gate made it (a division's quotient relies on this: its
//! gate alone would admit q + j / 2b). Every term is far below the field size, so the first line
//! holds over the integers and its one solution is y = floor((v + half) / 2^d), r = (v + half)
//! mod 2^d: the prover cannot pick another rounding, a fraction or a value outside the range.

use super::Columns;
use crate::circuit::shape::CircuitShape;
use crate::circuit::trace::{Gate, Trace, Wire};
use crate::quant::native::rescale;
/// The integer semantics this chip constrains (defined with the specification).
pub use crate::quant::native::{requant, OutOfRange};
use crate::quant::Requant;
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector, VirtualCells};
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct RequantConfig {
    pub q: Selector,
}

impl RequantConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, shape: &CircuitShape) -> Self {
        let q = meta.selector();
        let (rem_lanes, l) = (shape.rem_lanes, shape.lookup_bits);
        meta.create_gate("requant", |m| {
            let q = m.query_selector(q);
            let a = |m: &mut VirtualCells<Fr>, i| cols.advice(m, i, 0);
            let (v, y, b, out) = (a(m, 0), a(m, 1), a(m, 2), a(m, 3));
            let f = |m: &mut VirtualCells<Fr>, i| cols.fixed(m, i, 0);
            let (c, half, relu) = (f(m, 0), f(m, 1), f(m, 2));
            let rem = cols.compose_limbs(m, 0..rem_lanes, 0, l);
            let mag = cols.compose_limbs(m, rem_lanes..cols.lanes(), 0, l);
            let one = Expression::Constant(Fr::one());
            let two = Expression::Constant(Fr::from(2));
            vec![
                q.clone() * (v + half - c * y.clone() - rem),
                q.clone() * (b.clone() * (one.clone() - b.clone())),
                q.clone() * ((two * b.clone() - one) * y.clone() - mag),
                q * (out - y.clone() - relu * (b * y.clone() - y)),
            ]
        });
        RequantConfig { q }
    }
}

impl Trace {
    /// Requant wire `v`; returns the output wire.
    pub fn requant(&mut self, v: Wire, r: Requant) -> Result<Wire, OutOfRange> {
        self.requant_row(v, self.value(v), r)
    }

    fn requant_row(&mut self, v: Wire, value: i128, r: Requant) -> Result<Wire, OutOfRange> {
        let s = self.shape;
        let vals = if self.checked { requant(value, r)? } else { rescale(value, r) };
        debug_assert!(r.shift <= s.rem_bits() && r.bits <= s.mag_bits(), "the layout leaves room for every requant");
        let row = self.push_row(Gate::Requant);
        self.place(row, 0, v);
        self.new_wire(row, 1, vals.y);
        self.new_wire(row, 2, vals.non_negative as i128);
        let out = self.new_wire(row, 3, vals.out);
        self.set_fixed(row, 0, 1i128 << r.shift);
        self.set_fixed(row, 1, if r.shift > 0 { 1i128 << (r.shift - 1) } else { 0 });
        self.set_fixed(row, 2, r.relu as i128);
        self.set_bounded(row, 0, s.rem_lanes, vals.rem, r.shift);
        self.set_bounded(row, s.rem_lanes, s.mag_lanes, vals.y.unsigned_abs(), r.bits);
        Ok(out)
    }
}
