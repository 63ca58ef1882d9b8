//! The integer evaluator: the quantized model run on integers. It is the specification: witness
//! generation uses it, the circuit constrains exactly it, calibration measures its error.

use super::{QOp, QuantPlan};
use crate::chips::{affine::affine, dot::dot, mul::mul, requant::requant};
use crate::ir::Graph;
use rayon::prelude::*;
use thiserror::Error;

/// A value left the range the settings allow.
#[derive(Debug, Clone, Error, PartialEq)]
#[error(
    "node {node}: element {element} is {value:.4} after rescaling, outside the range ±{limit:.4} the settings allow; \
     re-calibrate with data like this input (zkonnx calibrate) or use a wider input range"
)]
pub struct RangeError {
    pub node: String,
    pub element: usize,
    pub value: f64,
    pub limit: f64,
}

impl RangeError {
    pub fn new(node: &str, element: usize, value: i128, bits: u32, scale: u32) -> Self {
        let unit = (scale as f64).exp2();
        RangeError { node: node.to_string(), element, value: value as f64 / unit, limit: (bits as f64).exp2() / unit }
    }
}

/// Every node's output values, flat, at the node's scale.
pub fn evaluate(graph: &Graph, plan: &QuantPlan, inputs: &[Vec<i128>]) -> Result<Vec<Vec<i128>>, RangeError> {
    evaluate_observed(graph, plan, inputs, &mut |_, _| {})
}

/// `evaluate`, also reporting every rescaled value before its ReLU as `observe(node, y)`.
pub fn evaluate_observed(
    graph: &Graph,
    plan: &QuantPlan,
    inputs: &[Vec<i128>],
    observe: &mut dyn FnMut(usize, i128),
) -> Result<Vec<Vec<i128>>, RangeError> {
    let mut values: Vec<Vec<i128>> = Vec::with_capacity(graph.nodes.len());
    for (id, (node, q)) in graph.nodes.iter().zip(&plan.nodes).enumerate() {
        let input = |i: usize| &values[node.inputs[i]];
        let raw: Vec<i128> = match &q.op {
            QOp::Input { index } => inputs[*index].clone(),
            // Outputs of a layer are independent: compute them in parallel.
            QOp::Linear(lin) => (0..lin.outputs())
                .into_par_iter()
                .map(|i| match lin.row(i) {
                    [t] => affine(input(t.input as usize)[t.index as usize], t.weight, lin.bias[i]),
                    terms => {
                        dot(terms.iter().map(|t| (input(t.input as usize)[t.index as usize], t.weight)), lin.bias[i])
                    }
                })
                .collect(),
            QOp::Mul { a, b } => {
                a.iter().zip(b).map(|(&i, &j)| mul(input(0)[i as usize], input(1)[j as usize])).collect()
            }
            QOp::Copy { map } => map.iter().map(|&i| input(0)[i as usize]).collect(),
        };
        let out = match q.requant {
            None => raw,
            Some(r) => raw
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let x = requant(v, r).map_err(|e| RangeError::new(&node.name, i, e.value, e.bits, q.scale))?;
                    observe(id, x.y);
                    Ok(x.out)
                })
                .collect::<Result<_, _>>()?,
        };
        values.push(out);
    }
    Ok(values)
}
