//! Lowering: the quantized plan becomes chip instructions on a trace. The same code runs for
//! keygen (on zeros) and proving (on the input), so both see the same rows.

use super::shape::CircuitShape;
use super::trace::{Trace, Wire};
use crate::ir::Graph;
use crate::quant::eval::RangeError;
use crate::quant::{QOp, QuantPlan};

pub fn lower(graph: &Graph, plan: &QuantPlan, shape: CircuitShape, inputs: &[Vec<i128>]) -> Result<Trace, RangeError> {
    let mut t = Trace::new(shape);
    let mut wires: Vec<Vec<Wire>> = Vec::with_capacity(graph.nodes.len());
    for (node, q) in graph.nodes.iter().zip(&plan.nodes) {
        let out_of_range =
            |i: usize, e: crate::chips::requant::OutOfRange| RangeError::new(&node.name, i, e.value, e.bits, q.scale);
        let input = |i: usize| &wires[node.inputs[i]];
        let raw: Vec<Wire> = match &q.op {
            QOp::Input { index } => {
                let bits = q.requant.map_or(0, |r| r.bits);
                let out = inputs[*index]
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| t.input(v, bits).map_err(|e| out_of_range(i, e)))
                    .collect::<Result<_, _>>()?;
                wires.push(out);
                continue;
            }
            QOp::Linear(lin) => {
                let mut out = Vec::with_capacity(lin.outputs());
                let mut terms = vec![];
                for i in 0..lin.outputs() {
                    terms.clear();
                    terms.extend(lin.row(i).iter().map(|t| (input(t.input as usize)[t.index as usize], t.weight)));
                    out.push(match terms.as_slice() {
                        [(x, w)] => t.affine(*x, *w, lin.bias[i]),
                        _ => t.dot(&terms, lin.bias[i]),
                    });
                }
                out
            }
            QOp::Mul { a, b } => {
                a.iter().zip(b).map(|(&i, &j)| t.mul(input(0)[i as usize], input(1)[j as usize])).collect()
            }
            QOp::Copy { map } => map.iter().map(|&i| input(0)[i as usize]).collect(),
        };
        let out = match q.requant {
            None => raw,
            Some(r) => raw
                .iter()
                .enumerate()
                .map(|(i, &w)| t.requant(w, r).map_err(|e| out_of_range(i, e)))
                .collect::<Result<_, _>>()?,
        };
        wires.push(out);
    }
    for &o in &graph.outputs {
        for &w in &wires[o] {
            t.expose(w);
        }
    }
    Ok(t)
}

/// The wires of every node, for tests that compare the trace with the evaluator.
#[cfg(test)]
pub fn node_values(graph: &Graph, plan: &QuantPlan, shape: CircuitShape, inputs: &[Vec<i128>]) -> Vec<Vec<i128>> {
    // Re-run the lowering, exposing every node, and read the values back.
    let mut g = graph.clone();
    g.outputs = (0..graph.nodes.len()).collect();
    let t = lower(&g, plan, shape, inputs).unwrap();
    let mut values = t.public_values().into_iter();
    g.nodes.iter().map(|n| values.by_ref().take(n.shape.iter().product()).collect()).collect()
}
