//! The dot chip: semantics, honest witnesses, tampering.

use super::testing::{assert_rejected, assert_rejected_by_gate, assert_satisfied, input_wire, plus_half, test_trace};
use crate::chips::dot::*;
use crate::circuit::trace::{Gate, Trace, Wire};

/// A dot over more terms than one row holds, so the chain is exercised.
fn long_dot() -> (Trace, Vec<Wire>, Wire) {
    let mut t = test_trace();
    let xs: Vec<Wire> = (0..11).map(|i| input_wire(&mut t, i * 7 - 30)).collect();
    let terms: Vec<(Wire, i64)> = xs.iter().enumerate().map(|(i, &x)| (x, i as i64 * 3 - 13)).collect();
    let acc = t.dot(&terms, -55);
    t.expose(acc);
    (t, xs, acc)
}

#[test]
fn matches_semantics_and_passes() {
    let (t, xs, acc) = long_dot();
    let expect = dot(xs.iter().enumerate().map(|(i, &x)| (t.value(x), i as i64 * 3 - 13)), -55);
    assert_eq!(t.value(acc), expect);
    assert_satisfied(&t);
}

#[test]
fn tampered_sum_fails() {
    let (mut t, _, acc) = long_dot();
    t.tamper_wire(acc, t.value(acc) + 1);
    assert_rejected(&t);
}

#[test]
fn tampered_partial_sum_fails() {
    let (mut t, _, acc) = long_dot();
    // The first row's partial sum sits in the acc lane of the first dot row.
    let first_dot_row = t.gates.iter().position(|g| *g == Gate::Dot).unwrap();
    let partial = t.cell(first_dot_row, t.shape.advice - 1).unwrap();
    assert_ne!(partial, acc);
    t.tamper_wire(partial, t.value(partial) + 5);
    assert_rejected(&t);
}

#[test]
fn tampered_copy_of_an_input_fails() {
    let (mut t, _, _) = long_dot();
    let first_dot_row = t.gates.iter().position(|g| *g == Gate::Dot).unwrap();
    // Break only the copy in the dot row, not the input's home: the permutation must catch it.
    t.tamper_cell(first_dot_row, 0, 999);
    assert_rejected(&t);
}

#[test]
fn a_fractional_sum_fails() {
    // The dot gate pins the sum to its inputs and weights: no fraction can stand in it.
    let (mut t, _, acc) = long_dot();
    t.tamper_wire_field(acc, plus_half(t.value(acc)));
    assert_rejected_by_gate(&t);
    let (mut t, _, acc) = long_dot();
    let first_dot_row = t.gates.iter().position(|g| *g == Gate::Dot).unwrap();
    let partial = t.cell(first_dot_row, t.shape.advice - 1).unwrap();
    assert_ne!(partial, acc);
    t.tamper_wire_field(partial, plus_half(t.value(partial)));
    assert_rejected_by_gate(&t);
}
