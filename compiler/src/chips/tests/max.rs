//! The max chip: semantics, honest witnesses, tampering.

use super::testing::{assert_rejected, assert_satisfied, input_wire, test_trace};
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
