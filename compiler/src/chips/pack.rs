//! Packing: bounded values several to a field element, so a commitment hashes few elements.
//!
//! With every value v in [-offset, 2^width - offset) (the plan bounds it and the circuit enforces
//! the bound), `per_element` = floor(252 / width) values make one element, least significant
//! first: `P = Σ_k (v_k + offset) 2^(k width)`, below 2^252 < p, so the packing is injective.
//! In the circuit a packed element is a dot-product chain (the dot gate, no gate of its own):
//! rows of m values each, m = min(advice - 1, floor(126 / width)), from the most significant
//! chunk down, each row `acc = 2^(m width) acc[-1] + Σ_i (2^(i width)) v_i + offset Σ_i 2^(i width)`.
//! Weights and the chain factor are fixed columns, so the packing is part of the verifying key.

use super::fe;
use crate::circuit::trace::{Gate, Trace, Wire};
use halo2_proofs::arithmetic::Field;
use halo2curves::bn256::Fr;

/// Bits a packed element holds (the field has 254).
pub const PACKED_BITS: u32 = 252;

/// A value outside the slot its packing gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("value {index} is {value}, outside the proven range [{lo}, {hi}] of its packing")]
pub struct SlotError {
    pub index: usize,
    pub value: i128,
    pub lo: i128,
    pub hi: i128,
}

/// How values are packed: each value plus `offset` lies in [0, 2^width).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packing {
    pub offset: i128,
    pub width: u32,
}

impl Packing {
    /// Values in [lo, hi].
    pub fn of_range(lo: i128, hi: i128) -> Packing {
        Packing { offset: -lo, width: crate::quant::bit_len((hi - lo).max(1) as u128) }
    }

    pub fn per_element(&self) -> usize {
        (PACKED_BITS / self.width.max(1)) as usize
    }

    /// The values a slot holds: [-offset, 2^width - offset).
    pub fn slot(&self) -> (i128, i128) {
        (-self.offset, (1i128 << self.width) - self.offset - 1)
    }

    /// The semantics: the packed elements of `values`, each of which must lie in its slot. A
    /// value outside would carry into its neighbour's bits, and two different tensors would pack
    /// (and hash) alike: the circuit's range checks keep its own values in their slots, so a
    /// reveal checked here is the one the circuit committed to.
    pub fn pack(&self, values: &[i128]) -> Result<Vec<Fr>, SlotError> {
        let (lo, hi) = self.slot();
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, &v)| v < lo || v > hi) {
            return Err(SlotError { index, value, lo, hi });
        }
        let step = Fr::from(2).pow_vartime([self.width as u64]);
        Ok(values
            .chunks(self.per_element())
            .map(|chunk| chunk.iter().rev().fold(Fr::zero(), |acc, &v| acc * step + fe(v + self.offset)))
            .collect())
    }

    /// Values one dot row takes with `advice` columns.
    fn per_row(&self, advice: usize) -> usize {
        (advice - 1).min((126 / self.width.max(1)) as usize).max(1)
    }

    /// Rows `Trace::pack` takes for `n` values.
    pub fn rows(&self, n: usize, advice: usize) -> usize {
        let (e, m) = (self.per_element(), self.per_row(advice));
        (n / e) * e.div_ceil(m) + (n % e).div_ceil(m)
    }
}

impl Trace {
    /// The packed elements of `values` (each in range, which the caller's plan guarantees).
    pub fn pack(&mut self, values: &[Wire], p: Packing) -> Vec<Wire> {
        let m = p.per_row(self.shape.advice);
        let lanes = self.shape.advice - 1;
        let chain = 1i128 << (m as u32 * p.width);
        values
            .chunks(p.per_element())
            .map(|element| {
                let chunks: Vec<&[Wire]> = element.chunks(m).collect();
                let mut acc: Option<(Wire, Fr)> = None;
                for chunk in chunks.into_iter().rev() {
                    let row = self.push_row(Gate::Dot);
                    let mut value = acc.map_or(Fr::zero(), |(_, a)| a * fe(chain));
                    let mut bias = 0i128;
                    for (i, &x) in chunk.iter().enumerate() {
                        let weight = 1i128 << (i as u32 * p.width);
                        self.place(row, i, x);
                        self.set_fixed(row, i, weight);
                        bias += p.offset * weight;
                        value += (self.field_value(x) + fe(p.offset)) * fe(weight);
                    }
                    self.set_fixed(row, lanes, bias);
                    self.set_fixed(row, lanes + 1, if acc.is_some() { chain } else { 0 });
                    acc = Some((self.new_field_wire(row, lanes, value), value));
                }
                acc.map(|(w, _)| w).unwrap_or_else(|| self.constant(0))
            })
            .collect()
    }
}
