//! The requant chip: semantics, honest witnesses, tampering.

use super::testing::{
    assert_rejected, assert_rejected_by_gate, assert_rejected_by_lookup, assert_satisfied, half, input_wire, plus_half,
    set_limbs_field, test_trace,
};
use crate::chips::fe;
use crate::chips::requant::*;
use crate::circuit::trace::{Trace, Wire};
use crate::quant::Requant;

#[test]
fn semantics_round_half_up_and_relu() {
    let r = |shift, relu| Requant { shift, relu, bits: 10 };
    assert_eq!(requant(5, r(1, false)).unwrap().y, 3); // 2.5 -> 3
    assert_eq!(requant(-5, r(1, false)).unwrap().y, -2); // -2.5 -> -2
    assert_eq!(requant(-7, r(2, false)).unwrap().y, -2); // -1.75 -> -2
    assert_eq!(requant(-7, r(2, true)).unwrap().out, 0);
    assert_eq!(requant(9, r(0, true)).unwrap().out, 9);
    assert_eq!(requant(1024, r(0, false)), Err(OutOfRange { value: 1024, bits: 10 }));
    assert_eq!(requant(-1023, r(0, false)).unwrap().out, -1023);
}

/// Semantics against the real division it approximates.
#[test]
fn semantics_is_nearest_rounding() {
    for v in -600i128..600 {
        for shift in 0..6 {
            let got = requant(v, Requant { shift, relu: false, bits: 12 }).unwrap();
            let exact = v as f64 / (1u64 << shift) as f64;
            assert!((got.y as f64 - exact).abs() <= 0.5, "{v} >> {shift}: {}", got.y);
            assert_eq!(v + (if shift > 0 { 1 << (shift - 1) } else { 0 }), got.y * (1 << shift) + got.rem as i128);
        }
    }
}

fn one_requant(v: i128, r: Requant) -> (Trace, usize, Wire) {
    let mut t = test_trace();
    let x = input_wire(&mut t, v);
    let out = t.requant(x, r).unwrap();
    t.expose(out);
    let row = t.rows() - 1;
    (t, row, out)
}

#[test]
fn honest_witnesses_pass() {
    for (v, shift, relu) in [(1000, 3, false), (-1000, 3, true), (77, 0, true), (-77, 0, false), (0, 5, true)] {
        let (t, _, _) = one_requant(v, Requant { shift, relu, bits: 10 });
        assert_satisfied(&t);
    }
}

#[test]
fn tampered_output_fails() {
    let (mut t, _, out) = one_requant(1000, Requant { shift: 3, relu: false, bits: 10 });
    t.tamper_wire(out, 126);
    assert_rejected(&t);
}

#[test]
fn other_rounding_fails() {
    // y one lower with the remainder 2^d higher keeps the equation; only the width of the
    // remainder's lane (d = 3 bits, the lane could hold 4) stops it.
    let (mut t, row, out) = one_requant(1000, Requant { shift: 3, relu: false, bits: 10 });
    let y = t.cell(row, 1).unwrap();
    t.tamper_wire(y, t.value(y) - 1);
    t.tamper_wire(out, t.value(y));
    assert!(t.limb(row, 0) + 8 < 1 << t.shape.lookup_bits);
    t.tamper_limb(row, 0, t.limb(row, 0) + 8);
    t.tamper_limb(row, t.shape.rem_lanes, t.limb(row, t.shape.rem_lanes) - 1);
    assert_eq!(t.width(row, 0), 3);
    assert_rejected(&t);
}

#[test]
fn remainder_of_another_value_fails() {
    let (mut t, row, _) = one_requant(1001, Requant { shift: 3, relu: false, bits: 10 });
    t.tamper_limb(row, 0, t.limb(row, 0) ^ 1);
    assert_rejected(&t);
}

/// A value wider than the requant's own range, though the magnitude lanes could hold it.
fn outside_its_bits(v: i128, bits: u32) -> Trace {
    let mut t = test_trace();
    let x = input_wire(&mut t, v);
    t.checked = false;
    let out = t.requant(x, Requant { shift: 0, relu: false, bits }).unwrap();
    t.expose(out);
    t
}

