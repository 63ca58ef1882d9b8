//! The trace: the circuit's rows as plain data, filled by the chips' instructions and assigned to
//! Halo2 in one pass by `ZkCircuit::synthesize`.
//!
//! A *wire* is one integer value. The first cell a wire is placed in is its home; every later
//! placement is copy-constrained to the home. Every wire is created as the output cell of a gate
//! row (never as a free-standing cell), so each value the prover supplies is pinned by a gate.

use super::shape::{CircuitShape, PHASE2_COLUMNS};
use crate::field::fe;
use crate::quant::table::FuncTable;
use halo2curves::bn256::Fr;
use std::collections::HashMap;

pub type Wire = u32;
const NO_WIRE: Wire = Wire::MAX;

/// Which gate a row enables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    None,
    Dot,
    /// A dot product with witnessed weights.
    ParamDot,
    Requant,
    Mul,
    Affine,
    Div,
    Lookup,
    Max,
    Sqrt,
    Input,
    PoseidonFull,
    /// A block of 2 partial rounds.
    PoseidonPartial2,
    /// A block of 5 partial rounds (this row and the next).
    PoseidonPartial5,
    PoseidonAbsorb,
    /// A fold of a random check: first-phase lanes, a second-phase accumulator.
    FreivaldsFold,
    /// A check row of a random check (second phase only).
    FreivaldsCheck,
}

impl Gate {
    /// The arithmetic chip whose gate this is, if it is one (`ChipSet`).
    pub fn chip(self) -> Option<super::shape::Chip> {
        use super::shape::Chip;
        Some(match self {
            Gate::Dot => Chip::Dot,
            Gate::Affine => Chip::Affine,
            Gate::Mul => Chip::Mul,
            Gate::Requant => Chip::Requant,
            Gate::Div => Chip::Div,
            Gate::Max => Chip::Max,
            Gate::Sqrt => Chip::Sqrt,
            Gate::Input => Chip::Input,
            Gate::FreivaldsFold | Gate::FreivaldsCheck => Chip::Freivalds,
            _ => return None,
        })
    }
}

/// Wires and limbs whose value is a field element no i128 holds: packed values and hash states,
/// and (test support) fractions a malicious prover might try.
/// Test support: cells assigned another value than their wire's, and field elements added to a
/// row's second-phase accumulator. Compiled only for tests: production code cannot tamper.
#[cfg(test)]
#[derive(Clone, Debug, Default)]
pub(crate) struct Tampering {
    cells: HashMap<(usize, usize), i128>,
    phase2: HashMap<usize, Fr>,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct FieldValues {
    pub(crate) wires: HashMap<Wire, Fr>,
    pub(crate) limbs: HashMap<(usize, usize), Fr>,
    /// Fixed cells (row, column) holding field constants (Poseidon's round constants).
    pub(crate) fixed: HashMap<(usize, usize), Fr>,
}

#[derive(Clone, Debug)]
pub struct Trace {
    pub shape: CircuitShape,
    pub gates: Vec<Gate>,
    /// `rows * advice` wire ids (NO_WIRE: empty cell, assigned 0).
    advice: Vec<Wire>,
    /// `rows * fixed_columns()` constants.
    pub(crate) fixed: Vec<i128>,
    /// `rows * lanes()`: limb values (witness).
    pub(crate) limbs: Vec<u64>,
    /// `rows * lanes()`: the width each limb may take (fixed; lookup_bits unless a requant says).
    pub(crate) widths: Vec<u8>,
    /// Value of every wire (witness).
    pub(crate) values: Vec<i128>,
    /// Wires exposed as public instances, in the instance layout's order.
    pub outputs: Vec<Wire>,
    /// The model's output wires, public or not.
    pub model_outputs: Vec<Wire>,
    /// Witnessed weights, in the plan's `param_tensors` order (what the params commitment packs).
    pub params: Vec<Wire>,
    /// The constant wire 1, once made.
    pub(crate) one: Option<Wire>,
    /// The function tables the lookups use (tag = index + 1).
    pub tables: Vec<FuncTable>,
    /// Rows of packed gates (several independent ops per row) with a free slot.
    pub(crate) open: [Option<(usize, usize)>; 2],
    /// Values tamper tests force into the witness; the field exists only in test builds.
    #[cfg(test)]
    pub(crate) tampering: Tampering,
    /// Wires and limbs whose value is a field element (their i128 value is a placeholder 0).
    pub(crate) field_values: FieldValues,
    /// Second-phase cells (random checks), `rows * PHASE2_COLUMNS` second-phase wire ids; empty
    /// unless the shape has the Freivalds chip. Their values depend on the verifier's challenge,
    /// so synthesis computes them (`freivalds::phase2_values`).
    pub(crate) phase2: Vec<Wire>,
    pub(crate) phase2_wires: u32,
    /// False for a keygen trace: only its rows matter, so an instruction whose values leave the
    /// allowed ranges (zero inputs can, after a normalisation) still lays out its rows.
    pub(crate) checked: bool,
}

impl Trace {
    pub fn new(shape: CircuitShape) -> Self {
        Trace {
            shape,
            gates: vec![],
            advice: vec![],
            fixed: vec![],
            limbs: vec![],
            widths: vec![],
            values: vec![],
            outputs: vec![],
            model_outputs: vec![],
            params: vec![],
            one: None,
            tables: vec![],
            open: [None, None],
            #[cfg(test)]
            tampering: Tampering::default(),
            field_values: FieldValues::default(),
            phase2: vec![],
            phase2_wires: 0,
            checked: true,
        }
    }

