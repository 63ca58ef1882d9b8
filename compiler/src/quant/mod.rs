//! The fixed-point plan: every value is `round(x * 2^scale)`. This module decides each node's scale,
//! quantizes its constants, places the rescales (with ReLU fused into them) and bounds every integer
//! statically, so that nothing can wrap around the field.

pub mod eval;
pub mod walk;

use crate::error::{CompileError, Result};
use crate::ir::{BinaryKind, Graph, Node, Op};
use crate::tensor::{self, broadcast_index_map, transpose_index_map, Tensor};
use serde::{Deserialize, Serialize};

/// Accumulators must stay below this; the BN254 scalar field is ~2^254, so this leaves a wide margin.
pub const MAX_ACCUMULATOR_BITS: u32 = 100;

/// The scales the plan is built from (chosen by default at compile, by search at calibration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scales {
    /// Scale exponent of the model inputs and of every activation after a rescale.
    pub input: u32,
    /// Scale exponent of weights and other multiplicative constants.
    pub param: u32,
}

/// What the plan needs to know about the model inputs: the float range each may take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputRange {
    pub min: f64,
    pub max: f64,
}

#[derive(Clone, Debug)]
pub struct QuantPlan {
    pub nodes: Vec<QNode>,
}

#[derive(Clone, Debug)]
pub struct QNode {
    pub op: QOp,
    /// Rescale, ReLU and range check applied to every output element.
    pub requant: Option<Requant>,
    /// Scale exponent of the node's output.
    pub scale: u32,
    /// Largest absolute value any output element can take, given the input ranges.
    pub bound: i128,
}

#[derive(Clone, Debug)]
pub enum QOp {
    /// Model input `index`; its elements are range checked by the requant (shift 0).
    Input { index: usize },
    /// Each output element is a weighted sum of input elements plus a bias.
    Linear(Linear),
    /// Elementwise product: output i = in0[a[i]] * in1[b[i]].
    Mul { a: Vec<u32>, b: Vec<u32> },
    /// Output i = in0[map[i]] (reshape, transpose, a fused ReLU's pass-through).
    Copy { map: Vec<u32> },
}

/// Sparse rows: output i is `bias[i] + sum(terms[offsets[i]..offsets[i+1]])`.
#[derive(Clone, Debug, Default)]
pub struct Linear {
    pub offsets: Vec<u32>,
    pub terms: Vec<Term>,
    pub bias: Vec<i128>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Term {
    /// Which of the node's inputs.
    pub input: u8,
    pub index: u32,
    pub weight: i64,
}

impl Linear {
    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    pub fn row(&self, i: usize) -> &[Term] {
        &self.terms[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    fn push_row(&mut self, terms: impl IntoIterator<Item = Term>, bias: i128) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.terms.extend(terms);
        self.offsets.push(self.terms.len() as u32);
        self.bias.push(bias);
    }
}

/// `y = round_half_up(v / 2^shift)`, then `|y| < 2^bits` is checked, then ReLU if asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requant {
    pub shift: u32,
    pub relu: bool,
    pub bits: u32,
}

/// Number of bits needed to write `v` (so `v < 2^bit_len(v)`).
pub fn bit_len(v: u128) -> u32 {
    128 - v.leading_zeros()
}

pub fn quantize(x: f64, scale: u32) -> i128 {
    (x * (scale as f64).exp2()).round() as i128
}

/// Range bits measured by calibration, by node name; they replace the static bounds, which hold
/// for any input in range but are far wider than real data.
pub type RangeBits = std::collections::HashMap<String, u32>;

impl QuantPlan {
    /// The plan for these scales and input ranges; `bits` sets the range of a node's rescale.
    pub fn build(graph: &Graph, scales: &Scales, ranges: &[InputRange], bits: &RangeBits) -> Result<QuantPlan> {
        Self::build_inner(graph, scales, ranges, bits, true)
    }

    /// The same plan with no overflow check and ranges as wide as an i128 allows: for observing
    /// the values real data take before choosing ranges.
    pub fn build_unbounded(graph: &Graph, scales: &Scales, ranges: &[InputRange]) -> Result<QuantPlan> {
        let mut plan = Self::build_inner(graph, scales, ranges, &RangeBits::new(), false)?;
        for r in plan.nodes.iter_mut().filter_map(|q| q.requant.as_mut()) {
            r.bits = 100;
        }
        Ok(plan)
    }

