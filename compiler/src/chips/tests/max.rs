//! The max chip: semantics, honest witnesses, tampering.

use super::testing::{
    assert_rejected, assert_rejected_by_gate, assert_satisfied, half, input_wire, plus_half, test_trace,
};
use crate::circuit::trace::{Trace, Wire};

fn one(a: i128, b: i128, min: bool) -> (Trace, usize, Wire) {
    let mut t = test_trace();
    let (x, y) = (input_wire(&mut t, a), input_wire(&mut t, b));
    let out = t.max_or_min(x, y, min);
    t.expose(out);
    let row = t.rows() - 1;
    (t, row, out)
}

#[test]
fn honest_witnesses_pass() {
    for (a, b) in [(5, -3), (-3, 5), (7, 7), (-100, -101), (0, 900)] {
        for min in [false, true] {
            let (t, _, out) = one(a, b, min);
            assert_eq!(t.value(out), if min { a.min(b) } else { a.max(b) });
            assert_satisfied(&t);
        }
    }
}

#[test]
fn the_other_operand_fails() {
    for min in [false, true] {
        let (mut t, _, out) = one(5, -3, min);
        t.tamper_wire(out, if min { 5 } else { -3 });
        assert_rejected(&t);
    }
}

#[test]
fn a_false_sign_fails() {
    // Claim a < b for a = 5, b = -3: out = a would then need (2s - 1) d = -8 in limbs.
    let (mut t, row, out) = one(5, -3, true);
    let s = t.cell(row, 2).unwrap();
    t.tamper_wire(s, 0);
    t.tamper_wire(out, 5);
    assert_rejected(&t);
}

#[test]
fn a_fractional_sign_fails() {
    // s = 1/2 makes (2s - 1) d = 0, so the magnitude limbs could all be 0, and out = b + d / 2
    // (the mean) satisfies the output line: only s's boolean constraint refuses it.
    let (mut t, row, out) = one(5, -3, false);
    let s = t.cell(row, 2).unwrap();
    t.tamper_wire_field(s, half());
    for lane in t.shape.rem_lanes..t.shape.lanes() {
        t.tamper_limb(row, lane, 0);
    }
    t.tamper_wire(out, 1);
    assert_rejected_by_gate(&t);
}

#[test]
fn a_fractional_output_fails() {
    let (mut t, _, out) = one(5, -3, true);
    t.tamper_wire_field(out, plus_half(-3));
    assert_rejected_by_gate(&t);
}
