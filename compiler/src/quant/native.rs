//! The integer semantics of every chip, as plain functions on integers: the specification's
//! arithmetic. The evaluator (`eval.rs`) computes with them; each chip in `chips/` constrains
//! exactly one of them and imports it from here (the specification never imports a chip).

use super::Requant;

/// The integer semantics.
pub fn affine(x: i128, w: i64, b: i128) -> i128 {
    x * w as i128 + b
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DivValues {
    pub q: i128,
    pub r: i128,
}

/// The integer semantics; None when b is not positive.
pub fn divide(a: i128, b: i128, k: i128, c: i128) -> Option<DivValues> {
    if b <= 0 {
        return None;
    }
    let n = 2 * (k * a + c) + b;
    Some(DivValues { q: n.div_euclid(2 * b), r: n.rem_euclid(2 * b) })
}

/// The integer semantics.
pub fn dot(terms: impl IntoIterator<Item = (i128, i64)>, bias: i128) -> i128 {
    terms.into_iter().fold(bias, |acc, (x, w)| acc + x * w as i128)
}

/// The integer semantics: whether `x` is an allowed input.
pub fn in_range(x: i128, lo: i128, hi: i128) -> bool {
    (lo..=hi).contains(&x)
}

/// The integer semantics.
pub fn max_or_min(a: i128, b: i128, min: bool) -> i128 {
    if min {
        a.min(b)
    } else {
        a.max(b)
    }
}

/// The integer semantics.
pub fn mul(a: i128, b: i128) -> i128 {
    a * b
}

/// The values one requant computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequantValues {
    pub y: i128,
    pub rem: u128,
    pub non_negative: bool,
    pub out: i128,
}

/// |y| did not fit in the range the plan allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfRange {
    pub value: i128,
    pub bits: u32,
}

/// The integer semantics.
pub fn requant(v: i128, r: Requant) -> Result<RequantValues, OutOfRange> {
    let x = rescale(v, r);
    if x.y.unsigned_abs() >= 1u128 << r.bits.min(127) {
        return Err(OutOfRange { value: x.y, bits: r.bits });
    }
    Ok(x)
}

/// The rescale and ReLU without the range check.
pub(crate) fn rescale(v: i128, r: Requant) -> RequantValues {
    let half = if r.shift > 0 { 1i128 << (r.shift - 1) } else { 0 };
    let y = (v + half).div_euclid(1i128 << r.shift);
    let rem = (v + half).rem_euclid(1i128 << r.shift) as u128;
    let out = if r.relu { y.max(0) } else { y };
    RequantValues { y, rem, non_negative: y >= 0, out }
}

/// floor(sqrt(k v + 1)) and its remainder; None when k v is negative.
pub fn isqrt(v: i128, k: i128) -> Option<(i128, i128)> {
    let x = v.checked_mul(k).filter(|x| *x >= 0)?.checked_add(1)?;
    let mut s = (x as f64).sqrt() as i128;
    // The float root is within one of the integer root; settle it exactly (near i128::MAX a
    // square overflows: it is then above x).
    while s.checked_mul(s).is_none_or(|q| q > x) {
        s -= 1;
    }
    while (s + 1).checked_mul(s + 1).is_some_and(|q| q <= x) {
        s += 1;
    }
    Some((s, x - s * s))
}