    /// Check the no-overflow bound again with every rescaled value as wide as the circuit lets it
    /// be (|y| < 2^bits), not as the plan's ranges allow.
    pub fn check_capacity(&self, graph: &Graph, bits: u32) -> Result<()> {
        let mut widened: Vec<QNode> = Vec::with_capacity(self.nodes.len());
        for (node, q) in graph.nodes.iter().zip(&self.nodes) {
            let mut q = q.clone();
            q.bound = match (&q.op, q.requant) {
                (_, Some(_)) => (1i128 << bits.min(120)) - 1,
                (QOp::Linear(lin), None) => {
                    linear_bound(lin, &node.inputs.iter().map(|&i| widened[i].bound).collect::<Vec<_>>())
                }
                (QOp::Mul { .. }, None) => widened[node.inputs[0]].bound.saturating_mul(widened[node.inputs[1]].bound),
                (QOp::Copy { .. }, None) => widened[node.inputs[0]].bound,
                (QOp::Input { .. }, None) => q.bound,
            };
            check_no_overflow(node, &q, &widened)?;
            widened.push(q);
        }
        Ok(())
    }

    fn build_inner(
        graph: &Graph,
        scales: &Scales,
        ranges: &[InputRange],
        bits: &RangeBits,
        check: bool,
    ) -> Result<QuantPlan> {
        let mut nodes: Vec<QNode> = Vec::with_capacity(graph.nodes.len());
        for node in &graph.nodes {
            let in_shapes: Vec<&[usize]> = node.inputs.iter().map(|&i| graph.nodes[i].shape.as_slice()).collect();
            let mut q = plan_node(node, &in_shapes, &nodes, scales, ranges)?;
            if let (Some(r), Some(&b)) = (q.requant.as_mut(), bits.get(&node.name)) {
                // The circuit checks |y| < 2^b, so that is a sound bound downstream.
                r.bits = b;
                q.bound = (1i128 << b) - 1;
            }
            if check {
                check_no_overflow(node, &q, &nodes)?;
            }
            nodes.push(q);
        }
        fuse_relu(graph, &mut nodes);
        Ok(QuantPlan { nodes })
    }
}

fn plan_node(
    node: &Node,
    in_shapes: &[&[usize]],
    done: &[QNode],
    scales: &Scales,
    ranges: &[InputRange],
) -> Result<QNode> {
    let input = |i: usize| &done[node.inputs[i]];
    let (sp, sa) = (scales.param, scales.input);
    let requant_to = |acc_bound: i128, shift: u32, relu: bool| -> (Option<Requant>, i128) {
        let bound = rescaled_bound(acc_bound, shift);
        let requant = Requant { shift, relu, bits: bit_len(bound as u128) };
        (Some(requant), bound)
    };
    // A weighted sum at scale `acc_scale`, shifted down by `shift` when that is positive.
    let linear_node = |lin: Linear, acc_scale: u32, shift: u32| -> QNode {
        let acc = linear_bound(&lin, &node.inputs.iter().map(|&i| done[i].bound).collect::<Vec<_>>());
        let (requant, bound) = if shift > 0 { requant_to(acc, shift, false) } else { (None, acc) };
        QNode { op: QOp::Linear(lin), requant, scale: acc_scale - shift, bound }
    };
    Ok(match &node.op {
        Op::Input { index } => {
            let r = ranges
                .get(*index)
                .ok_or_else(|| CompileError::Plan(format!("no range given for model input {index}")))?;
            let bound = quantize(r.min.abs().max(r.max.abs()), sa).max(1);
            let requant = Requant { shift: 0, relu: false, bits: bit_len(bound as u128) };
            QNode { op: QOp::Input { index: *index }, requant: Some(requant), scale: sa, bound }
        }
        Op::MatMul { weight, bias } => {
            let sx = input(0).scale;
            let lin = matmul(&node.shape, weight, bias.as_deref(), sp, sx + sp);
            linear_node(lin, sx + sp, (sx + sp).saturating_sub(sa))
        }
        Op::Conv { weight, bias, strides, pads, dilations } => {
            let sx = input(0).scale;
            let lin =
                conv(in_shapes[0], &node.shape, weight, bias.as_deref(), *strides, *pads, *dilations, sp, sx + sp);
            linear_node(lin, sx + sp, (sx + sp).saturating_sub(sa))
        }
        Op::AvgPool { kernel, strides, pads, count_include_pad } => {
            let sx = input(0).scale;
            let (lin, shift) = avg_pool(in_shapes[0], &node.shape, kernel, strides, pads, *count_include_pad, sp);
            linear_node(lin, sx + shift, shift)
        }
        Op::Affine { mul, add } => {
            let sx = input(0).scale;
            let shift = if mul.is_some() { sp } else { 0 };
            let lin = affine(&node.shape, in_shapes[0], mul.as_ref(), add.as_ref(), sp, sx + shift);
            linear_node(lin, sx + shift, shift)
        }
        Op::Binary { kind: kind @ (BinaryKind::Add | BinaryKind::Sub) } => {
            let (a, b) = (input(0), input(1));
            let s = a.scale.max(b.scale);
            let sign = if *kind == BinaryKind::Sub { -1 } else { 1 };
            let (wa, wb) = (1i64 << (s - a.scale), sign * (1i64 << (s - b.scale)));
            let (ma, mb) = broadcast_maps(node, in_shapes);
            let mut lin = Linear::default();
            for (ia, ib) in ma.iter().zip(&mb) {
                let terms = [Term { input: 0, index: *ia, weight: wa }, Term { input: 1, index: *ib, weight: wb }];
                lin.push_row(terms, 0);
            }
            linear_node(lin, s, 0)
        }
        Op::Binary { kind: BinaryKind::Mul } => {
            let (a, b) = (input(0), input(1));
            let (ma, mb) = broadcast_maps(node, in_shapes);
            let s = a.scale + b.scale;
            let (requant, bound) = requant_to(a.bound.saturating_mul(b.bound), s.saturating_sub(sa), false);
            QNode { op: QOp::Mul { a: ma, b: mb }, requant, scale: s.min(sa), bound }
        }
        Op::Relu => {
            let x = input(0);
            let requant = Requant { shift: 0, relu: true, bits: bit_len(x.bound as u128) };
            let map = (0..node.shape.iter().product::<usize>() as u32).collect();
            QNode { op: QOp::Copy { map }, requant: Some(requant), scale: x.scale, bound: x.bound }
        }
        Op::Reshape => {
            let x = input(0);
            let map = (0..node.shape.iter().product::<usize>() as u32).collect();
            QNode { op: QOp::Copy { map }, requant: None, scale: x.scale, bound: x.bound }
        }
        Op::Gather { indices } => {
            let x = input(0);
            let map = indices.iter().map(|&i| i as u32).collect();
            QNode { op: QOp::Copy { map }, requant: None, scale: x.scale, bound: x.bound }
        }
        Op::Transpose { perm } => {
            let x = input(0);
            let map = transpose_index_map(in_shapes[0], perm).into_iter().map(|i| i as u32).collect();
            QNode { op: QOp::Copy { map }, requant: None, scale: x.scale, bound: x.bound }
        }
    })
}

fn broadcast_maps(node: &Node, in_shapes: &[&[usize]]) -> (Vec<u32>, Vec<u32>) {
    let to_u32 = |v: Vec<usize>| v.into_iter().map(|i| i as u32).collect();
    (to_u32(broadcast_index_map(in_shapes[0], &node.shape)), to_u32(broadcast_index_map(in_shapes[1], &node.shape)))
}

fn rescaled_bound(acc: i128, shift: u32) -> i128 {
    if shift == 0 {
        acc
    } else {
        acc.saturating_add(1i128 << (shift - 1)) >> shift
    }
}

fn linear_bound(lin: &Linear, input_bounds: &[i128]) -> i128 {
    (0..lin.outputs())
        .map(|i| {
            lin.row(i).iter().map(|t| (t.weight as i128).abs() * input_bounds[t.input as usize]).sum::<i128>()
                + lin.bias[i].abs()
        })
        .max()
        .unwrap_or(0)
}

fn check_no_overflow(node: &Node, q: &QNode, done: &[QNode]) -> Result<()> {
    let acc = match &q.op {
        QOp::Linear(lin) => linear_bound(lin, &node.inputs.iter().map(|&i| done[i].bound).collect::<Vec<_>>()),
        QOp::Mul { .. } => done[node.inputs[0]].bound.saturating_mul(done[node.inputs[1]].bound),
        _ => q.bound,
    };
    if acc >= 1i128 << MAX_ACCUMULATOR_BITS || acc < 0 {
        return Err(CompileError::Plan(format!(
            "node {} could overflow the field (values up to 2^{}); lower the scales or narrow the input range",
            node.name,
            bit_len(acc.unsigned_abs())
        )));
    }
    Ok(())
}

/// A ReLU whose input is rescaled anyway, and read by nothing else, becomes part of that rescale.
fn fuse_relu(graph: &Graph, nodes: &mut [QNode]) {
    let readers = graph.reader_counts();
    for (id, node) in graph.nodes.iter().enumerate() {
        if !matches!(node.op, Op::Relu) {
            continue;
        }
        let src = node.inputs[0];
        if readers[src] != 1 {
            continue;
        }
        if let Some(r) = nodes[src].requant.as_mut() {
            if !r.relu {
                r.relu = true;
                nodes[id].requant = None;
            }
        }
    }
}

fn matmul(out_shape: &[usize], weight: &Tensor<f64>, bias: Option<&[f64]>, sp: u32, sb: u32) -> Linear {
    let (k, n) = (weight.shape[0], weight.shape[1]);
    let rows: usize = out_shape.iter().product::<usize>() / n;
    let wq: Vec<i64> = weight.data.iter().map(|&w| quantize(w, sp) as i64).collect();
    let mut lin = Linear::default();
    for r in 0..rows {
        for j in 0..n {
            let terms = (0..k).filter(|&i| wq[i * n + j] != 0).map(|i| Term {
                input: 0,
                index: (r * k + i) as u32,
                weight: wq[i * n + j],
            });
            lin.push_row(terms, bias.map_or(0, |b| quantize(b[j], sb)));
        }
    }
    lin
}

#[allow(clippy::too_many_arguments)]
fn conv(
    in_shape: &[usize],
    out_shape: &[usize],
    weight: &Tensor<f64>,
    bias: Option<&[f64]>,
    strides: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
    sp: u32,
    sb: u32,
) -> Linear {
    let (oc, ic, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3]);
    let (h, w) = (in_shape[2] as isize, in_shape[3] as isize);
    let in_strides = tensor::strides(in_shape);
    let wq: Vec<i64> = weight.data.iter().map(|&x| quantize(x, sp) as i64).collect();
    let mut lin = Linear::default();
    for n in 0..out_shape[0] {
        for o in 0..oc {
            for oy in 0..out_shape[2] {
                for ox in 0..out_shape[3] {
                    let mut terms = vec![];
                    for c in 0..ic {
                        for ky in 0..kh {
                            let y = (oy * strides[0] + ky * dilations[0]) as isize - pads[0] as isize;
                            if y < 0 || y >= h {
                                continue;
                            }
                            for kx in 0..kw {
                                let x = (ox * strides[1] + kx * dilations[1]) as isize - pads[1] as isize;
                                let wv = wq[((o * ic + c) * kh + ky) * kw + kx];
                                if x < 0 || x >= w || wv == 0 {
                                    continue;
                                }
                                let idx =
                                    n * in_strides[0] + c * in_strides[1] + y as usize * in_strides[2] + x as usize;
                                terms.push(Term { input: 0, index: idx as u32, weight: wv });
                            }
                        }
                    }
                    lin.push_row(terms, bias.map_or(0, |b| quantize(b[o], sb)));
                }
            }
        }
    }
    lin
}