    /// A trace for keygen: the same rows and fixed values, with no range or domain checks on the
    /// values (which keygen never reads).
    pub fn for_structure(shape: CircuitShape) -> Self {
        Trace { checked: false, ..Trace::new(shape) }
    }

    pub fn rows(&self) -> usize {
        self.gates.len()
    }

    pub fn wires(&self) -> usize {
        self.values.len()
    }

    pub fn value(&self, w: Wire) -> i128 {
        self.values[w as usize]
    }

    /// Append an empty row for `gate`; returns its index.
    pub(crate) fn push_row(&mut self, gate: Gate) -> usize {
        let s = &self.shape;
        self.gates.push(gate);
        self.advice.extend(std::iter::repeat_n(NO_WIRE, s.advice));
        self.fixed.extend(std::iter::repeat_n(0, s.fixed_columns()));
        self.limbs.extend(std::iter::repeat_n(0, s.lanes()));
        self.widths.extend(std::iter::repeat_n(s.lookup_bits as u8, s.lanes()));
        if s.has_phase2() {
            self.phase2.extend(std::iter::repeat_n(NO_WIRE, PHASE2_COLUMNS));
        }
        self.gates.len() - 1
    }

    /// A new wire holding `value`, placed at (row, col): its home.
    pub(crate) fn new_wire(&mut self, row: usize, col: usize, value: i128) -> Wire {
        let w = self.values.len() as Wire;
        self.values.push(value);
        self.place(row, col, w);
        w
    }

    /// Place an existing wire at (row, col); synthesis copy-constrains it to its home.
    pub(crate) fn place(&mut self, row: usize, col: usize, w: Wire) {
        let i = row * self.shape.advice + col;
        debug_assert_eq!(self.advice[i], NO_WIRE, "cell assigned twice");
        self.advice[i] = w;
    }

    /// A new second-phase wire, its home the accumulator of `row`.
    pub(crate) fn new_phase2_wire(&mut self, row: usize) -> Wire {
        let w = self.phase2_wires;
        self.phase2_wires += 1;
        self.place_phase2(row, 0, w);
        w
    }

    /// Place a second-phase wire at (row, second-phase column `col`), copy-constrained to its home.
    pub(crate) fn place_phase2(&mut self, row: usize, col: usize, w: Wire) {
        let i = row * PHASE2_COLUMNS + col;
        debug_assert_eq!(self.phase2[i], NO_WIRE, "cell assigned twice");
        self.phase2[i] = w;
    }

    /// The second-phase wire at (row, second-phase column `col`).
    pub fn phase2_cell(&self, row: usize, col: usize) -> Option<Wire> {
        let w = *self.phase2.get(row * PHASE2_COLUMNS + col)?;
        (w != NO_WIRE).then_some(w)
    }

    /// Test support: add `delta` to the second-phase accumulator assigned at `row`.
    #[cfg(test)]
    pub fn tamper_phase2(&mut self, row: usize, delta: Fr) {
        self.tampering.phase2.insert(row, delta);
    }

    /// What a tamper test adds to the second-phase accumulator at `row` (zero outside tests).
    pub(crate) fn phase2_delta(&self, _row: usize) -> Fr {
        #[cfg(test)]
        if let Some(d) = self.tampering.phase2.get(&_row) {
            return *d;
        }
        Fr::zero()
    }

    /// The field element assigned at advice cell (row, col): its wire's value, zero if empty
    /// (or, in tests, what a tamper test put there instead).
    pub(crate) fn assigned_value(&self, row: usize, col: usize) -> Fr {
        #[cfg(test)]
        if let Some(&v) = self.tampering.cells.get(&(row, col)) {
            return fe(v);
        }
        self.cell(row, col).map_or(Fr::zero(), |w| self.field_value(w))
    }

