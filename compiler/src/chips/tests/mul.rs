//! The mul chip: semantics, honest witnesses, tampering.

use super::testing::{assert_rejected, assert_rejected_by_gate, assert_satisfied, input_wire, plus_half, test_trace};
use crate::chips::mul::*;
use crate::circuit::trace::{Trace, Wire};

fn products() -> (Trace, Vec<Wire>) {
    let mut t = test_trace();
    let xs: Vec<Wire> = (0..4).map(|i| input_wire(&mut t, 3 * i - 5)).collect();
    let outs: Vec<Wire> = (0..4).map(|i| t.mul(xs[i], xs[(i + 1) % 4])).collect();
    for &o in &outs {
        t.expose(o);
    }
    (t, outs)
}

#[test]
fn matches_semantics_and_passes() {
    let (t, outs) = products();
    assert_eq!(t.value(outs[0]), mul(-5, -2));
    assert_satisfied(&t);
}

#[test]
fn tampered_product_fails() {
    let (mut t, outs) = products();
    t.tamper_wire(outs[2], 0);
    assert_rejected(&t);
}

#[test]
fn a_fractional_product_fails() {
    let (mut t, outs) = products();
    t.tamper_wire_field(outs[1], plus_half(t.value(outs[1])));
    assert_rejected_by_gate(&t);
}
