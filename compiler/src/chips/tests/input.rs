//! The input chip: semantics, honest witnesses, tampering.

use super::testing::{
    assert_rejected, assert_rejected_by_lookup, assert_satisfied, half, plus_half, set_limbs_field, test_trace,
};
use crate::chips::fe;
use crate::chips::input::in_range;
use crate::circuit::trace::{Trace, Wire};

/// One input in [lo, hi], exposed.
fn one(v: i128, lo: i128, hi: i128) -> (Trace, usize, Wire) {
    let mut t = test_trace();
    let x = t.input(v, lo, hi).unwrap();
    t.expose(x);
    (t, 0, x)
}

/// The same rows for a value outside the range, as a prover who ignores it would write them.
fn outside(v: i128, lo: i128, hi: i128) -> Trace {
    let mut t = test_trace();
    t.checked = false;
    let x = t.input(v, lo, hi).unwrap();
    t.expose(x);
    t
}

#[test]
fn semantics_is_the_closed_range() {
    assert!(in_range(-3, -3, 5) && in_range(5, -3, 5) && in_range(0, -3, 5));
    assert!(!in_range(-4, -3, 5) && !in_range(6, -3, 5));
    assert!(test_trace().input(6, -3, 5).is_none());
}

#[test]
fn honest_witnesses_pass() {
    // Asymmetric ranges and ranges that are no power of two: the bounds are exact.
    for (v, lo, hi) in [(0, -3, 5), (-3, -3, 5), (5, -3, 5), (100, 100, 100), (-2000, -2048, 300), (17, 1, 1000)] {
        let (t, _, x) = one(v, lo, hi);
        assert_eq!(t.value(x), v);
        assert_satisfied(&t);
    }
}

#[test]
fn a_value_outside_the_range_fails() {
    // One past either end, and far outside (100.0 at scale 2^4 for a range of [-8, 8]).
    for (v, lo, hi) in [(6, -3, 5), (-4, -3, 5), (1600, -128, 128), (301, -2048, 300)] {
        assert_rejected(&outside(v, lo, hi));
    }
}

#[test]
fn a_fractional_input_fails() {
    // x + 1/2 with both distances moved by a half: the gate holds, the limbs cannot be fractions.
    let (mut t, row, x) = one(2, -3, 5);
    t.tamper_wire_field(x, plus_half(2));
    let (rem, mag) = (0..t.shape.rem_lanes, t.shape.rem_lanes..t.shape.lanes());
    set_limbs_field(&mut t, row, rem, plus_half(5));
    set_limbs_field(&mut t, row, mag, fe(3) - half());
    assert_rejected_by_lookup(&t);
}
