//! The integer evaluator: the quantized model run on integers. It is the specification: witness
//! generation uses it, the circuit constrains exactly it, calibration measures its error.

use super::native::{affine, divide, dot, in_range, isqrt, max_or_min, mul, requant, OutOfRange};
use super::table::FuncTable;
pub use super::walk::RangeError;
use super::walk::{walk, Backend, RowForm};
use super::{DivSpec, Linear, QuantPlan, Requant};
use crate::ir::Graph;
use rayon::prelude::*;

/// Layers with fewer terms are evaluated on one thread.
const PARALLEL_TERMS: usize = 1 << 14;

/// Every node's output values, flat, at the node's scale.
pub fn evaluate(graph: &Graph, plan: &QuantPlan, inputs: &[Vec<i128>]) -> Result<Vec<Vec<i128>>, RangeError> {
    walk(graph, plan, inputs, &mut Evaluator { observe: &mut |_, _| {} })
}

/// `evaluate`, also reporting every range-checked value (inputs, and rescaled values before their
/// ReLU) as `observe(node, y)`.
pub fn evaluate_observed(
    graph: &Graph,
    plan: &QuantPlan,
    inputs: &[Vec<i128>],
    observe: &mut dyn FnMut(usize, i128),
) -> Result<Vec<Vec<i128>>, RangeError> {
    walk(graph, plan, inputs, &mut Evaluator { observe })
}

/// The integer backend: the chips' semantic functions on values.
struct Evaluator<'a> {
    observe: &'a mut dyn FnMut(usize, i128),
}

impl Backend for Evaluator<'_> {
    type V = i128;

    fn input(&mut self, node: usize, value: i128, lo: i128, hi: i128) -> Option<i128> {
        if !in_range(value, lo, hi) {
            return None;
        }
        (self.observe)(node, value);
        Some(value)
    }

    fn linear(&mut self, lin: &Linear, inputs: &[&[i128]]) -> Vec<i128> {
        let output = |i: usize| match lin.form(i) {
            RowForm::Affine(t, b) => affine(inputs[t.input as usize][t.index as usize], t.weight, b),
            RowForm::Dot(terms, b) => {
                dot(terms.iter().map(|t| (inputs[t.input as usize][t.index as usize], t.weight)), b)
            }
        };
        // Outputs of a layer are independent: compute a large layer's in parallel (a small
        // one's costs less than handing it to other threads).
        if lin.terms.len() < PARALLEL_TERMS {
            (0..lin.outputs()).map(output).collect()
        } else {
            (0..lin.outputs()).into_par_iter().map(output).collect()
        }
    }

    fn mul(&mut self, a: i128, b: i128) -> i128 {
        mul(a, b)
    }

    fn max(&mut self, a: i128, b: i128, min: bool) -> i128 {
        max_or_min(a, b, min)
    }

    fn requant(&mut self, node: usize, v: i128, r: Requant) -> Result<i128, OutOfRange> {
        let x = requant(v, r)?;
        (self.observe)(node, x.y);
        Ok(x.out)
    }

    fn constant(&mut self, c: i128) -> i128 {
        c
    }

    fn lookup(
        &mut self,
        node: usize,
        x: i128,
        reduce: Requant,
        table: &FuncTable,
        _tag: usize,
    ) -> Result<i128, OutOfRange> {
        // The reduction's range check is the table's domain (the circuit skips the rescale row
        // when the shift is 0: the lookup alone checks x).
        let reduced = self.requant(node, x, reduce)?;
        table.value(reduced).ok_or(OutOfRange { value: reduced, bits: reduce.bits })
    }

    fn sqrt(&mut self, x: i128, k: i128) -> Result<i128, i128> {
        isqrt(x, k).map(|(s, _)| s).ok_or(x)
    }

    fn div(&mut self, a: Option<i128>, b: i128, d: &DivSpec) -> Result<i128, i128> {
        divide(a.unwrap_or(0), b, d.k, d.c).map(|v| v.q).ok_or(b)
    }
}
