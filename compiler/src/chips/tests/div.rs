//! The div chip: semantics, honest witnesses, tampering.

use super::testing::{assert_rejected, assert_satisfied, input_wire, set_input, test_trace};
use crate::chips::div::*;
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
    set_input(&mut t, row - 1, 0);
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
