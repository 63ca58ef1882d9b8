//! The sqrt chip: semantics, honest witnesses, tampering.

use super::testing::{
    assert_rejected, assert_rejected_by_lookup, assert_satisfied, half, input_wire, plus_half, set_limbs_field,
    set_range_check, test_trace,
};
use crate::chips::fe;
use crate::chips::limbs;
use crate::chips::sqrt::*;
use crate::circuit::trace::{Trace, Wire};
use crate::quant::Requant;

#[test]
fn semantics_is_the_floor_of_the_root() {
    for v in 0..2000i128 {
        let (s, r) = isqrt(v, 3).unwrap();
        let x = 3 * v + 1;
        assert!(s * s <= x && x < (s + 1) * (s + 1) && r == x - s * s, "{v}");
        assert!((s as f64 - ((3 * v) as f64).sqrt()).abs() <= 1.0, "{v}");
    }
    assert_eq!(isqrt(0, 5), Some((1, 0)));
    assert_eq!(isqrt(-1, 4), None);
    assert_eq!(isqrt(1 << 100, 1).map(|x| x.0), Some(1 << 50));
    // Near i128::MAX the candidate's square overflows (a calibration candidate once panicked).
    let (s, _) = isqrt(i128::MAX - 1, 1).unwrap();
    assert!(s.checked_mul(s).is_some_and(|q| q <= i128::MAX) && (s + 1).checked_mul(s + 1).is_none());
    assert_eq!(isqrt(i128::MAX, 1), None);
}

fn one(v: i128, k: i128) -> (Trace, usize, Wire) {
    let mut t = test_trace();
    let x = input_wire(&mut t, v);
    let s = t.sqrt(x, k).unwrap();
    let row = t.rows() - 2;
    let out = t.requant(s, Requant { shift: 0, relu: false, bits: 12 }).unwrap();
    t.expose(out);
    (t, row, s)
}

#[test]
fn honest_witnesses_pass() {
    for (v, k) in [(0, 16), (1, 16), (99, 16), (1000, 4), (2047, 1)] {
        let (t, _, _) = one(v, k);
        assert_satisfied(&t);
    }
}

#[test]
fn a_root_one_off_fails() {
    for delta in [-1, 1] {
        let (mut t, row, _) = one(99, 16);
        let (root, _) = isqrt(99, 16).unwrap();
        let wrong = root + delta;
        // The range check after it takes the other root too (row + 2 is that requant).
        set_range_check(&mut t, row + 2, wrong);
        // Keep k v + 1 = s^2 + r: r takes the difference (negative for s + 1: no limbs write it).
        let r = 16 * 99 + 1 - wrong * wrong;
        if r >= 0 {
            for (j, l) in limbs(r as u128, t.shape.lookup_bits, t.shape.lanes()).enumerate() {
                t.tamper_limb(row, j, l);
            }
        }
        assert_rejected(&t);
    }
}

#[test]
fn slack_of_another_remainder_fails() {
    let (mut t, row, _) = one(99, 16);
    t.tamper_limb(row + 1, 0, t.limb(row + 1, 0) ^ 1);
    assert_rejected(&t);
}

#[test]
fn a_fractional_root_fails() {
    // s + 1/2 keeps 2s an integer (the slack's lanes stay integral), but then
    // r = k v + 1 - s^2 - s - 1/4 is a fraction: why the root is an integer without any other
    // check. The range check after it takes s + 1/2 with remainder 1/2 (also refused).
    let (mut t, row, s_wire) = one(99, 16);
    let (s, r) = isqrt(99, 16).unwrap();
    let s2 = plus_half(s);
    t.tamper_wire_field(s_wire, s2);
    let r2 = fe(16 * 99 + 1) - s2 * s2;
    let slack2 = fe(2) * s2 - r2;
    let lanes = 0..t.shape.lanes();
    set_limbs_field(&mut t, row, lanes.clone(), r2);
    set_limbs_field(&mut t, row + 1, lanes, slack2);
    let rq = row + 2;
    let rem = 0..t.shape.rem_lanes;
    set_limbs_field(&mut t, rq, rem, half());
    assert!(r > 0);
    assert_rejected_by_lookup(&t);
}
