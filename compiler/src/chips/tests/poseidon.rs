//! The Poseidon chip: the permutation against published test vectors and poseidon-primitives,
//! the chip against the native hash, tampering.

use super::testing::{
    assert_rejected, assert_rejected_by_gate, assert_satisfied, half, input_wire, plus_half, prove_and_verify,
    test_trace,
};
use crate::chips::fe;
use crate::chips::poseidon::*;
use crate::circuit::trace::{Gate, Trace, Wire};
use halo2curves::bn256::Fr;
use halo2curves::ff::{Field, PrimeField};
use rand::{rngs::StdRng, SeedableRng};

/// A field element from big-endian hex (with or without 0x): `from_repr` takes little-endian bytes.
fn hex(s: &str) -> Fr {
    let s = s.trim_start_matches("0x");
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate().take(s.len().div_ceil(2)) {
        let end = s.len() - 2 * i;
        *b = u8::from_str_radix(&s[end.saturating_sub(2)..end], 16).unwrap();
    }
    Fr::from_repr(bytes).unwrap()
}

fn fr(v: u64) -> Fr {
    Fr::from(v)
}

#[test]
fn hex_parses_big_endian() {
    assert_eq!(hex("0x0"), Fr::ZERO);
    assert_eq!(hex("0x1f"), fr(31));
    assert_eq!(hex("0x123"), fr(0x123));
    assert_eq!(hex("0x0100000000000000000000000000000000"), Fr::from_u128(1 << 64).square());
    assert_eq!(hex("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000"), -Fr::ONE);
}

#[test]
fn the_permutation_matches_the_reference_vectors() {
    // The reference implementation's test vectors (hadeshash, x5_254_3).
    let mut state = [fr(0), fr(1), fr(2)];
    permute(&mut state);
    assert_eq!(
        state,
        [
            hex("0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"),
            hex("0x0fca49b798923ab0239de1c9e7a4a9a2210312b6a2f616d18b5a87f9b628ae29"),
            hex("0x0e7ae82e40091e63cbd4f16a6d16310b3729d4b6e138fcf54110e2867045a30c"),
        ]
    );
}

#[test]
fn the_permutation_gives_circomlibs_hashes() {
    // circomlib's poseidon([a, b]) is permute([0, a, b])[0].
    let mut state = [fr(0); 3];
    permute(&mut state);
    assert_eq!(state[0], hex("0x2098f5fb9e239eab3ceac3f27b81e481dc3124d55ffed523a839ee8446b64864"));
    let mut state = [fr(0), fr(1), fr(2)];
    permute(&mut state);
    assert_eq!(state[0], hex("0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"));
}

#[test]
fn the_permutation_matches_poseidon_primitives() {
    use poseidon_primitives::poseidon::primitives::{ConstantLength, Hash};
    let theirs = Hash::<Fr, Bn254Spec, ConstantLength<2>, WIDTH, RATE>::init();
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..5 {
        let mut state = [(); 3].map(|_| Fr::random(&mut rng));
        let mut expected = state;
        theirs.permute(&mut expected);
        permute(&mut state);
        assert_eq!(state, expected);
    }
}

#[test]
fn the_sponge_follows_its_definition() {
    let permuted = |mut s: [Fr; 3]| {
        permute(&mut s);
        s
    };
    assert_eq!(hash(&[]), permuted([fr(0); 3])[0]);
    assert_eq!(hash(&[fr(5)]), permuted([fr(1), fr(5), fr(0)])[0]);
    assert_eq!(hash(&[fr(5), fr(6)]), permuted([fr(2), fr(5), fr(6)])[0]);
    let s = permuted([fr(3), fr(5), fr(6)]);
    assert_eq!(hash(&[fr(5), fr(6), fr(7)]), permuted([s[0], s[1] + fr(7), s[2]])[0]);
    // The length separates a message from its zero-padded extension.
    assert_ne!(hash(&[fr(5)]), hash(&[fr(5), fr(0)]));
    assert_ne!(hash(&[]), hash(&[fr(0)]));
}

/// A trace hashing input wires holding `values`, the hash exposed; returns it, the message wires,
/// the hash's wire and the first row of the hash.
fn hashed(values: &[i128]) -> (Trace, Vec<Wire>, Wire, usize) {
    let mut t = test_trace();
    let message: Vec<Wire> = values.iter().map(|&v| input_wire(&mut t, v)).collect();
    let first = t.rows();
    let h = t.poseidon(&message);
    assert_eq!(t.rows() - first, poseidon_rows(values.len()));
    t.expose(h);
    (t, message, h, first)
}

fn native(values: &[i128]) -> Fr {
    hash(&values.iter().map(|&v| fe(v)).collect::<Vec<_>>())
}

/// The rows of the hash with gate `gate`, in order.
fn rows_of(t: &Trace, first: usize, gate: Gate) -> Vec<usize> {
    (first..t.rows()).filter(|&r| t.gates[r] == gate).collect()
}

#[test]
fn the_chip_hashes_as_the_native_sponge() {
    for values in [&[][..], &[7], &[-3, 4000], &[1, -2, 3, -4, 5]] {
        let (t, _, h, _) = hashed(values);
        assert_eq!(t.field_value(h), native(values), "{values:?}");
        assert_satisfied(&t);
    }
}

