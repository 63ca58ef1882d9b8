//! The lookup chip: semantics, honest witnesses, tampering.

use super::testing::{
    assert_rejected, assert_rejected_by_lookup, assert_satisfied, input_wire, plus_half, set_input, test_trace,
};
use crate::circuit::trace::{Trace, Wire};
use crate::ir::Func;
use crate::quant::table::FuncTable;

fn tables() -> Vec<FuncTable> {
    vec![
        FuncTable { func: Func::Sigmoid, in_exp: -4, out_scale: 4, bound: 20 },
        FuncTable { func: Func::Exp, in_exp: -4, out_scale: 4, bound: 20 },
    ]
}

fn one_lookup(x: i128, tag: usize) -> (Trace, usize, Wire) {
    let mut t = test_trace();
    t.tables = tables();
    let xw = input_wire(&mut t, x);
    let table = t.tables[tag].clone();
    let y = t.lookup(xw, &table, tag).unwrap();
    t.expose(y);
    let row = t.rows() - 1;
    (t, row, y)
}

#[test]
fn semantics_matches_the_function() {
    let t = &tables()[0];
    for x in -20..=20 {
        let y = t.value(x).unwrap();
        assert!((y as f64 / 16.0 - Func::Sigmoid.eval(x as f64 / 16.0)).abs() <= 0.5 / 16.0);
    }
    assert_eq!(t.value(21), None);
}

#[test]
fn honest_witnesses_pass() {
    for (x, tag) in [(0, 0), (-20, 0), (20, 1), (7, 1)] {
        let (t, _, _) = one_lookup(x, tag);
        assert_satisfied(&t);
    }
}

#[test]
fn wrong_output_fails() {
    let (mut t, _, y) = one_lookup(7, 0);
    t.tamper_wire(y, t.value(y) + 1);
    assert_rejected(&t);
}

#[test]
fn another_functions_output_fails() {
    // exp's value at x, claimed under sigmoid's tag.
    let (mut t, _, y) = one_lookup(7, 0);
    t.tamper_wire(y, tables()[1].value(7).unwrap());
    assert_rejected(&t);
}

#[test]
fn input_outside_the_domain_fails() {
    // x = 21 is in no table; claim the value the function would have there.
    let (mut t, row, y) = one_lookup(20, 0);
    let x = t.cell(row, 0).unwrap();
    set_input(&mut t, x, 21);
    let wider = FuncTable { bound: 21, ..tables()[0].clone() };
    t.tamper_wire(y, wider.value(21).unwrap());
    assert_rejected(&t);
}

#[test]
fn a_fractional_output_or_input_fails() {
    // Entries are integers: y + 1/2 (or x + 1/2 with y the function there) is in no row.
    let (mut t, _, y) = one_lookup(7, 0);
    t.tamper_wire_field(y, plus_half(t.value(y)));
    assert_rejected_by_lookup(&t);
}