/// Average pooling as a weighted sum then a shift. A window of 2^e elements is an exact shift by e;
/// other counts multiply by round(2^sp / count) and shift by sp.
fn avg_pool(
    in_shape: &[usize],
    out_shape: &[usize],
    kernel: &[usize; 2],
    strides: &[usize; 2],
    pads: &[usize; 4],
    count_include_pad: bool,
    sp: u32,
) -> (Linear, u32) {
    let windows: Vec<(Vec<usize>, usize)> = tensor::pool_windows(in_shape, out_shape, *kernel, *strides, *pads, [1, 1])
        .into_iter()
        .map(|idx| {
            let count = if count_include_pad { kernel[0] * kernel[1] } else { idx.len() };
            (idx, count)
        })
        .collect();
    let first = windows.first().map_or(1, |w| w.1);
    let uniform_pow2 = first.is_power_of_two() && windows.iter().all(|w| w.1 == first);
    let shift = if uniform_pow2 { first.trailing_zeros() } else { sp };
    let mut lin = Linear::default();
    for (idx, count) in windows {
        let weight = if uniform_pow2 { 1 } else { ((1u64 << sp) as f64 / count as f64).round() as i64 };
        lin.push_row(idx.into_iter().map(|index| Term { input: 0, index: index as u32, weight }), 0);
    }
    (lin, shift)
}

fn affine(
    out_shape: &[usize],
    in_shape: &[usize],
    mul: Option<&Tensor<f64>>,
    add: Option<&Tensor<f64>>,
    sp: u32,
    s_add: u32,
) -> Linear {
    let total: usize = out_shape.iter().product();
    let xmap = broadcast_index_map(in_shape, out_shape);
    let mmap = mul.map(|m| broadcast_index_map(&m.shape, out_shape));
    let amap = add.map(|a| broadcast_index_map(&a.shape, out_shape));
    let mut lin = Linear::default();
    for i in 0..total {
        let weight = match (mul, &mmap) {
            (Some(m), Some(map)) => quantize(m.data[map[i]], sp) as i64,
            _ => 1,
        };
        let bias = match (add, &amap) {
            (Some(a), Some(map)) => quantize(a.data[map[i]], s_add),
            _ => 0,
        };
        let terms = (weight != 0).then_some(Term { input: 0, index: xmap[i] as u32, weight });
        lin.push_row(terms, bias);
    }
    lin
}

#[cfg(test)]
mod tests;
