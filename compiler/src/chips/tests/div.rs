//! The div chip: semantics, honest witnesses, tampering.

use super::testing::prove_and_verify;
use super::testing::{
    assert_rejected, assert_rejected_by_lookup, assert_satisfied, half, input_wire, plus_half, set_input,
    set_limbs_field, test_trace,
};
use crate::chips::div::*;
use crate::chips::fe;
use crate::chips::limbs;
use crate::circuit::trace::{Trace, Wire};
use crate::quant::Requant;

#[test]
fn semantics_is_rounded_division() {
    for a in -300i128..300 {
        for b in 1..40 {
            let got = divide(a, b, 16, 0).map(|v| v.q);
            let exact = (16 * a) as f64 / b as f64;
            assert!(got.is_some_and(|q| (q as f64 - exact).abs() <= 0.5), "{a}/{b}: {got:?}");
        }
    }
    assert_eq!(divide(5, 0, 1, 0), None);
    assert_eq!(divide(5, -3, 1, 0), None);
    assert_eq!(divide(0, 7, 0, 256).map(|v| v.q), Some(37)); // 256 / 7 = 36.57
}

/// a / b (or c / b), its quotient range checked as the plan does.
fn one_div(a: Option<i128>, b: i128, k: i128, c: i128) -> (Trace, usize, Wire) {
    let mut t = test_trace();
    let a = a.map(|a| input_wire(&mut t, a));
    let b = input_wire(&mut t, b);
    let q = t.div(a, b, k, c).unwrap();
    let row = t.rows() - 2;
    let out = t.requant(q, Requant { shift: 0, relu: false, bits: 12 }).unwrap();
    t.expose(out);
    (t, row, q)
}

#[test]
fn honest_witnesses_pass() {
    for (a, b, k, c) in [(Some(100), 7, 16, 0), (Some(-100), 7, 16, 0), (Some(0), 1, 16, 0), (None, 9, 0, 1024)] {
        let (t, _, _) = one_div(a, b, k, c);
        assert_satisfied(&t);
    }
}

#[test]
fn other_quotient_fails() {
    // q + 1 with r - 2b keeps the equation; r is then negative and cannot be written in limbs.
    let (mut t, row, q) = one_div(Some(100), 7, 16, 0);
    t.tamper_wire(q, t.value(q) + 1);
    assert_rejected(&t);
    let (mut t, _, q) = one_div(Some(100), 7, 16, 0);
    t.tamper_wire(q, t.value(q) - 1);
    // r + 2b is still in range, but 2b - 1 - r is then negative.
    let r = divide(100, 7, 16, 0).unwrap().r + 14;
    for (j, l) in limbs(r as u128, t.shape.lookup_bits, t.shape.lanes()).enumerate() {
        t.tamper_limb(row, j, l);
    }
    assert_rejected(&t);
}

#[test]
fn non_positive_divisor_fails() {
    // b = 0 would let any q pass the equation (r = 2k a); 2b - 1 - r >= 0 refuses it.
    // Every other constraint is kept: b's own range-check row says 0, r = 2k a, q unchanged.
    let (mut t, row, _) = one_div(Some(100), 1, 16, 0);
    let b = t.cell(row, 1).unwrap();
    set_input(&mut t, b, 0);
    for (j, l) in limbs(2 * 16 * 100, t.shape.lookup_bits, t.shape.lanes()).enumerate() {
        t.tamper_limb(row, j, l);
    }
    assert_rejected(&t);
}

#[test]
fn slack_of_another_remainder_fails() {
    let (mut t, row, _) = one_div(Some(100), 7, 16, 0);
    t.tamper_limb(row + 1, 0, t.limb(row + 1, 0) ^ 1);
    assert_rejected(&t);
}

