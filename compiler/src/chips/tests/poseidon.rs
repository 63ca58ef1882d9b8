//! The Poseidon chip: the permutation against published test vectors and poseidon-primitives,
//! the chip against the native hash, tampering.

use crate::chips::poseidon::*;
use halo2curves::bn256::Fr;
use halo2curves::ff::{Field, PrimeField};
use rand::{rngs::StdRng, SeedableRng};

/// A field element from big-endian hex (with or without 0x).
fn hex(s: &str) -> Fr {
    let padded = format!("{:0>64}", s.trim_start_matches("0x"));
    let mut bytes: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).unwrap()).collect();
    bytes.reverse();
    Fr::from_repr(bytes.try_into().unwrap()).unwrap()
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

/// A trace hashing `n` inputs (values 3 i - 4), the hash exposed; returns it and the hash wire.
fn hashed(n: usize) -> (crate::circuit::trace::Trace, crate::circuit::trace::Wire, Fr) {
    use super::testing::{input_wire, test_trace};
    let mut t = test_trace();
    let xs: Vec<_> = (0..n).map(|i| input_wire(&mut t, 3 * i as i128 - 4)).collect();
    let start = t.rows();
    let h = t.poseidon(&xs);
    // The constant 0 padding an odd message is its own (affine) row.
    let padding = usize::from(n % 2 == 1 || n == 0);
    assert_eq!(t.rows() - start, poseidon_rows(n) + padding);
    t.expose(h);
    let native = hash(&(0..n).map(|i| crate::chips::fe(3 * i as i128 - 4)).collect::<Vec<_>>());
    (t, h, native)
}

#[test]
fn the_chip_computes_the_native_hash() {
    use super::testing::assert_satisfied;
    for n in [0, 1, 2, 5] {
        let (t, h, native) = hashed(n);
        assert_eq!(t.field_value(h), native, "{n}");
        assert_satisfied(&t);
    }
}

/// The rows of each kind of the sponge in `t`.
fn rows_of(t: &crate::circuit::trace::Trace, gate: crate::circuit::trace::Gate) -> Vec<usize> {
    (0..t.rows()).filter(|&r| t.gates[r] == gate).collect()
}

#[test]
fn a_changed_state_or_square_fails() {
    use super::testing::{assert_rejected_by_gate, plus_half};
    use crate::circuit::trace::Gate;
    for (gate, col) in [
        (Gate::PoseidonFull, 1),
        (Gate::PoseidonFull, 4),
        (Gate::PoseidonPartial, 2),
        (Gate::PoseidonPartial, 3),
        (Gate::PoseidonAbsorb, 0),
    ] {
        let (mut t, _, _) = hashed(3);
        let row = rows_of(&t, gate)[1];
        let w = t.cell(row, col).unwrap();
        t.tamper_wire_field(w, t.field_value(w) + Fr::ONE);
        assert_rejected_by_gate(&t);
        // A fraction too (the state is any field element, but only the honest one passes).
        let (mut t, _, _) = hashed(3);
        let w = t.cell(row, col).unwrap();
        t.tamper_wire_field(w, t.field_value(w) + plus_half(0));
        assert_rejected_by_gate(&t);
    }
}

#[test]
fn a_changed_output_or_message_fails() {
    use super::testing::{assert_rejected, assert_rejected_by_gate};
    // Another hash claimed: the last round's gate pins the output row.
    let (mut t, h, _) = hashed(2);
    t.tamper_wire_field(h, t.field_value(h) + Fr::ONE);
    assert_rejected_by_gate(&t);
    // The message element as absorbed differs from the input wire (the copy breaks).
    let (mut t, _, _) = hashed(2);
    let first = rows_of(&t, crate::circuit::trace::Gate::PoseidonAbsorb)[0];
    t.tamper_cell(first, 3, 77);
    assert_rejected(&t);
    // The sponge's first state is fixed to (n, 0, 0): another capacity fails.
    let (mut t, _, _) = hashed(2);
    let w = t.cell(first, 0).unwrap();
    t.tamper_wire_field(w, Fr::from(3));
    assert_rejected_by_gate(&t);
}