#[test]
fn rows_per_permutation() {
    assert_eq!(round_rows(), 31);
    assert_eq!(poseidon_rows(0), 33);
    assert_eq!(poseidon_rows(2), 33);
    assert_eq!(poseidon_rows(3), 65);
    let (t, _, _, first) = hashed(&[1, 2, 3]);
    let count = |g| rows_of(&t, first, g).len();
    assert_eq!(
        [Gate::PoseidonAbsorb, Gate::PoseidonFull, Gate::PoseidonPartial5, Gate::PoseidonPartial2].map(count),
        [2, 16, 22, 2]
    );
    assert_eq!(t.gates[t.rows() - 1], Gate::None);
}

#[test]
fn a_hash_can_be_hashed_again() {
    let (mut t, message, h, _) = hashed(&[5, 6]);
    let again = t.poseidon(&[h, message[0]]);
    t.expose(again);
    assert_eq!(t.field_value(again), hash(&[native(&[5, 6]), fe(5)]));
    assert_satisfied(&t);
}

#[test]
fn the_real_verifier_accepts_a_hash() {
    let (t, _, _, _) = hashed(&[9, -9, 1]);
    prove_and_verify(&t).unwrap();
}

#[test]
fn the_gates_keep_the_degree_at_five() {
    use crate::circuit::ZkCircuit;
    use halo2_proofs::plonk::{Circuit, ConstraintSystem};
    let mut meta = ConstraintSystem::<Fr>::default();
    ZkCircuit::configure_with_params(&mut meta, test_trace().shape);
    assert_eq!(meta.degree(), 5);
}

/// Add `by` to the wire whose home is (row, col).
fn shift(t: &mut Trace, row: usize, col: usize, by: Fr) {
    let w = t.cell(row, col).unwrap();
    t.tamper_wire_field(w, t.field_value(w) + by);
}

#[test]
fn a_changed_state_fails() {
    // A state pinned by a full round, by a block of 5 partial rounds, and by one of 2.
    for gate in [Gate::PoseidonFull, Gate::PoseidonPartial5, Gate::PoseidonPartial2] {
        for i in 0..3 {
            let (mut t, _, _, first) = hashed(&[1, 2, 3]);
            let rows = rows_of(&t, first, gate);
            let row = rows[3.min(rows.len() - 1)];
            shift(&mut t, row, i, Fr::ONE);
            assert_rejected_by_gate(&t);
        }
    }
}

#[test]
fn a_changed_absorbed_state_fails() {
    // The state after the first permutation, before the second chunk is added.
    let (mut t, _, _, first) = hashed(&[1, 2, 3]);
    let row = rows_of(&t, first, Gate::PoseidonAbsorb)[1];
    shift(&mut t, row, 2, Fr::ONE);
    assert_rejected_by_gate(&t);
}

#[test]
fn a_changed_square_or_element_fails() {
    // Every cell of a block but its state (the squares q_j and the elements e_j), in both rows of
    // a block of 5, and the squares of a full round.
    let mut cells: Vec<(Gate, usize, usize)> = vec![(Gate::PoseidonFull, 0, 3), (Gate::PoseidonFull, 0, 5)];
    cells.extend((3..6).map(|c| (Gate::PoseidonPartial2, 0, c)));
    cells.extend((3..12).map(|c| (Gate::PoseidonPartial5, c / 6, c % 6)));
    for (gate, below, col) in cells {
        let (mut t, _, _, first) = hashed(&[1, 2, 3]);
        let row = rows_of(&t, first, gate)[1] + below;
        shift(&mut t, row, col, -Fr::ONE);
        assert_rejected_by_gate(&t);
    }
}

#[test]
fn a_changed_message_element_fails() {
    // The copy of each element in its absorb row, and the message itself made another.
    for (k, col) in [(0, 3), (0, 4), (1, 3)] {
        let (mut t, _, _, first) = hashed(&[1, 2, 3]);
        let row = rows_of(&t, first, Gate::PoseidonAbsorb)[k];
        t.tamper_cell(row, col, 10);
        assert_rejected(&t);
    }
    let (mut t, message, _, _) = hashed(&[1, 2, 3]);
    super::testing::set_input(&mut t, message[2], 4);
    assert_rejected_by_gate(&t);
}

#[test]
fn a_changed_output_fails() {
    let (mut t, _, h, _) = hashed(&[1, 2, 3]);
    t.tamper_wire_field(h, t.field_value(h) + Fr::ONE);
    assert_rejected_by_gate(&t);
    // The hash of another message claimed as this one's.
    let (mut t, _, h, _) = hashed(&[1, 2, 3]);
    t.tamper_wire_field(h, native(&[1, 2, 4]));
    assert_rejected_by_gate(&t);
}

#[test]
fn a_fractional_state_fails() {
    let (mut t, _, _, first) = hashed(&[1, 2]);
    let row = rows_of(&t, first, Gate::PoseidonPartial5)[10];
    let w = t.cell(row, 1).unwrap();
    t.tamper_wire_field(w, t.field_value(w) + half());
    assert_rejected_by_gate(&t);
    let (mut t, message, _, _) = hashed(&[1, 2]);
    t.tamper_wire_field(message[1], plus_half(2));
    assert_rejected(&t);
}

#[test]
fn empty_cells_are_read_by_no_gate() {
    // The first absorb row's state (no state before it) and the padding of an odd message:
    // whatever they hold, the hash is the same.
    let (mut t, _, _, first) = hashed(&[1, 2, 3]);
    let absorbs = rows_of(&t, first, Gate::PoseidonAbsorb);
    assert!([0, 1, 2].iter().all(|&c| t.cell(absorbs[0], c).is_none()) && t.cell(absorbs[1], 4).is_none());
    for c in 0..3 {
        t.tamper_cell(absorbs[0], c, 99);
    }
    t.tamper_cell(absorbs[1], 4, 99);
    assert_satisfied(&t);
}
