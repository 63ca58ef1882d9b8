//! The param dot chip (witnessed weights): honest witnesses, tampering, weights outside their width.

use super::testing::{assert_rejected, assert_rejected_by_gate, assert_satisfied, input_wire, plus_half, test_trace};
use crate::chips::param_dot::pairs_per_row;
use crate::circuit::trace::{Gate, Trace, Wire};

/// Weights of a signed 8-bit tensor.
const WIDTH: (i128, i128) = (-128, 127);

/// A dot of more pairs than a row holds, plus a bias paired with the constant 1.
fn long_dot() -> (Trace, Vec<Wire>, Wire) {
    let mut t = test_trace();
    let xs: Vec<Wire> = (0..7).map(|i| input_wire(&mut t, i * 11 - 30)).collect();
    let ws: Vec<Wire> = (0..7).map(|i| t.param(i * 37 - 128, WIDTH)).collect();
    let bias = t.param(-77, WIDTH);
    let one = t.one();
    let mut pairs: Vec<(Wire, Wire)> = xs.iter().copied().zip(ws.iter().copied()).collect();
    pairs.push((bias, one));
    assert!(pairs.len() > pairs_per_row(t.shape.advice));
    let acc = t.param_dot(&pairs);
    t.expose(acc);
    (t, ws, acc)
}

fn dot_rows(t: &Trace) -> Vec<usize> {
    (0..t.rows()).filter(|&r| t.gates[r] == Gate::ParamDot).collect()
}

#[test]
fn matches_the_sum_and_passes() {
    let (t, _, acc) = long_dot();
    let expect: i128 = (0..7).map(|i| (i * 11 - 30) * (i * 37 - 128)).sum::<i128>() - 77;
    assert_eq!(t.value(acc), expect);
    assert_satisfied(&t);
}

#[test]
fn tampered_sum_or_partial_sum_fails() {
    let (mut t, _, acc) = long_dot();
    t.tamper_wire(acc, t.value(acc) + 1);
    assert_rejected(&t);
    let (mut t, _, acc) = long_dot();
    let partial = t.cell(dot_rows(&t)[0], t.shape.advice - 1).unwrap();
    assert_ne!(partial, acc);
    t.tamper_wire(partial, t.value(partial) - 3);
    assert_rejected(&t);
}

#[test]
fn a_copy_of_a_weight_other_than_its_home_fails() {
    // The weight in the dot row is a copy of the range-checked wire: changing only the copy
    // (and the sum to match) breaks the permutation.
    let (mut t, ws, acc) = long_dot();
    let row = dot_rows(&t)[0];
    assert_eq!(t.cell(row, 1), Some(ws[0]));
    let x0 = t.value(t.cell(row, 0).unwrap());
    t.tamper_cell(row, 1, t.value(ws[0]) + 1);
    let partial = t.cell(row, t.shape.advice - 1).unwrap();
    t.tamper_wire(partial, t.value(partial) + x0);
    t.tamper_wire(acc, t.value(acc) + x0);
    assert_rejected(&t);
}

#[test]
fn a_weight_outside_its_width_fails() {
    for (w, inside) in [(WIDTH.0, true), (WIDTH.1, true), (WIDTH.0 - 1, false), (WIDTH.1 + 1, false)] {
        let mut t = test_trace();
        t.checked = false;
        let x = input_wire(&mut t, 5);
        let w = t.param(w, WIDTH);
        let acc = t.param_dot(&[(x, w)]);
        t.expose(acc);
        if inside {
            assert_satisfied(&t);
        } else {
            assert_rejected(&t);
        }
    }
}

#[test]
fn a_fractional_sum_fails() {
    let (mut t, _, acc) = long_dot();
    t.tamper_wire_field(acc, plus_half(t.value(acc)));
    assert_rejected_by_gate(&t);
}

#[test]
fn values_in_an_unused_pair_slot_fail() {
    // A dot whose last row has a free pair: a prover who writes (a, b) there and adds a * b to the
    // sum must be refused (the slot is not a pair of the dot).
    let mut t = test_trace();
    let per_row = pairs_per_row(t.shape.advice);
    let xs: Vec<Wire> = (0..per_row as i128 + 1).map(|i| input_wire(&mut t, i + 3)).collect();
    let ws: Vec<Wire> = (0..per_row as i128 + 1).map(|i| t.param(i - 5, WIDTH)).collect();
    let pairs: Vec<(Wire, Wire)> = xs.iter().copied().zip(ws.iter().copied()).collect();
    let acc = t.param_dot(&pairs);
    t.expose(acc);
    assert_satisfied(&t);
    let last = *dot_rows(&t).last().unwrap();
    assert_eq!(t.cell(last, 2), None, "the last row's second pair is free");
    t.tamper_cell(last, 2, 7);
    t.tamper_cell(last, 3, 11);
    t.tamper_wire(acc, t.value(acc) + 77);
    assert_rejected_by_gate(&t);
}