#[test]
fn a_value_outside_its_range_fails() {
    // 2^16 would fit the four 4-bit magnitude lanes; the requant allows |y| < 2^6 (widths 4, 2, 0,
    // 0) or < 2^8 (4, 4, 0, 0).
    for (v, bits) in [(64, 6), (-64, 6), (100, 6), (256, 8), (4000, 8)] {
        assert_rejected(&outside_its_bits(v, bits));
    }
    for (v, bits) in [(63, 6), (-63, 6), (255, 8)] {
        assert_satisfied(&outside_its_bits(v, bits));
    }
}

#[test]
fn a_fractional_y_fails() {
    // y + 1/2 with r one lower keeps v + half = 2 y + r for shift 1 (r = 1 here); |y| is then
    // a fraction, which no magnitude limbs can write: the limb lookup is what stops it.
    let (mut t, row, out) = one_requant(1002, Requant { shift: 1, relu: false, bits: 10 });
    let y = t.cell(row, 1).unwrap();
    assert_eq!((t.value(y), t.limb(row, 0)), (501, 1));
    t.tamper_wire_field(y, plus_half(501));
    t.tamper_wire_field(out, plus_half(501));
    t.tamper_limb(row, 0, 0);
    let mag = t.shape.rem_lanes..t.shape.lanes();
    set_limbs_field(&mut t, row, mag, plus_half(501));
    assert_rejected_by_lookup(&t);
}

#[test]
fn a_fractional_remainder_fails() {
    // r = 1/2 with y = v: v + 0 = y + r needs v = y + 1/2, so v would have to be a fraction:
    // here v is an input, and the remainder's lane (width 0) refuses anything but 0.
    let (mut t, row, out) = one_requant(77, Requant { shift: 0, relu: false, bits: 10 });
    let y = t.cell(row, 1).unwrap();
    t.tamper_wire_field(y, fe(77) - half());
    t.tamper_wire_field(out, fe(77) - half());
    t.tamper_limb_field(row, 0, half());
    let mag = t.shape.rem_lanes..t.shape.lanes();
    set_limbs_field(&mut t, row, mag, fe(77) - half());
    assert_rejected_by_lookup(&t);
}

#[test]
fn a_fractional_sign_or_output_fails() {
    let (mut t, row, _) = one_requant(-40, Requant { shift: 0, relu: true, bits: 10 });
    let b = t.cell(row, 2).unwrap();
    t.tamper_wire_field(b, half());
    assert_rejected_by_gate(&t);
    let (mut t, _, out) = one_requant(-40, Requant { shift: 0, relu: true, bits: 10 });
    t.tamper_wire_field(out, half());
    assert_rejected_by_gate(&t);
}

#[test]
fn wrong_sign_bit_fails() {
    // ReLU of a negative value claiming b = 1 would pass y through.
    let (mut t, row, out) = one_requant(-40, Requant { shift: 0, relu: true, bits: 10 });
    let b = t.cell(row, 2).unwrap();
    t.tamper_wire(b, 1);
    t.tamper_wire(out, -40);
    assert_rejected(&t);
}

#[test]
fn limb_outside_the_table_fails() {
    // |y| = 5 written as 5 - 2^L + 2^L: a first limb of 5 + 2^L with the next one lower.
    let (mut t, row, _) = one_requant(5 + (1 << 4), Requant { shift: 0, relu: false, bits: 10 });
    let lane = t.shape.rem_lanes;
    t.tamper_limb(row, lane, t.limb(row, lane) + (1 << t.shape.lookup_bits));
    t.tamper_limb(row, lane + 1, t.limb(row, lane + 1) - 1);
    assert_rejected(&t);
}

#[test]
fn wrapped_value_fails() {
    // y = (v - r) / 2^shift in the field with a remainder that is not v's: y is then a huge
    // field element, which no magnitude limbs can write.
    let (mut t, row, _) = one_requant(1000, Requant { shift: 3, relu: false, bits: 10 });
    t.tamper_limb(row, 0, t.limb(row, 0) ^ 1);
    assert_rejected(&t);
}
