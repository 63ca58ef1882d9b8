//! Helpers for the chips' MockProver tests.

use crate::chips::fe;
use crate::circuit::shape::{ChipSet, CircuitShape};
use crate::circuit::trace::{Gate, Trace, Wire};
use crate::circuit::ZkCircuit;
use halo2_proofs::dev::MockProver;
use halo2curves::bn256::Fr;

/// A small shape: 6 advice columns, 4-bit limbs, four lanes for the remainder and four for |y|,
/// a range table of every width 0..=4.
pub fn test_trace() -> Trace {
    Trace::new(CircuitShape {
        k: 8,
        lookup_bits: 4,
        advice: 6,
        rem_lanes: 4,
        mag_lanes: 4,
        table_rows: 64,
        range_widths: 0b11111,
        poseidon: true,
        witness_weights: true,
        chips: ChipSet::all(),
        stacked: false,
    })
}

/// The range test inputs are declared in.
pub const INPUT_RANGE: (i128, i128) = (-4095, 4095);

/// An input wire holding `v`, in [-4095, 4095].
pub fn input_wire(t: &mut Trace, v: i128) -> Wire {
    t.input(v, INPUT_RANGE.0, INPUT_RANGE.1).unwrap()
}

/// 1/2 in the field.
pub fn half() -> Fr {
    Fr::from(2).invert().unwrap()
}

/// The field element of an integer plus one half.
pub fn plus_half(v: i128) -> Fr {
    fe(v) + half()
}

fn run(t: &Trace) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
    let circuit = ZkCircuit::with_witness(t.clone(), crate::circuit::KeyDigest::default());
    let instances = circuit.instances();
    MockProver::run(t.shape.k, &circuit, vec![instances]).unwrap().verify()
}

/// The same trace laid out stacked (every row's cells down single columns), k raised to hold it.
pub fn stacked(t: &Trace) -> Trace {
    let mut s = t.clone();
    s.shape.stacked = true;
    s.shape.k += s.shape.stride().next_power_of_two().trailing_zeros();
    s
}

/// MockProver's verdict on the trace in both layouts: as built, and stacked.
fn runs(t: &Trace) -> [(&'static str, Result<(), Vec<halo2_proofs::dev::VerifyFailure>>); 2] {
    assert!(!t.shape.stacked, "tests build their traces unstacked");
    [("rows", run(t)), ("stacked", run(&stacked(t)))]
}

pub fn assert_satisfied(t: &Trace) {
    for (layout, verdict) in runs(t) {
        if let Err(e) = verdict {
            panic!("honest witness rejected ({layout}): {e:?}");
        }
    }
}

pub fn assert_rejected(t: &Trace) {
    for (layout, verdict) in runs(t) {
        assert!(verdict.is_err(), "tampered witness accepted ({layout})");
    }
}

/// The row where wire `w` has its home (the gate row that made it).
pub fn home_row(t: &Trace, w: Wire) -> usize {
    (0..t.rows()).find(|&r| (0..t.shape.advice).any(|c| t.cell(r, c) == Some(w))).unwrap()
}

/// Rewrite the input wire `w` (made by `input_wire`) consistently to hold `v` instead: a prover
/// who picks another input, the limbs of both distances written as the honest prover would.
pub fn set_input(t: &mut Trace, w: Wire, v: i128) {
    let (lo, hi) = INPUT_RANGE;
    let row = home_row(t, w);
    assert_eq!(t.gates[row], Gate::Input);
    t.tamper_wire(w, v);
    let s = t.shape;
    for (first, lanes, d) in [(0, s.rem_lanes, v - lo), (s.rem_lanes, s.mag_lanes, hi - v)] {
        for (j, l) in crate::chips::limbs(d.max(0) as u128, s.lookup_bits, lanes).enumerate() {
            t.tamper_limb(row, first + j, l);
        }
    }
}

/// Rewrite the range-check row `row` (a requant with shift 0 and no ReLU) consistently to hold
/// `v`: its input, y and output, the sign, and |v| in the magnitude limbs.
pub fn set_range_check(t: &mut Trace, row: usize, v: i128) {
    assert_eq!(t.gates[row], Gate::Requant);
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

/// Write `value` (any field element) in limb lanes `lanes` of `row`: as the low limb, the others 0.
pub fn set_limbs_field(t: &mut Trace, row: usize, lanes: std::ops::Range<usize>, value: Fr) {
    let first = lanes.start;
    for lane in lanes {
        t.tamper_limb_field(row, lane, if lane == first { value } else { Fr::zero() });
    }
}

/// The failures MockProver reports for a tampered trace in each layout (each must report some).
fn failures(t: &Trace) -> Vec<Vec<halo2_proofs::dev::VerifyFailure>> {
    runs(t)
        .into_iter()
        .map(|(layout, verdict)| verdict.err().unwrap_or_else(|| panic!("tampered witness accepted ({layout})")))
        .collect()
}

/// Rejected by lookups alone: every gate and copy holds (the tampering was made consistent), and
/// only a limb or a table lookup refuses the values.
pub fn assert_rejected_by_lookup(t: &Trace) {
    for f in failures(t) {
        let only_lookups = f.iter().all(|f| matches!(f, halo2_proofs::dev::VerifyFailure::Lookup { .. }));
        assert!(only_lookups, "expected only lookup failures (the gates made consistent), got {f:?}");
    }
}

/// Rejected by a gate (a fraction the gate pins cannot be made consistent).
pub fn assert_rejected_by_gate(t: &Trace) {
    for f in failures(t) {
        let a_gate = f.iter().any(|f| matches!(f, halo2_proofs::dev::VerifyFailure::ConstraintNotSatisfied { .. }));
        assert!(a_gate, "expected a gate to fail, got {f:?}");
    }
}

/// Real keygen (on the trace's structure), prover and verifier, in both layouts (as built and
/// stacked): Ok when the verifier accepts, Err with what refused it otherwise; the two layouts
/// must agree.
pub fn prove_and_verify(t: &Trace) -> Result<(), String> {
    match (prove_and_verify_as_laid_out(t), prove_and_verify_as_laid_out(&stacked(t))) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(e), Err(_)) => Err(e),
        (rows, stacked) => panic!("the layouts disagree: rows {rows:?}, stacked {stacked:?}"),
    }
}

fn prove_and_verify_as_laid_out(t: &Trace) -> Result<(), String> {
    use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk_custom, verify_proof};
    use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
    use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
    use halo2_proofs::poly::kzg::strategy::SingleStrategy;
    use halo2_proofs::transcript::{
        Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
    };
    use halo2curves::bn256::{Bn256, G1Affine};
    let params = ParamsKZG::<Bn256>::setup(t.shape.k, rand::rngs::OsRng);
    let keygen = ZkCircuit::for_keygen(t.clone(), crate::circuit::KeyDigest::default());
    let vk = keygen_vk_custom(&params, &keygen, true).map_err(|e| e.to_string())?;
    let pk = keygen_pk(&params, vk, &keygen).map_err(|e| e.to_string())?;
    let circuit = ZkCircuit::with_witness(t.clone(), crate::circuit::KeyDigest::default());
    let instances = circuit.instances();
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        &params,
        &pk,
        &[circuit],
        &[&[&instances]],
        rand::rngs::OsRng,
        &mut transcript,
    )
    .map_err(|e| format!("the prover refused: {e}"))?;
    let proof = transcript.finalize();
    let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(&proof[..]);
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        &params,
        pk.get_vk(),
        SingleStrategy::new(&params),
        &[&[&instances]],
        &mut transcript,
    )
    .map_err(|e| format!("the verifier refused: {e:?}"))
}
