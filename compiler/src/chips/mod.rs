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
pub use crate::field::fe;
pub(crate) use crate::field::limbs;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Expression, Fixed, Instance, VirtualCells};
use halo2_proofs::poly::Rotation;
use halo2curves::bn256::Fr;

/// The columns every chip shares, and where each cell of a trace row lies in them.
///
/// Chips address cells as the trace does, (cell index, rotation in trace rows), through
/// `advice`, `fixed` and `limb`; the shape decides whether a trace row is one circuit row across
/// many columns, or (stacked) `stride` consecutive rows of one column each.
#[derive(Clone, Debug)]
pub struct Columns {
    advice: Vec<Column<Advice>>,
    fixed: Vec<Column<Fixed>>,
    /// Lookup lanes: limbs, each checked against the range table on every row.
    limbs: Vec<Column<Advice>>,
    /// One per lane column: the width its limb may take on each row (the range table's tag).
    widths: Vec<Column<Fixed>>,
    pub instance: Column<Instance>,
    /// The cells of a trace row and whether they are stacked.
    shape: CircuitShape,
}

/// Where a cell of a trace row lies: a column (by index) and an offset from the row's first circuit row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub column: usize,
    pub offset: usize,
}

impl Columns {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, shape: &CircuitShape) -> Self {
        let advice: Vec<_> = (0..shape.advice_columns()).map(|_| meta.advice_column()).collect();
        for &a in &advice {
            meta.enable_equality(a);
        }
        let fixed = (0..shape.fixed_column_count()).map(|_| meta.fixed_column()).collect();
        let limbs = (0..shape.lane_columns()).map(|_| meta.advice_column()).collect();
        let widths = (0..shape.lane_columns()).map(|_| meta.fixed_column()).collect();
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        Columns { advice, fixed, limbs, widths, instance, shape: *shape }
    }

    /// Advice cells of a trace row.
    pub fn width(&self) -> usize {
        self.shape.advice
    }

    /// Fixed cells of a trace row.
    pub fn fixed_width(&self) -> usize {
        self.shape.fixed_columns()
    }

    /// Lookup lanes of a trace row.
    pub fn lanes(&self) -> usize {
        self.shape.lanes()
    }

    /// Circuit rows per trace row.
    pub fn stride(&self) -> usize {
        self.shape.stride()
    }

    /// Where cell `i` of a trace row lies.
    pub fn place(&self, i: usize) -> Place {
        if self.shape.stacked {
            Place { column: 0, offset: i }
        } else {
            Place { column: i, offset: 0 }
        }
    }

    /// The rotation of a column of its own (one cell per trace row, on the row's first circuit
    /// row) `rotation` trace rows away.
    pub fn rotation(&self, rotation: i32) -> Rotation {
        Rotation(rotation * self.stride() as i32)
    }

    fn rotation_of(&self, place: Place, rotation: i32) -> Rotation {
        Rotation(rotation * self.stride() as i32 + place.offset as i32)
    }

    /// Advice cell `i` of the trace row `rotation` rows away.
    pub fn advice(&self, m: &mut VirtualCells<Fr>, i: usize, rotation: i32) -> Expression<Fr> {
        let p = self.place(i);
        m.query_advice(self.advice[p.column], self.rotation_of(p, rotation))
    }

    /// Fixed cell `i` of the trace row `rotation` rows away.
    pub fn fixed(&self, m: &mut VirtualCells<Fr>, i: usize, rotation: i32) -> Expression<Fr> {
        let p = self.place(i);
        m.query_fixed(self.fixed[p.column], self.rotation_of(p, rotation))
    }

    /// The limb of `lane` in the trace row `rotation` rows away.
    pub fn limb(&self, m: &mut VirtualCells<Fr>, lane: usize, rotation: i32) -> Expression<Fr> {
        let p = self.place(lane);
        m.query_advice(self.limbs[p.column], self.rotation_of(p, rotation))
    }

    /// The committed columns, for assigning a trace row's cells: advice, fixed, limb, width.
    pub fn advice_column(&self, i: usize) -> (Column<Advice>, usize) {
        let p = self.place(i);
        (self.advice[p.column], p.offset)
    }

    pub fn fixed_column(&self, i: usize) -> (Column<Fixed>, usize) {
        let p = self.place(i);
        (self.fixed[p.column], p.offset)
    }

    pub fn limb_column(&self, lane: usize) -> (Column<Advice>, usize) {
        let p = self.place(lane);
        (self.limbs[p.column], p.offset)
    }

    pub fn width_column(&self, lane: usize) -> (Column<Fixed>, usize) {
        let p = self.place(lane);
        (self.widths[p.column], p.offset)
    }

    /// Every (limb, width) column pair: one range lookup each.
    pub fn lane_columns(&self) -> impl Iterator<Item = (Column<Advice>, Column<Fixed>)> + '_ {
        self.limbs.iter().copied().zip(self.widths.iter().copied())
    }
}

impl Columns {
    /// The number the limbs of `lanes` write `rotation` trace rows away: sum of limb_j * 2^(j * bits).
    pub fn compose_limbs(
        &self,
        m: &mut VirtualCells<Fr>,
        lanes: std::ops::Range<usize>,
        rotation: i32,
        bits: u32,
    ) -> Expression<Fr> {
        use halo2_proofs::arithmetic::Field;
        let base = Fr::from(2).pow_vartime([bits as u64]);
        let mut weight = Fr::one();
        lanes.fold(Expression::Constant(Fr::zero()), |acc, lane| {
            let term = self.limb(m, lane, rotation) * Expression::Constant(weight);
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
        let lanes = 0..self.lanes();
        (self.compose_limbs(m, lanes.clone(), 0, bits), self.compose_limbs(m, lanes, 1, bits))
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
