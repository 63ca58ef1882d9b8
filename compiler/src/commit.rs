//! Commitments to a model's inputs and outputs: how the quantized values are packed and hashed.
//! This is the out-of-circuit definition (`zkonnx hash`, gen-witness and verify use it); the
//! lowering builds the same steps from the packing and Poseidon chips.
//!
//! The commitment of tensors t_1 .. t_m (quantized, flattened) is
//!   poseidon::hash(pack(t_1) ++ pack(t_2) ++ ... ++ pack(t_m))
//! with each tensor packed by its own `Packing`: an input by its declared range [lo, hi], an
//! output by the bound the plan proves for it ([-bound, bound]), a weight or bias tensor by its
//! signed width ([-2^(bits-1), 2^(bits-1))). The params commitment hashes the weights' scale
//! exponent first: Poseidon(scale, pack(W_1), pack(b_1), pack(W_2), ...), layers in graph order.

use crate::chips::pack::Packing;
use crate::chips::poseidon;
use crate::ir::Graph;
use crate::quant::{QOp, QuantPlan};
use halo2curves::bn256::Fr;

/// The packing of each model input, in order.
pub fn input_packings(graph: &Graph, plan: &QuantPlan) -> Vec<Packing> {
    graph
        .inputs()
        .filter_map(|(id, _)| match plan.nodes[id].op {
            QOp::Input { lo, hi, .. } => Some(Packing::of_range(lo, hi)),
            _ => None,
        })
        .collect()
}

/// The packing of each model output, in order: every output value is proven within its plan bound.
pub fn output_packings(graph: &Graph, plan: &QuantPlan) -> Vec<Packing> {
    graph.outputs.iter().map(|&o| Packing::of_range(-plan.nodes[o].bound, plan.nodes[o].bound)).collect()
}

/// The packing of each witnessed weight or bias tensor, in `QuantPlan::param_tensors` order.
pub fn param_packings(plan: &QuantPlan) -> Vec<Packing> {
    plan.param_tensors().map(|(_, t)| Packing::of_range(t.range().0, t.range().1)).collect()
}

/// The params commitment of a plan with witnessed weights.
pub fn params_commitment(plan: &QuantPlan) -> Fr {
    let mut message = vec![crate::chips::fe(plan.param_scale as i128)];
    for ((_, t), p) in plan.param_tensors().zip(param_packings(plan)) {
        message.extend(p.pack(&t.values));
    }
    poseidon::hash(&message)
}

/// The commitment of `tensors`, each packed by its packing.
pub fn commitment(tensors: &[Vec<i128>], packings: &[Packing]) -> Fr {
    let packed: Vec<Fr> = tensors.iter().zip(packings).flat_map(|(t, p)| p.pack(t)).collect();
    poseidon::hash(&packed)
}

/// How many field elements the commitment hashes.
pub fn packed_len(lens: &[usize], packings: &[Packing]) -> usize {
    lens.iter().zip(packings).map(|(&n, p)| n.div_ceil(p.per_element())).sum()
}

/// The field element as the 0x-prefixed big-endian hex string `zkonnx hash` and `verify` print.
pub fn to_hex(f: &Fr) -> String {
    format!("{f:?}")
}
