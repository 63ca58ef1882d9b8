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

use crate::chips::pack::{Packing, SlotError};
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

/// Why values cannot be committed: the message would not be the one the circuit hashes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    #[error("{given} tensors given, the commitment packs {expected}")]
    Count { given: usize, expected: usize },
    #[error("tensor {tensor}: {slot}")]
    Slot { tensor: usize, slot: SlotError },
}

/// The params commitment of a plan with witnessed weights.
pub fn params_commitment(plan: &QuantPlan) -> Result<Fr, CommitError> {
    let tensors: Vec<&[i128]> = plan.param_tensors().map(|(_, t)| &t.values[..]).collect();
    let mut message = vec![crate::chips::fe(plan.param_scale as i128)];
    message.extend(pack_all(&tensors, &param_packings(plan))?);
    Ok(poseidon::hash(&message))
}

/// The commitment of `tensors`, each packed by its packing (one tensor per packing, every value
/// in its slot, or an error: no value outside what the circuit proves is ever hashed).
pub fn commitment(tensors: &[Vec<i128>], packings: &[Packing]) -> Result<Fr, CommitError> {
    let tensors: Vec<&[i128]> = tensors.iter().map(|t| &t[..]).collect();
    Ok(poseidon::hash(&pack_all(&tensors, packings)?))
}

fn pack_all(tensors: &[&[i128]], packings: &[Packing]) -> Result<Vec<Fr>, CommitError> {
    if tensors.len() != packings.len() {
        return Err(CommitError::Count { given: tensors.len(), expected: packings.len() });
    }
    let mut packed = vec![];
    for (tensor, (t, p)) in tensors.iter().zip(packings).enumerate() {
        packed.extend(p.pack(t).map_err(|slot| CommitError::Slot { tensor, slot })?);
    }
    Ok(packed)
}

/// How many field elements the commitment hashes.
pub fn packed_len(lens: &[usize], packings: &[Packing]) -> usize {
    lens.iter().zip(packings).map(|(&n, p)| n.div_ceil(p.per_element())).sum()
}

/// The field element as the 0x-prefixed big-endian hex string `zkonnx hash` and `verify` print.
pub fn to_hex(f: &Fr) -> String {
    format!("{f:?}")
}
