//! Commitments to a model's inputs and outputs: how the quantized values are packed and hashed.
//! This is the out-of-circuit definition (`zkonnx hash`, gen-witness and verify use it); the
//! lowering builds the same steps from the packing and Poseidon chips.
//!
//! The commitment of tensors t_1 .. t_m (quantized, flattened) is
//!   poseidon::hash(pack(t_1) ++ pack(t_2) ++ ... ++ pack(t_m))
//! with each tensor packed by its own `Packing`: an input by its declared range [lo, hi], an
//! output by the bound the plan proves for it ([-bound, bound]).

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
