//! The affine chip: semantics, honest witnesses, tampering.

use super::testing::{assert_rejected, assert_rejected_by_gate, assert_satisfied, input_wire, plus_half, test_trace};
use crate::chips::affine::*;
use crate::circuit::trace::{Trace, Wire};

fn some_affines() -> (Trace, Vec<Wire>) {
    let mut t = test_trace();
    let outs: Vec<Wire> = (0..5)
        .map(|i| {
            let x = input_wire(&mut t, 10 - 7 * i);
            t.affine(x, 3 - i as i64, 100 * i - 4)
        })
        .collect();
    for &o in &outs {
        t.expose(o);
    }
    (t, outs)
}

#[test]
fn matches_semantics_and_passes() {
    let (t, outs) = some_affines();
    for (i, &o) in outs.iter().enumerate() {
        let i = i as i128;
        assert_eq!(t.value(o), affine(10 - 7 * i, 3 - i as i64, 100 * i - 4));
    }
    assert_satisfied(&t);
}

#[test]
fn tampered_output_fails() {
    let (mut t, outs) = some_affines();
    t.tamper_wire(outs[3], t.value(outs[3]) - 1);
    assert_rejected(&t);
}

#[test]
fn a_fractional_output_fails() {
    let (mut t, outs) = some_affines();
    t.tamper_wire_field(outs[1], plus_half(t.value(outs[1])));
    assert_rejected_by_gate(&t);
}