    pub fn cell(&self, row: usize, col: usize) -> Option<Wire> {
        let w = self.advice[row * self.shape.advice + col];
        (w != NO_WIRE).then_some(w)
    }

    pub(crate) fn set_fixed(&mut self, row: usize, col: usize, v: i128) {
        let n = self.shape.fixed_columns();
        self.fixed[row * n + col] = v;
    }

    pub fn fixed(&self, row: usize, col: usize) -> i128 {
        self.fixed[row * self.shape.fixed_columns() + col]
    }

    /// A fixed cell holding a field constant.
    pub(crate) fn set_fixed_field(&mut self, row: usize, col: usize, v: Fr) {
        self.field_values.fixed.insert((row, col), v);
    }

    /// The field element a fixed cell is assigned.
    pub fn fixed_value(&self, row: usize, col: usize) -> Fr {
        if self.field_values.fixed.is_empty() {
            return fe(self.fixed(row, col));
        }
        self.field_values.fixed.get(&(row, col)).copied().unwrap_or_else(|| fe(self.fixed(row, col)))
    }

    pub(crate) fn set_limb(&mut self, row: usize, lane: usize, value: u64) {
        let i = row * self.shape.lanes() + lane;
        self.limbs[i] = value;
    }

    pub fn limb(&self, row: usize, lane: usize) -> u64 {
        self.limbs[row * self.shape.lanes() + lane]
    }

    /// Write `value` in lanes `first..first + lanes` of `row`, limited to `width` bits: the lanes'
    /// widths follow (full, partial, then 0), so the lookups check `value < 2^width` exactly.
    pub(crate) fn set_bounded(&mut self, row: usize, first: usize, lanes: usize, value: u128, width: u32) {
        let s = self.shape;
        for (j, (l, w)) in crate::field::limbs(value, s.lookup_bits, lanes).zip(s.lane_widths(width, lanes)).enumerate()
        {
            self.set_limb(row, first + j, l);
            self.widths[row * s.lanes() + first + j] = w as u8;
        }
    }

    pub fn width(&self, row: usize, lane: usize) -> u32 {
        self.widths[row * self.shape.lanes() + lane] as u32
    }

    /// Expose `w` as the next public instance.
    pub fn expose(&mut self, w: Wire) {
        self.outputs.push(w);
    }

    /// The model's output values, in order.
    pub fn model_output_values(&self) -> Vec<i128> {
        self.model_outputs.iter().map(|&w| self.value(w)).collect()
    }

    /// Test support: overwrite a wire's value (every placement of it follows).
    #[cfg(test)]
    pub fn tamper_wire(&mut self, w: Wire, value: i128) {
        self.values[w as usize] = value;
    }

    /// Test support: assign one cell another value than its wire's (breaks a copy).
    #[cfg(test)]
    pub fn tamper_cell(&mut self, row: usize, col: usize, value: i128) {
        self.tampering.cells.insert((row, col), value);
    }

    /// Test support: give a wire any field element (every placement of it follows).
    #[cfg(test)]
    pub fn tamper_wire_field(&mut self, w: Wire, value: Fr) {
        self.field_values.wires.insert(w, value);
    }

    /// Test support: give a limb any field element.
    #[cfg(test)]
    pub fn tamper_limb_field(&mut self, row: usize, lane: usize, value: Fr) {
        self.field_values.limbs.insert((row, lane), value);
    }

    /// A new wire holding a field element (a packed value, a hash state), placed at (row, col).
    pub(crate) fn new_field_wire(&mut self, row: usize, col: usize, value: Fr) -> Wire {
        let w = self.new_wire(row, col, 0);
        self.field_values.wires.insert(w, value);
        w
    }

    /// The field element a wire is assigned.
    pub fn field_value(&self, w: Wire) -> Fr {
        // Most traces have no field wires: skip hashing every cell's wire on the synthesis path.
        if self.field_values.wires.is_empty() {
            return fe(self.value(w));
        }
        self.field_values.wires.get(&w).copied().unwrap_or_else(|| fe(self.value(w)))
    }

    /// The field element a limb is assigned.
    pub fn field_limb(&self, row: usize, lane: usize) -> Fr {
        if self.field_values.limbs.is_empty() {
            return fe(self.limb(row, lane) as i128);
        }
        self.field_values.limbs.get(&(row, lane)).copied().unwrap_or_else(|| fe(self.limb(row, lane) as i128))
    }

    /// Test support: overwrite a limb.
    #[cfg(test)]
    pub fn tamper_limb(&mut self, row: usize, lane: usize, value: u64) {
        let i = row * self.shape.lanes() + lane;
        self.limbs[i] = value;
    }
}
