//! Packing: semantics, honest witnesses, tampering.

use super::testing::{assert_rejected, assert_rejected_by_gate, assert_satisfied, plus_half, test_trace};
use crate::chips::fe;
use crate::chips::pack::*;
use crate::circuit::trace::{Trace, Wire};
use halo2curves::bn256::Fr;

#[test]
fn semantics_is_little_endian_with_the_offset() {
    let p = Packing::of_range(-5, 10);
    assert_eq!((p.offset, p.width, p.per_element()), (5, 4, 63));
    // (-5 + 5) + (0 + 5) 16 + (10 + 5) 256
    assert_eq!(p.pack(&[-5, 0, 10]).unwrap(), vec![fe(5 * 16 + 15 * 256)]);
    let many: Vec<i128> = (0..130).map(|i| i % 16 - 5).collect();
    let packed = p.pack(&many).unwrap();
    assert_eq!(packed.len(), 3);
    assert_eq!(packed[2], p.pack(&many[126..]).unwrap()[0]);
    // Injective: one value changed changes its element.
    let mut other = many.clone();
    other[70] += 1;
    assert_ne!(p.pack(&other).unwrap()[1], packed[1]);
}

/// Issue 25, H1: two neighbouring slots trading a carry (v_j + 2^w, v_(j+1) - 1) would leave the
/// packed element, and so a commitment, unchanged. The semantics refuses the value outside its
/// slot, at both ends, and says which.
#[test]
fn a_value_outside_its_slot_is_refused_not_packed() {
    let p = Packing::of_range(-5, 10);
    assert_eq!(p.slot(), (-5, 10));
    let honest = [3, 4, -2];
    let mut forged = honest;
    forged[0] += 1 << p.width;
    forged[1] -= 1;
    let err = p.pack(&forged).unwrap_err();
    assert_eq!((err.index, err.value, err.lo, err.hi), (0, 19, -5, 10));
    assert_eq!(p.pack(&[-6]).unwrap_err().index, 0);
    assert_eq!(p.pack(&[0, 11]).unwrap_err().index, 1);
    // What the check stops: unchecked, the forged values would pack to the honest element.
    let unchecked = |v: &[i128]| v.iter().rev().fold(Fr::zero(), |acc, &x| acc * fe(1 << p.width) + fe(x + p.offset));
    assert_eq!(unchecked(&forged), unchecked(&honest));
    assert_eq!(p.pack(&honest).unwrap(), vec![unchecked(&honest)]);
}

/// `n` inputs in [-5, 10], packed, the packed elements exposed.
fn packed_inputs(n: usize, checked: bool) -> (Trace, Vec<Wire>, Vec<Wire>) {
    packed_values(&(0..n).map(|i| (i as i128 * 7) % 16 - 5).collect::<Vec<_>>(), checked)
}

/// These values as inputs declared in [-5, 10] (unchecked: as a prover who ignores the range
/// would write them), packed, the packed elements exposed.
fn packed_values(values: &[i128], checked: bool) -> (Trace, Vec<Wire>, Vec<Wire>) {
    let n = values.len();
    let mut t = test_trace();
    t.shape.k = 10;
    t.checked = checked;
    let xs: Vec<Wire> = values.iter().map(|&v| t.input(v, -5, 10).unwrap()).collect();
    let rows = t.rows();
    let p = Packing::of_range(-5, 10);
    let packed = t.pack(&xs, p);
    assert_eq!(t.rows() - rows, p.rows(n, t.shape.advice));
    for &w in &packed {
        t.expose(w);
    }
    (t, xs, packed)
}

#[test]
fn matches_semantics_and_passes() {
    for n in [1, 5, 6, 63, 64, 130] {
        let (t, xs, packed) = packed_inputs(n, true);
        let values: Vec<i128> = xs.iter().map(|&x| t.value(x)).collect();
        let expect = Packing::of_range(-5, 10).pack(&values).unwrap();
        assert_eq!(packed.iter().map(|&w| t.field_value(w)).collect::<Vec<Fr>>(), expect, "{n}");
        assert_satisfied(&t);
    }
}

#[test]
fn a_changed_packed_element_fails() {
    let (mut t, _, packed) = packed_inputs(64, true);
    t.tamper_wire_field(packed[0], t.field_value(packed[0]) + Fr::one());
    assert_rejected_by_gate(&t);
    let (mut t, _, packed) = packed_inputs(64, true);
    t.tamper_wire_field(packed[1], plus_half(0) + t.field_value(packed[1]));
    assert_rejected_by_gate(&t);
}

#[test]
fn a_value_that_overflows_its_slot_fails() {
    // 16 in a slot of 4 bits (range [-5, 10], offset 5: 21 needs 5 bits) would carry into the
    // next value; its range check refuses it first.
    let (t, _, packed) = packed_values(&[1, 2, 16, 3], false);
    // The packed element is what 16 gives (every packing row holds); only the range check fails.
    assert_eq!(t.field_value(packed[0]), fe(6 + 7 * 16 + 21 * 256 + 8 * 4096));
    assert_rejected(&t);
    let (t, _, _) = packed_values(&[1, 2, 10, 3], false);
    assert_satisfied(&t);
}
