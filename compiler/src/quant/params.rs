//! Witnessed weights: with hashed params the weights and biases of MatMul, Conv and ConvTranspose
//! are advice cells, not fixed columns. The circuit then depends only on the architecture and on
//! each tensor's bit width, so one verifying key serves every set of weights within those widths,
//! and the proof's params commitment says which were used.
//!
//! Every other constant (elementwise factors, normalisation constants, function tables) stays in
//! the key: it belongs to the op, not to the trained weights.

use super::{Linear, QuantPlan};

/// Where the weights of MatMul, Conv and ConvTranspose live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Weights {
    /// In fixed columns of the verifying key; weights that quantize to zero are dropped.
    #[default]
    InKey,
    /// In advice cells, range checked and committed; every weight is kept (zeros too), so the rows
    /// are the same for any weights.
    Witness,
}

/// One quantized weight or bias tensor of a layer whose weights are witnessed.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamTensor {
    pub values: Vec<i128>,
    pub scale: u32,
    /// Signed width: every value v has -2^(bits-1) <= v < 2^(bits-1).
    pub bits: u32,
}

impl ParamTensor {
    /// The tensor of these values, as wide as they need.
    pub fn new(values: Vec<i128>, scale: u32) -> ParamTensor {
        let bits = values.iter().map(|&v| signed_bits(v)).max().unwrap_or(1);
        ParamTensor { values, scale, bits }
    }

    /// The smallest and largest value the width allows.
    pub fn range(&self) -> (i128, i128) {
        let half = 1i128 << (self.bits - 1);
        (-half, half - 1)
    }

    /// The largest magnitude the width allows (what the plan's bounds assume).
    pub fn max_abs(&self) -> i128 {
        1i128 << (self.bits - 1)
    }
}

/// The fewest signed bits that hold v.
pub fn signed_bits(v: i128) -> u32 {
    let magnitude = if v < 0 { (-(v + 1)) as u128 } else { v as u128 };
    super::bit_len(magnitude) + 1
}

/// A layer's witnessed weights and where its terms read them.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearParams {
    pub weight: ParamTensor,
    pub bias: Option<ParamTensor>,
    /// For each term of the layer's `Linear`: the index of its weight in `weight.values`.
    pub weight_of_term: Vec<u32>,
    /// For each output: the index of its bias in `bias.values`.
    pub bias_of_row: Vec<u32>,
}

impl LinearParams {
    /// The tensors, weight first.
    pub fn tensors(&self) -> impl Iterator<Item = &ParamTensor> {
        std::iter::once(&self.weight).chain(&self.bias)
    }

    fn tensors_mut(&mut self) -> impl Iterator<Item = &mut ParamTensor> {
        std::iter::once(&mut self.weight).chain(&mut self.bias)
    }
}

impl Linear {
    /// Write the layer's terms and biases from its parameter tensors.
    fn apply_params(&mut self) {
        let Some(p) = self.params.take() else { return };
        for (t, &w) in self.terms.iter_mut().zip(&p.weight_of_term) {
            t.weight = p.weight.values[w as usize] as i64;
        }
        if let Some(b) = &p.bias {
            for (bias, &i) in self.bias.iter_mut().zip(&p.bias_of_row) {
                *bias = b.values[i as usize];
            }
        }
        self.params = Some(p);
    }
}

impl QuantPlan {
    /// Every witnessed tensor, in node order, weight before bias: the order of the params
    /// commitment and of a witness's `params`.
    pub fn param_tensors(&self) -> impl Iterator<Item = (usize, &ParamTensor)> {
        self.nodes.iter().enumerate().flat_map(|(id, q)| match &q.op {
            super::QOp::Linear(Linear { params: Some(p), .. }) => p.tensors().map(|t| (id, t)).collect::<Vec<_>>(),
            _ => vec![],
        })
    }

    /// The witnessed weights of `graph` at these scales, flattened as `param_values` (no range or
    /// overflow checks: `with_params` checks the values against a compiled plan).
    pub fn param_values_of(
        graph: &crate::ir::Graph,
        scales: &super::Scales,
        ranges: &[super::InputRange],
    ) -> crate::error::Result<Vec<i128>> {
        let plan = Self::build_inner(
            graph,
            scales,
            ranges,
            &super::RangeBits::new(),
            Weights::Witness,
            false,
            super::Products::Skip,
        )?;
        Ok(plan.param_values())
    }

    /// Every witnessed value, flattened in `param_tensors` order.
    pub fn param_values(&self) -> Vec<i128> {
        self.param_tensors().flat_map(|(_, t)| t.values.iter().copied()).collect()
    }

    /// This plan with other weights (flattened as `param_values`): the same rows, bounds and
    /// widths, so the same circuit. Refused when the count differs or a value is wider than its
    /// tensor's width (`Err` names the tensor by its node and says by how many bits).
    pub fn with_params(&self, values: &[i128], node_name: impl Fn(usize) -> String) -> Result<QuantPlan, String> {
        let expected: usize = self.param_tensors().map(|(_, t)| t.values.len()).sum();
        if values.len() != expected {
            return Err(format!("{} weights given, the compiled model has {expected}", values.len()));
        }
        let mut plan = self.clone();
        let mut rest = values;
        for (id, q) in plan.nodes.iter_mut().enumerate() {
            let super::QOp::Linear(lin) = &mut q.op else { continue };
            let Some(p) = lin.params.as_mut() else { continue };
            for (k, t) in p.tensors_mut().enumerate() {
                let (head, tail) = rest.split_at(t.values.len());
                rest = tail;
                let (lo, hi) = t.range();
                let widest = head.iter().copied().max_by_key(|&v| signed_bits(v)).unwrap_or(0);
                if !(lo..=hi).contains(&widest) {
                    let kind = if k == 0 { "weights" } else { "biases" };
                    let need = signed_bits(widest);
                    return Err(format!(
                        "the {kind} of node {} need {need} bits (up to {widest} at scale 2^{}), {} more than the \
                         compiled plan's {}; compile and set up again with these weights",
                        node_name(id),
                        t.scale,
                        need - t.bits,
                        t.bits
                    ));
                }
                t.values = head.to_vec();
            }
            lin.apply_params();
        }
        Ok(plan)
    }
}
