//! The integer evaluator: the quantized model run on integers. It is the specification: witness
//! generation uses it, the circuit constrains exactly it, calibration measures its error.

use super::table::FuncTable;
use super::walk::{walk, Backend, RowForm};
use super::{DivSpec, Linear, QuantPlan, Requant};
use crate::chips::requant::OutOfRange;
use crate::chips::{
    affine::affine, div::divide, dot::dot, input::in_range, max::max_or_min, mul::mul, requant::requant, sqrt::isqrt,
};
use crate::ir::Graph;
use rayon::prelude::*;
use thiserror::Error;

/// A value the settings or the circuit cannot take.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum RangeError {
    /// A value left the range the settings allow.
    #[error(
        "node {node}: element {element} is {value:.4} after rescaling, outside the range ±{limit:.4} the settings \
         allow; re-calibrate with data like this input (zkonnx calibrate) or use a wider input range"
    )]
    OutOfRange { node: String, element: usize, value: f64, limit: f64 },
    /// A model input outside its declared range.
    #[error(
        "input {node}: element {element} is {value:.4}, outside the declared range [{min:.4}, {max:.4}] in \
         settings.json; re-calibrate with data like this input (zkonnx calibrate)"
    )]
    Input { node: String, element: usize, value: f64, min: f64, max: f64 },
    /// A divisor that is not positive.
    #[error(
        "node {node}: divisor element {element} is {value:.4}; zkonnx divides only by positive values (in the \
         quantized model), so the model must keep this divisor above 0 for every input"
    )]
    Divisor { node: String, element: usize, value: f64 },
    /// The square root of a negative value.
    #[error("node {node}: element {element} is {value:.4}; a square root needs a value >= 0")]
    Negative { node: String, element: usize, value: f64 },
}

impl RangeError {
    /// `value` out of `|v| < 2^bits` at scale 2^scale.
    pub fn new(node: &str, element: usize, value: i128, bits: u32, scale: i32) -> Self {
        let unit = (scale as f64).exp2();
        RangeError::OutOfRange {
            node: node.to_string(),
            element,
            value: value as f64 / unit,
            limit: (bits as f64).exp2() / unit,
        }
    }
}

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
        // Outputs of a layer are independent: compute them in parallel.
        (0..lin.outputs())
            .into_par_iter()
            .map(|i| match lin.form(i) {
                RowForm::Affine(t, b) => affine(inputs[t.input as usize][t.index as usize], t.weight, b),
                RowForm::Dot(terms, b) => {
                    dot(terms.iter().map(|t| (inputs[t.input as usize][t.index as usize], t.weight)), b)
                }
            })
            .collect()
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
