//! The chips. Each file holds one op's integer semantics (the reference the evaluator uses), its
//! gate (`Config::configure`) and its instruction on the trace; `tests/` compares the two and
//! tampers with the witness, one file per chip.

pub mod affine;
pub mod div;
pub mod dot;
pub mod freivalds;
pub mod input;
pub mod lookup;
pub mod max;
pub mod mul;
pub mod pack;
pub mod param_dot;
pub mod poseidon;
pub mod range;
pub mod requant;
pub mod sqrt;

#[cfg(test)]
pub(crate) mod tests;

use crate::circuit::shape::CircuitShape;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Expression, Fixed, Instance, VirtualCells};
use halo2_proofs::poly::Rotation;
use halo2curves::bn256::Fr;

/// The columns every chip shares.
#[derive(Clone, Debug)]
pub struct Columns {
    pub advice: Vec<Column<Advice>>,
    pub fixed: Vec<Column<Fixed>>,
    /// Lookup lanes: limbs, each checked against the range table on every row.
    pub limbs: Vec<Column<Advice>>,
    /// One per lane: the width its limb may take on each row (the range table's tag).
    pub widths: Vec<Column<Fixed>>,
    pub instance: Column<Instance>,
}

impl Columns {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, shape: &CircuitShape) -> Self {
        let advice: Vec<_> = (0..shape.advice).map(|_| meta.advice_column()).collect();
        for &a in &advice {
            meta.enable_equality(a);
        }
        let fixed = (0..shape.fixed_columns()).map(|_| meta.fixed_column()).collect();
        let limbs = (0..shape.lanes()).map(|_| meta.advice_column()).collect();
        let widths = (0..shape.lanes()).map(|_| meta.fixed_column()).collect();
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        Columns { advice, fixed, limbs, widths, instance }
    }
}

/// The field element of a signed integer.
pub fn fe(v: i128) -> Fr {
    use halo2_proofs::arithmetic::Field;
    use halo2curves::ff::PrimeField;
    let m = Fr::from_u128(v.unsigned_abs());
    if v < 0 {
        -m
    } else {
        m + Fr::ZERO
    }
}

impl Columns {
    /// The number the limbs of `lanes` write at `rotation`: sum of limb_j * 2^(j * bits).
    pub fn compose_limbs(
        &self,
        m: &mut VirtualCells<Fr>,
        lanes: std::ops::Range<usize>,
        rotation: Rotation,
        bits: u32,
    ) -> Expression<Fr> {
        use halo2_proofs::arithmetic::Field;
        let base = Fr::from(2).pow_vartime([bits as u64]);
        let mut weight = Fr::one();
        lanes.fold(Expression::Constant(Fr::zero()), |acc, lane| {
            let term = m.query_advice(self.limbs[lane], rotation) * Expression::Constant(weight);
            weight *= base;
            acc + term
        })
    }
}

impl Columns {
    /// The bounded remainder of a two-row gate (division, square root): r in every lane of the
    /// row, `slack` (r's distance below its limit) in every lane of the next, so 0 <= r and
    /// r <= limit, each below 2^(lanes * bits).
    pub fn remainder_and_slack(&self, m: &mut VirtualCells<Fr>, bits: u32) -> (Expression<Fr>, Expression<Fr>) {
        let lanes = 0..self.limbs.len();
        (
            self.compose_limbs(m, lanes.clone(), Rotation::cur(), bits),
            self.compose_limbs(m, lanes, Rotation::next(), bits),
        )
    }
}

impl crate::circuit::trace::Trace {
    /// The rows of a remainder-and-slack gate: a row of `gate` with r's limbs and a following
    /// row with the slack's. Returns the gate's row.
    pub(crate) fn remainder_rows(&mut self, gate: crate::circuit::trace::Gate, r: u128, slack: u128) -> usize {
        let s = self.shape;
        let row = self.push_row(gate);
        let aux = self.push_row(crate::circuit::trace::Gate::None);
        for (j, l) in limbs(r, s.lookup_bits, s.lanes()).enumerate() {
            self.set_limb(row, j, l);
        }
        for (j, l) in limbs(slack, s.lookup_bits, s.lanes()).enumerate() {
            self.set_limb(aux, j, l);
        }
        row
    }
}

/// Split `value` into `lanes` limbs of `bits` bits, least significant first.
pub(crate) fn limbs(value: u128, bits: u32, lanes: usize) -> impl Iterator<Item = u64> {
    (0..lanes).map(move |j| value.checked_shr(j as u32 * bits).map_or(0, |v| (v & ((1u128 << bits) - 1)) as u64))
}