/// The attack of issue 16: a quotient one lower plus one half, q' = q - 1/2, keeps the division's
/// equation with r' = r + b (in range whenever round-half-up rounded up, r < b) and its slack
/// b - 1 - r; the range check after it then reads y = q - 1 with a remainder of 1/2. Before
/// requants bounded their remainder exactly, that remainder was lifted to 2^(P-1), an integer in
/// range, and the circuit accepted q - 1. Now the remainder's lanes have width 0 (shift 0), so
/// only 0 is allowed: the lookups, and nothing else, reject it.
fn quotient_rounded_down(a: Option<i128>, b: i128, k: i128, c: i128) -> Trace {
    let (mut t, row, q) = one_div(a, b, k, c);
    let honest = divide(a.unwrap_or(0), b, k, c).unwrap();
    assert!(honest.r < b, "the attack needs a quotient that was rounded up");
    t.tamper_wire_field(q, fe(honest.q - 1) + half());
    let (r, slack) = ((honest.r + b) as u128, (b - 1 - honest.r) as u128);
    let s = t.shape;
    for (j, (lr, ls)) in limbs(r, s.lookup_bits, s.lanes()).zip(limbs(slack, s.lookup_bits, s.lanes())).enumerate() {
        t.tamper_limb(row, j, lr);
        t.tamper_limb(row + 1, j, ls);
    }
    // The requant row after the division: y = q - 1, remainder 1/2, |y| in the magnitude limbs.
    let rq = row + 2;
    let (y, out) = (t.cell(rq, 1).unwrap(), t.cell(rq, 3).unwrap());
    t.tamper_wire(y, honest.q - 1);
    t.tamper_wire(out, honest.q - 1);
    set_limbs_field(&mut t, rq, 0..s.rem_lanes, half());
    for (j, l) in limbs((honest.q - 1) as u128, s.lookup_bits, s.mag_lanes).enumerate() {
        t.tamper_limb(rq, s.rem_lanes + j, l);
    }
    t
}

#[test]
fn a_quotient_rounded_down_by_a_half_fails() {
    // round(16 * 100 / 7) = 229 claimed as 228; round(1024 / 6) = 171 claimed as 170.
    assert_eq!(divide(100, 7, 16, 0).unwrap().q, 229);
    assert_rejected_by_lookup(&quotient_rounded_down(Some(100), 7, 16, 0));
    assert_eq!(divide(0, 6, 0, 1024).unwrap().q, 171);
    assert_rejected_by_lookup(&quotient_rounded_down(None, 6, 0, 1024));
}

#[test]
fn a_fractional_quotient_fails() {
    // Any fraction of q: q + 1/2 with r - b (in range when r >= b), then the requant's remainder
    // would have to be 1/2.
    let (mut t, row, q) = one_div(Some(-100), 7, 16, 0);
    let honest = divide(-100, 7, 16, 0).unwrap();
    assert!(honest.r >= 7);
    t.tamper_wire_field(q, plus_half(honest.q));
    let s = t.shape;
    let (r, slack) = ((honest.r - 7) as u128, (13 - honest.r + 7) as u128);
    for (j, (lr, ls)) in limbs(r, s.lookup_bits, s.lanes()).zip(limbs(slack, s.lookup_bits, s.lanes())).enumerate() {
        t.tamper_limb(row, j, lr);
        t.tamper_limb(row + 1, j, ls);
    }
    set_limbs_field(&mut t, row + 2, 0..s.rem_lanes, half());
    assert_rejected_by_lookup(&t);
}

#[test]
fn a_quotient_rounded_down_is_refused_by_the_real_verifier() {
    // The same rows through keygen, the prover and the verifier: the honest division verifies,
    // 229 claimed as 228 does not.
    let (honest, _, _) = one_div(Some(100), 7, 16, 0);
    prove_and_verify(&honest).unwrap();
    let attack = quotient_rounded_down(Some(100), 7, 16, 0);
    let refused = prove_and_verify(&attack).unwrap_err();
    assert!(refused.starts_with("the verifier refused"), "{refused}");
}
