//! Helpers for the chips' MockProver tests.

use crate::circuit::shape::CircuitShape;
use crate::circuit::trace::{Trace, Wire};
use crate::circuit::ZkCircuit;
use halo2_proofs::dev::MockProver;

/// A small shape: 6 advice columns, 4-bit limbs, two lanes for the remainder, three for |y|.
pub fn test_trace() -> Trace {
    Trace::new(CircuitShape { k: 8, lookup_bits: 4, advice: 6, rem_lanes: 2, mag_lanes: 3, table_rows: 64 })
}

/// An input wire holding `v` (range checked to 12 bits).
pub fn input_wire(t: &mut Trace, v: i128) -> Wire {
    t.input(v, 12).unwrap()
}

fn run(t: &Trace) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
    let circuit = ZkCircuit::with_witness(t.clone());
    let instances = circuit.instances();
    MockProver::run(t.shape.k, &circuit, vec![instances]).unwrap().verify()
}

pub fn assert_satisfied(t: &Trace) {
    if let Err(e) = run(t) {
        panic!("honest witness rejected: {e:?}");
    }
}

pub fn assert_rejected(t: &Trace) {
    assert!(run(t).is_err(), "tampered witness accepted");
}

/// Rewrite the input row `row` (made by `input_wire`) consistently to hold `v` instead: a prover
/// who picks another input, every other constraint of that row kept.
pub fn set_input(t: &mut Trace, row: usize, v: i128) {
    for col in [0, 1, 3] {
        let w = t.cell(row, col).unwrap();
        t.tamper_wire(w, v);
    }
    let sign = t.cell(row, 2).unwrap();
    t.tamper_wire(sign, (v >= 0) as i128);
    let s = t.shape;
    for (j, l) in crate::chips::limbs(v.unsigned_abs(), s.lookup_bits, s.mag_lanes).enumerate() {
        t.tamper_limb(row, s.rem_lanes + j, l);
    }
}
