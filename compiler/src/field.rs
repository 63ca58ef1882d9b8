//! Field primitives beneath the chips and the trace: integers as field elements, and their limbs.

use halo2curves::bn256::Fr;

/// The field element of a signed integer.
pub fn fe(v: i128) -> Fr {
    use halo2_proofs::arithmetic::Field;
    use halo2curves::ff::PrimeField;
    let m = Fr::from_u128(v.unsigned_abs());
    if v < 0 {
        -m
    } else {
        m + Fr::ZERO
    }
}

/// Split `value` into `lanes` limbs of `bits` bits, least significant first.
pub(crate) fn limbs(value: u128, bits: u32, lanes: usize) -> impl Iterator<Item = u64> {
    (0..lanes).map(move |j| value.checked_shr(j as u32 * bits).map_or(0, |v| (v & ((1u128 << bits) - 1)) as u64))
}
