//! The one traversal of a plan. The integer evaluator (values) and the lowering (trace wires) are
//! two backends of it, so the circuit is built from exactly the steps the specification runs.

use super::eval::RangeError;
use super::{Linear, QOp, QuantPlan, Requant, Term};
use crate::chips::requant::OutOfRange;
use crate::ir::Graph;

/// How one output of a `Linear` is computed: a single weighted term is an affine op (packed
/// several to a row), anything else a dot product.
pub enum RowForm<'a> {
    Affine(Term, i128),
    Dot(&'a [Term], i128),
}

impl Linear {
    pub fn form(&self, i: usize) -> RowForm<'_> {
        match self.row(i) {
            [t] => RowForm::Affine(*t, self.bias[i]),
            terms => RowForm::Dot(terms, self.bias[i]),
        }
    }
}

/// What a backend does for each step of a plan.
pub trait Backend {
    type V: Copy;
    /// An element of model input node `node`, range checked to `bits`.
    fn input(&mut self, node: usize, value: i128, bits: u32) -> Result<Self::V, OutOfRange>;
    /// All outputs of a weighted-sum node; `inputs[k]` are the values of the node's k-th input.
    fn linear(&mut self, lin: &Linear, inputs: &[&[Self::V]]) -> Vec<Self::V>;
    fn mul(&mut self, a: Self::V, b: Self::V) -> Self::V;
    /// Rescale, range check and ReLU of one element of node `node`.
    fn requant(&mut self, node: usize, v: Self::V, r: Requant) -> Result<Self::V, OutOfRange>;
}

/// Run every node of the plan on `backend`; returns every node's outputs.
pub fn walk<B: Backend>(
    graph: &Graph,
    plan: &QuantPlan,
    inputs: &[Vec<i128>],
    backend: &mut B,
) -> Result<Vec<Vec<B::V>>, RangeError> {
    let mut values: Vec<Vec<B::V>> = Vec::with_capacity(graph.nodes.len());
    for (id, (node, q)) in graph.nodes.iter().zip(&plan.nodes).enumerate() {
        let out_of_range = |i: usize, e: OutOfRange| RangeError::new(&node.name, i, e.value, e.bits, q.scale);
        let input = |k: usize| values[node.inputs[k]].as_slice();
        let raw: Vec<B::V> = match &q.op {
            QOp::Input { index } => {
                // An input's range check is its requant (shift 0), done here in one step.
                let bits = q.requant.map_or(0, |r| r.bits);
                let out = inputs[*index]
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| backend.input(id, v, bits).map_err(|e| out_of_range(i, e)))
                    .collect::<Result<_, _>>()?;
                values.push(out);
                continue;
            }
            QOp::Linear(lin) => {
                let ins: Vec<&[B::V]> = (0..node.inputs.len()).map(input).collect();
                backend.linear(lin, &ins)
            }
            QOp::Mul { a, b } => {
                let (x, y) = (input(0), input(1));
                a.iter().zip(b).map(|(&i, &j)| backend.mul(x[i as usize], y[j as usize])).collect()
            }
            QOp::Copy { map } => map.iter().map(|&i| input(0)[i as usize]).collect(),
        };
        let out = match q.requant {
            None => raw,
            Some(r) => raw
                .into_iter()
                .enumerate()
                .map(|(i, v)| backend.requant(id, v, r).map_err(|e| out_of_range(i, e)))
                .collect::<Result<_, _>>()?,
        };
        values.push(out);
    }
    Ok(values)
}
