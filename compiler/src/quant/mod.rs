//! The fixed-point plan: every value is `round(x * 2^scale)`. This module decides each node's scale,
//! quantizes its constants, places the rescales (with ReLU fused into them) and bounds every integer
//! statically, so that nothing can wrap around the field.

pub mod eval;
pub mod native;
pub mod params;
pub mod product;
pub mod table;
pub mod walk;

use crate::error::{CompileError, Result};
use crate::ir::{BinaryKind, Graph, InputKind, Node, Op, RoundMode};
use crate::tensor::{self, broadcast_index_map, transpose_index_map, Tensor};
use params::{LinearParams, ParamTensor, Weights};
use product::Product;
use serde::{Deserialize, Serialize};
use table::FuncTable;

/// Accumulators must stay below this; the BN254 scalar field is ~2^254, so this leaves a wide margin.
pub const MAX_ACCUMULATOR_BITS: u32 = 100;

/// The most terms (multiply-accumulates and copies) a plan may list.
pub const MAX_TERMS: u128 = 1 << 28;

/// The terms the plan of `graph` lists, from its shapes alone: per output element, a MatMul's
/// inner dimension, a convolution's kernel volume, a transposed convolution's fan-out per input.
pub fn planned_terms(graph: &Graph) -> u128 {
    let numel = |s: &[usize]| s.iter().map(|&d| d as u128).product::<u128>();
    graph
        .nodes
        .iter()
        .map(|n| {
            let out = numel(&n.shape);
            match &n.op {
                Op::MatMul { weight, .. } => out * weight.shape.first().copied().unwrap_or(1) as u128,
                Op::Conv { weight, .. } => out * numel(weight.shape.get(1..).unwrap_or(&[])),
                Op::ConvTranspose { weight, .. } => {
                    let input = n.inputs.first().map_or(0, |&i| numel(&graph.nodes[i].shape));
                    input * numel(weight.shape.get(1..).unwrap_or(&[]))
                }
                Op::Reduce { windows, .. } => windows.iter().map(|w| w.len() as u128).sum(),
                _ => out,
            }
        })
        .sum()
}

/// The largest scale exponent of inputs, activations and weights.
pub const MAX_SCALE: u32 = 16;

/// The scales the plan is built from (chosen by default at compile, by search at calibration).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scales {
    /// Scale exponent of the model inputs and of every activation after a rescale.
    pub input: u32,
    /// Scale exponent of weights and other multiplicative constants.
    pub param: u32,
    /// Function tables hold at most 2^table_bits entries; wider inputs are rescaled down first.
    #[serde(default = "default_table_bits")]
    pub table_bits: u32,
}

pub const DEFAULT_TABLE_BITS: u32 = 10;

/// Rescaled values of an uncalibrated plan are taken to stay below 2^16.
const UNCALIBRATED_RANGE_BITS: u32 = 16;

/// Lookup inputs of an uncalibrated plan are taken to stay below 2^5 = 32.
const UNCALIBRATED_LOOKUP_BITS: u32 = 5;

fn default_table_bits() -> u32 {
    DEFAULT_TABLE_BITS
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
    /// The function tables lookups use (`QOp::Lookup::table` indexes this).
    pub tables: Vec<FuncTable>,
    /// Where the layers' weights live.
    pub weights: Weights,
    /// The scale exponent of the weights (`Scales::param`).
    pub param_scale: u32,
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
    /// Model input `index`; every element is checked to lie in [lo, hi] (the declared float range,
    /// quantized).
    Input { index: usize, lo: i128, hi: i128 },
    /// Each output element is a weighted sum of input elements plus a bias.
    Linear(Linear),
    /// Elementwise product: output i = in0[a[i]] * in1[b[i]].
    Mul { a: Vec<u32>, b: Vec<u32> },
    /// Elementwise max (or min): output i = max(in0[a[i]], in1[b[i]]).
    Max { a: Vec<u32>, b: Vec<u32>, min: bool },
    /// Output i = element map[i] of the concatenation of every input followed by `consts`
    /// (reshape, transpose, slices, padding, a fused ReLU's pass-through).
    Copy { map: Vec<u32>, consts: Vec<i128> },
    /// x' = round(x / 2^reduce.shift) (no step when the shift is 0), then y = f(x') from
    /// `tables[table]`, whose domain is the check on x'. `input_bits` is the range of x the table
    /// was sized for (calibrated, or static).
    Lookup { reduce: Requant, table: usize, input_bits: u32, split: Option<ExpSplit> },
    /// q = round((k * a + c) / b), b > 0.
    Div(DivSpec),
    /// s = floor(sqrt(k * x + 1)), x >= 0.
    Sqrt { k: i128 },
}

/// An exp split in two lookups: `reduce` gives h = round(x / 2^d) for the lookup's table, l = x -
/// h 2^d is looked up in `lo_table`, and the product is rescaled by `out`.
#[derive(Clone, Copy, Debug)]
pub struct ExpSplit {
    pub lo_table: usize,
    pub out: Requant,
}

/// A division: inputs (a, b), or (b) alone when k = 0 (a reciprocal).
#[derive(Clone, Debug)]
pub struct DivSpec {
    /// Index maps into a and b (numpy broadcasting); `num` is None for a reciprocal.
    pub num: Option<Vec<u32>>,
    pub den: Vec<u32>,
    pub k: i128,
    pub c: i128,
}

/// Sparse rows: output i is `bias[i] + sum(terms[offsets[i]..offsets[i+1]])`.
#[derive(Clone, Debug, Default)]
pub struct Linear {
    pub offsets: Vec<u32>,
    pub terms: Vec<Term>,
    pub bias: Vec<i128>,
    /// With witnessed weights (`Weights::Witness`), the layer's weight tensors; `terms` and `bias`
    /// hold the same values, which the evaluator reads.
    pub params: Option<Box<LinearParams>>,
    /// With weights in the key, a convolution or batched MatMul as one matrix product (the same
    /// sums as the rows), which the circuit may prove by a random check instead of dot rows.
    pub product: Option<Box<Product>>,
    /// How many rows have each number of terms, computed once: the layout search asks for every
    /// width it tries, and a large model's layers hold millions of rows.
    lengths: std::sync::OnceLock<Vec<(usize, usize)>>,
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

    /// (terms in a row, rows with that many), by increasing length.
    pub fn row_lengths(&self) -> &[(usize, usize)] {
        self.lengths.get_or_init(|| {
            let mut counts = std::collections::BTreeMap::new();
            for w in self.offsets.windows(2) {
                *counts.entry((w[1] - w[0]) as usize).or_insert(0) += 1;
            }
            counts.into_iter().collect()
        })
    }

    pub(crate) fn push_row(&mut self, terms: impl IntoIterator<Item = Term>, bias: i128) {
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
    (x * pow2(scale as i32)).round() as i128
}

/// 2^e, exactly (no platform math library involved).
pub fn pow2(e: i32) -> f64 {
    libm::ldexp(1.0, e)
}

/// Range bits measured by calibration, by node name; they replace the static bounds, which hold
/// for any input in range but are far wider than real data.
pub type RangeBits = std::collections::HashMap<String, u32>;

impl QuantPlan {
    /// The plan for these scales and input ranges; `bits` sets the range of a node's rescale.
    pub fn build(
        graph: &Graph,
        scales: &Scales,
        ranges: &[InputRange],
        bits: &RangeBits,
        weights: Weights,
    ) -> Result<QuantPlan> {
        Self::build_caught(graph, scales, ranges, bits, weights, true, Products::Check)
    }

    /// `build` for calibration's candidates: each layer's matrix product is built but not
    /// checked against its rows (the chosen candidate is built again with `build`, which checks).
    pub fn build_candidate(
        graph: &Graph,
        scales: &Scales,
        ranges: &[InputRange],
        bits: &RangeBits,
        weights: Weights,
    ) -> Result<QuantPlan> {
        Self::build_caught(graph, scales, ranges, bits, weights, true, Products::Trust)
    }

    /// `build_inner`, with an internal check that fails (a graph whose constants and shapes
    /// disagree: a malformed model the frontend let through) as one line, never a panic.
    fn build_caught(
        graph: &Graph,
        scales: &Scales,
        ranges: &[InputRange],
        bits: &RangeBits,
        weights: Weights,
        check: bool,
        products: Products,
    ) -> Result<QuantPlan> {
        crate::panics::caught(|| Self::build_inner(graph, scales, ranges, bits, weights, check, products)).map_err(
            |why| {
                CompileError::Plan(format!("the model's shapes and constants disagree; it cannot be planned ({why})"))
            },
        )?
    }

    /// The same plan with no overflow check and ranges as wide as an i128 allows: for observing
    /// the values real data take before choosing ranges.
    pub fn build_unbounded(graph: &Graph, scales: &Scales, ranges: &[InputRange]) -> Result<QuantPlan> {
        let mut plan =
            Self::build_caught(graph, scales, ranges, &RangeBits::new(), Weights::InKey, false, Products::Skip)?;
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
                (QOp::Copy { .. }, None) => node.inputs.iter().map(|&i| widened[i].bound).max().unwrap_or(0),
                (QOp::Max { .. }, None) => widened[node.inputs[0]].bound.max(widened[node.inputs[1]].bound),
                // A split exp's output is the rescaled product of two table entries: bounded by
                // the tables, whatever range its last rescale allows.
                (QOp::Input { .. } | QOp::Lookup { .. } | QOp::Div(_) | QOp::Sqrt { .. }, None) => q.bound,
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
        weights: Weights,
        check: bool,
        products: Products,
    ) -> Result<QuantPlan> {
        // Constants are at most 2^40 (`ir::MAX_CONSTANT_ABS`): at these scales each quantizes
        // to an exact 64-bit integer.
        if scales.input > MAX_SCALE || scales.param > MAX_SCALE {
            return Err(CompileError::Plan(format!(
                "scales 2^{} (input) and 2^{} (weights): at most 2^{MAX_SCALE} each",
                scales.input, scales.param
            )));
        }
        // The plan lists every term of every sum: bound them before listing any.
        let terms = planned_terms(graph);
        if terms > MAX_TERMS {
            return Err(CompileError::Plan(format!(
                "the model's layers hold {terms} multiply-accumulates; zkonnx plans at most {MAX_TERMS} \
                 (about 16 bytes each in memory)"
            )));
        }
        let mut nodes: Vec<QNode> = Vec::with_capacity(graph.nodes.len());
        let mut tables: Vec<FuncTable> = vec![];
        for node in &graph.nodes {
            let in_shapes: Vec<&[usize]> = node.inputs.iter().map(|&i| graph.nodes[i].shape.as_slice()).collect();
            let ctx = NodeCtx { node, in_shapes: &in_shapes, done: &nodes, scales, ranges, weights, products };
            let mut q = match &node.op {
                Op::Func { f } => plan_lookup(&ctx, *f, bits.get(&node.name).copied(), !check, &mut tables),
                _ => plan_node(&ctx)?,
            };
            // Requants of a Step see values at its input's scale, not at its output's (0).
            let scale = q.scale.max(scales.input);
            if let Some(r) = q.requant.as_mut() {
                // The circuit checks |y| < 2^b, so that is a sound bound downstream. Without a
                // calibrated range, static bounds of deep models grow far past real data: cap them
                // (gen-witness refuses wider values and says to calibrate).
                let b = match bits.get(&node.name) {
                    Some(&b) => Some(b),
                    None if check && r.bits > scale + UNCALIBRATED_RANGE_BITS => Some(scale + UNCALIBRATED_RANGE_BITS),
                    None => None,
                };
                if let Some(b) = b {
                    // Both bounds hold (the static one follows from the inputs' ranges): keep the
                    // tighter, so a plan rebuilt from recorded bits is the plan that recorded them
                    // (a Step's output stays 1, whatever its range check allows).
                    r.bits = b;
                    q.bound = q.bound.min((1i128 << b) - 1);
                }
            }
            if check {
                check_no_overflow(node, &q, &nodes)?;
            }
            nodes.push(q);
        }
        fuse_relu(graph, &mut nodes);
        Ok(QuantPlan { nodes, tables, weights, param_scale: scales.param })
    }
}

/// What the plan builder does with a layer's matrix product (the shape a random check proves).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Products {
    /// Not built: a plan that only observes values.
    Skip,
    /// Built and checked to hold exactly the layer's rows: the plans settings are made from.
    Check,
    /// Built unchecked: calibration's candidates (only their layout cost reads it).
    Trust,
}

/// What planning one node needs: the node, its input shapes, the nodes planned so far.
struct NodeCtx<'a> {
    node: &'a Node,
    in_shapes: &'a [&'a [usize]],
    done: &'a [QNode],
    scales: &'a Scales,
    ranges: &'a [InputRange],
    weights: Weights,
    products: Products,
}

impl NodeCtx<'_> {
    /// A weighted sum at scale `acc_scale`, shifted down by `shift` when that is positive.
    fn linear_node(&self, lin: Linear, acc_scale: u32, shift: u32) -> QNode {
        let acc = linear_bound(&lin, &self.node.inputs.iter().map(|&i| self.done[i].bound).collect::<Vec<_>>());
        let (requant, bound) = if shift > 0 { requant_to(acc, shift, false) } else { (None, acc) };
        QNode { op: QOp::Linear(lin), requant, scale: acc_scale - shift, bound }
    }
}

/// A rescale by 2^shift of values up to `acc_bound`: the requant and the bound after it.
fn requant_to(acc_bound: i128, shift: u32, relu: bool) -> (Option<Requant>, i128) {
    let bound = rescaled_bound(acc_bound, shift);
    (Some(Requant { shift, relu, bits: bit_len(bound as u128) }), bound)
}

/// A lookup: reduce the input until its range fits a table of 2^table_bits rows, then look up.
/// `calibrated` is the measured range of the input (bits); `unbounded` plans for observation, with
/// no table limit. Exp of an input too wide for the table is split instead of coarsened (`ExpSplit`).
fn plan_lookup(
    ctx: &NodeCtx,
    func: crate::ir::Func,
    calibrated: Option<u32>,
    unbounded: bool,
    tables: &mut Vec<FuncTable>,
) -> QNode {
    let x = &ctx.done[ctx.node.inputs[0]];
    let sa = ctx.scales.input;
    let table_bits = ctx.scales.table_bits.clamp(2, 20);
    // The smallest shift after which the input's range fits the table, and the range left.
    let fit = |b: i128, min_shift: u32| -> Requant {
        let mut shift = min_shift;
        while bit_len(rescaled_bound(b, shift) as u128) > table_bits - 1 {
            shift += 1;
        }
        Requant { shift, relu: false, bits: bit_len(rescaled_bound(b, shift) as u128).max(1) }
    };
    let (reduce, input_bits) = if unbounded {
        (Requant { shift: 0, relu: false, bits: 100 }, 100)
    } else {
        // Without calibration the static bound is far wider than real data and would leave the
        // table too coarse: assume |x| < 32 (gen-witness refuses wider values and says to calibrate).
        let uncalibrated = || bit_len(x.bound as u128).min(x.scale + UNCALIBRATED_LOOKUP_BITS);
        let input_bits = calibrated.unwrap_or_else(uncalibrated).max(1);
        let b = (1i128 << input_bits.min(120)) - 1;
        let reduce = fit(b, input_bits.saturating_sub(table_bits - 1));
        // exp(h 2^d + l) = exp(h 2^d) exp(l): two tables of about 2^(input_bits / 2) entries keep
        // every bit of the input.
        if func == crate::ir::Func::Exp && reduce.shift > 0 && reduce.shift < table_bits {
            let d = input_bits.div_ceil(2).clamp(reduce.shift, table_bits - 1);
            return plan_exp_split(x, sa, input_bits, fit(b, d), tables);
        }
        (reduce, input_bits)
    };
    let domain = if unbounded { 1i128 << 100 } else { (1i128 << reduce.bits) - 1 };
    let table = FuncTable { func, in_exp: reduce.shift as i32 - x.scale as i32, out_scale: sa, bound: domain };
    let bound = table.max_abs();
    let index = intern(tables, table);
    QNode { op: QOp::Lookup { reduce, table: index, input_bits, split: None }, requant: None, scale: sa, bound }
}

/// exp(x) = exp(h 2^d) exp(l) with h = round(x / 2^d) (the `hi` rescale) and l = x - h 2^d in
/// [-2^(d-1), 2^(d-1)]: a table for each part, their product rescaled to the activation scale.
fn plan_exp_split(x: &QNode, sa: u32, input_bits: u32, hi: Requant, tables: &mut Vec<FuncTable>) -> QNode {
    let exp = |in_exp: i32, bound: i128| FuncTable { func: crate::ir::Func::Exp, in_exp, out_scale: sa, bound };
    let hi_table = exp(hi.shift as i32 - x.scale as i32, (1i128 << hi.bits) - 1);
    let lo_table = exp(-(x.scale as i32), 1i128 << (hi.shift - 1));
    let product = hi_table.max_abs().saturating_mul(lo_table.max_abs());
    let bound = rescaled_bound(product, sa);
    let out = Requant { shift: sa, relu: false, bits: bit_len(bound as u128).max(1) };
    let (table, lo) = (intern(tables, hi_table), intern(tables, lo_table));
    let split = Some(ExpSplit { lo_table: lo, out });
    QNode { op: QOp::Lookup { reduce: hi, table, input_bits, split }, requant: None, scale: sa, bound }
}

/// The index of `table` in `tables`, adding it if new.
fn intern(tables: &mut Vec<FuncTable>, table: FuncTable) -> usize {
    match tables.iter().position(|t| *t == table) {
        Some(i) => i,
        None => {
            tables.push(table);
            tables.len() - 1
        }
    }
}

fn plan_node(ctx: &NodeCtx) -> Result<QNode> {
    let NodeCtx { node, in_shapes, done, scales, weights, products, .. } = *ctx;
    let keep_zeros = weights == Weights::Witness;
    let input = |i: usize| &done[node.inputs[i]];
    let (sp, sa) = (scales.param, scales.input);
    let linear_node = |lin, acc_scale, shift| ctx.linear_node(lin, acc_scale, shift);
    Ok(match &node.op {
        Op::Input { index, kind } => plan_input(ctx, *index, kind)?,
        Op::MatMul { weight, bias } => {
            let sx = input(0).scale;
            let rows = matmul(&node.shape, weight, keep_zeros, sp);
            let mut lin = rows.into_linear(weights, weight, bias.as_deref(), sp, sx + sp);
            let (n, m) = (weight.shape[0], weight.shape[1]);
            let batch = node.shape.iter().product::<usize>() / m.max(1);
            if weights == Weights::InKey && batch > 1 && products != Products::Skip {
                let product = Product::of_matmul(batch, n, m, &quantized(weight, sp), row_biases(&lin, m, |i| i));
                lin.product = (products == Products::Trust || product.matches(&lin)).then(|| Box::new(product));
            }
            linear_node(lin, sx + sp, (sx + sp).saturating_sub(sa))
        }
        Op::Conv { weight, bias, strides, pads, dilations, group } => {
            let geo = ConvGeometry { strides: *strides, pads: *pads, dilations: *dilations, group: *group };
            plan_conv(ctx, weight, bias.as_deref(), geo)?
        }
        Op::ConvTranspose { weight, bias, strides, pads, dilations } => {
            let sx = input(0).scale;
            let geo = ConvGeometry { strides: *strides, pads: *pads, dilations: *dilations, group: 1 };
            let rows = conv_transpose(in_shapes[0], &node.shape, weight, &geo, keep_zeros, sp);
            linear_node(
                rows.into_linear(weights, weight, bias.as_deref(), sp, sx + sp),
                sx + sp,
                (sx + sp).saturating_sub(sa),
            )
        }
        Op::AvgPool { kernel, strides, pads, dilations, count_include_pad } => {
            let sx = input(0).scale;
            let geo = ConvGeometry { strides: *strides, pads: *pads, dilations: *dilations, group: 1 };
            let (lin, shift) = avg_pool(in_shapes[0], &node.shape, kernel, &geo, *count_include_pad, sp);
            linear_node(lin, sx + shift, shift)
        }
        Op::Affine { mul, add } => plan_affine(ctx, mul.as_ref(), add.as_ref()),
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
        Op::Binary { kind: kind @ (BinaryKind::Max | BinaryKind::Min) } => {
            let (a, b) = (input(0), input(1));
            if a.scale != b.scale {
                return Err(CompileError::Plan(format!(
                    "node {}: max/min of values at different scales (2^{} and 2^{}) is not supported",
                    node.name, a.scale, b.scale
                )));
            }
            let (ma, mb) = broadcast_maps(node, in_shapes);
            let op = QOp::Max { a: ma, b: mb, min: *kind == BinaryKind::Min };
            QNode { op, requant: None, scale: a.scale, bound: a.bound.max(b.bound) }
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
            QNode {
                op: QOp::Copy { map: identity(node), consts: vec![] },
                requant: Some(requant),
                scale: x.scale,
                bound: x.bound,
            }
        }
        Op::Reshape => {
            let x = input(0);
            QNode {
                op: QOp::Copy { map: identity(node), consts: vec![] },
                requant: None,
                scale: x.scale,
                bound: x.bound,
            }
        }
        Op::Gather { indices, consts } => plan_gather(ctx, indices, consts)?,
        Op::Transpose { perm } => {
            let x = input(0);
            let map = transpose_index_map(in_shapes[0], perm).into_iter().map(|i| i as u32).collect();
            QNode { op: QOp::Copy { map, consts: vec![] }, requant: None, scale: x.scale, bound: x.bound }
        }
        Op::Products { a, b } => {
            let (x, y) = (input(0), input(1));
            let to_u32 = |v: &[usize]| v.iter().map(|&i| i as u32).collect();
            let bound = x.bound.saturating_mul(y.bound);
            QNode { op: QOp::Mul { a: to_u32(a), b: to_u32(b) }, requant: None, scale: x.scale + y.scale, bound }
        }
        Op::Reduce { windows, mean } => plan_reduce(ctx, windows, *mean)?,
        Op::Round { mode } => {
            // To scale 0: the rescale by 2^s rounds half up; a bias turns it into floor or ceil.
            let s = input(0).scale;
            let half = if s > 0 { 1i128 << (s - 1) } else { 0 };
            let bias = match mode {
                RoundMode::Floor => -half,
                RoundMode::Ceil => (half - 1).max(0),
                RoundMode::Nearest => 0,
            };
            let mut lin = Linear::default();
            for i in 0..node.shape.iter().product::<usize>() {
                lin.push_row([Term { input: 0, index: i as u32, weight: 1 }], bias);
            }
            linear_node(lin, s, s)
        }
        Op::Sqrt => {
            // sqrt(x / 2^sx) * 2^sa = sqrt(x * 2^(2 sa - sx)).
            let x = input(0);
            let e = (2 * sa).checked_sub(x.scale).ok_or_else(|| {
                CompileError::Plan(format!("node {}: the input's scale is too large for a square root", node.name))
            })?;
            let k = 1i128 << e;
            let bound = native::isqrt(x.bound, k).map_or(1, |(s, _)| s + 1);
            let requant = Requant { shift: 0, relu: false, bits: bit_len(bound as u128) };
            QNode { op: QOp::Sqrt { k }, requant: Some(requant), scale: sa, bound }
        }
        Op::Step => {
            // relu(e + 1) at the integer level is 1 where e >= 0 and 0 below, for e <= 0.
            let x = input(0);
            let mut lin = Linear::default();
            for i in 0..node.shape.iter().product::<usize>() {
                lin.push_row([Term { input: 0, index: i as u32, weight: 1 }], 1);
            }
            let requant = Requant { shift: 0, relu: true, bits: bit_len(x.bound as u128 + 1) };
            QNode { op: QOp::Linear(lin), requant: Some(requant), scale: 0, bound: 1 }
        }
        Op::SplitMargin { thresholds, at_most } => plan_split_margin(ctx, thresholds, at_most)?,
        Op::Div { max } => plan_div(ctx, *max)?,
        Op::Func { f } => {
            return Err(CompileError::Plan(format!("node {}: {} must be planned as a lookup", node.name, f.name())))
        }
    })
}

/// A constant factor and offset (elementwise, broadcast).
fn plan_affine(ctx: &NodeCtx, mul: Option<&Tensor<f64>>, add: Option<&Tensor<f64>>) -> QNode {
    let NodeCtx { node, in_shapes, done, scales, .. } = *ctx;
    let (sp, sa) = (scales.param, scales.input);
    let input = |i: usize| &done[node.inputs[i]];
    // A value below the activations' scale (a whole number from Floor, Round or a
    // comparison, at scale 0) is lifted to it by an exact factor 2^lift, so a fractional
    // factor or offset keeps its fraction (floor(x) * 0.5 is not rounded back to whole).
    // Whole factors and offsets are exact at any scale: no lift, no extra cost.
    let sx = input(0).scale;
    let whole = |t: Option<&Tensor<f64>>| t.is_none_or(|t| t.data.iter().all(|v| v.fract() == 0.0));
    let lift = if whole(mul) && whole(add) { 0 } else { sa.saturating_sub(sx) };
    let shift = if mul.is_some() { sp } else { 0 };
    let lin = affine(&node.shape, in_shapes[0], mul, add, shift + lift, sx + lift + shift);
    ctx.linear_node(lin, sx + lift + shift, shift)
}

/// The range a model input is proven in, at its kind's scale.
fn plan_input(ctx: &NodeCtx, index: usize, kind: &InputKind) -> Result<QNode> {
    let NodeCtx { scales, ranges, .. } = *ctx;
    let sa = scales.input;
    let r = ranges.get(index).ok_or_else(|| CompileError::Plan(format!("no range given for model input {index}")))?;
    let s = kind.scale(sa);
    // An integer input's range is whole numbers: inward, so every value in it is one.
    let (lo, hi) = match kind {
        InputKind::Real => (quantize(r.min, s), quantize(r.max, s)),
        InputKind::Integer { .. } => (r.min.ceil() as i128, r.max.floor() as i128),
    };
    if lo > hi {
        return Err(CompileError::Plan(format!("the range of model input {index} is empty ([{}, {}])", r.min, r.max)));
    }
    Ok(QNode { op: QOp::Input { index, lo, hi }, requant: None, scale: s, bound: lo.abs().max(hi.abs()) })
}

/// A convolution's rows, and its random-check product where one applies.
fn plan_conv(ctx: &NodeCtx, weight: &Tensor<f64>, bias: Option<&[f64]>, geo: ConvGeometry) -> Result<QNode> {
    let NodeCtx { node, in_shapes, done, scales, weights, products, .. } = *ctx;
    let keep_zeros = weights == Weights::Witness;
    let input = |i: usize| &done[node.inputs[i]];
    let (sp, sa) = (scales.param, scales.input);
    let linear_node = |lin, acc_scale, shift| ctx.linear_node(lin, acc_scale, shift);
    let sx = input(0).scale;
    let rows = conv(in_shapes[0], &node.shape, weight, &geo, keep_zeros, sp);
    let mut lin = rows.into_linear(weights, weight, bias, sp, sx + sp);
    if weights == Weights::InKey
        && geo.group == 1
        && in_shapes[0].len() == 4
        && weight.shape.len() == 4
        && products != Products::Skip
    {
        let kernel = [weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3]];
        let positions = node.shape[2] * node.shape[3];
        let bias = row_biases(&lin, kernel[0], |i| i * positions);
        let product = Product::of_conv(
            in_shapes[0],
            &node.shape,
            kernel,
            geo.strides,
            geo.pads,
            geo.dilations,
            quantized(weight, sp),
            bias,
        );
        lin.product = (products == Products::Trust || product.matches(&lin)).then(|| Box::new(product));
    }
    Ok(linear_node(lin, sx + sp, (sx + sp).saturating_sub(sa)))
}

/// A copy; inputs at different scales are first brought to the largest.
fn plan_gather(ctx: &NodeCtx, indices: &[usize], consts: &[f64]) -> Result<QNode> {
    let NodeCtx { node, in_shapes, done, scales, .. } = *ctx;
    let sa = scales.input;
    let linear_node = |lin, acc_scale, shift| ctx.linear_node(lin, acc_scale, shift);
    let s = node.inputs.iter().map(|&i| done[i].scale).max().unwrap_or(sa);
    let qconsts: Vec<i128> = consts.iter().map(|&c| quantize(c, s)).collect();
    if node.inputs.iter().all(|&i| done[i].scale == s) {
        let bound =
            node.inputs.iter().map(|&i| done[i].bound).chain(qconsts.iter().map(|c| c.abs())).max().unwrap_or(0);
        let map = indices.iter().map(|&i| i as u32).collect();
        return Ok(QNode { op: QOp::Copy { map, consts: qconsts }, requant: None, scale: s, bound });
    }
    // Inputs at different scales (an integer index next to activations): each element is
    // brought to the largest scale by a constant factor, a proven affine op.
    let sizes: Vec<usize> = in_shapes.iter().map(|sh| sh.iter().product()).collect();
    let mut lin = Linear::default();
    for &i in indices {
        let (mut k, mut local) = (0, i);
        while k < sizes.len() && local >= sizes[k] {
            local -= sizes[k];
            k += 1;
        }
        match sizes.get(k) {
            Some(_) => {
                let weight = 1i64 << (s - done[node.inputs[k]].scale);
                lin.push_row([Term { input: k as u8, index: local as u32, weight }], 0)
            }
            None => lin.push_row([], qconsts[local]),
        }
    }
    Ok(linear_node(lin, s, 0))
}

/// Sums and means over windows.
fn plan_reduce(ctx: &NodeCtx, windows: &[Vec<usize>], mean: bool) -> Result<QNode> {
    let NodeCtx { node, done, scales, .. } = *ctx;
    let input = |i: usize| &done[node.inputs[i]];
    let (sp, sa) = (scales.param, scales.input);
    let linear_node = |lin, acc_scale, shift| ctx.linear_node(lin, acc_scale, shift);
    // A mean over windows of 2^e elements each is an exact shift by e; otherwise each row
    // weighs its terms by the reciprocal of its own length at the largest's precision.
    let sx = input(0).scale;
    let first = windows.first().map_or(1, |w| w.len()).max(1);
    let shift_only = windows.iter().all(|w| w.len().max(1) == first) && first.is_power_of_two();
    let largest = windows.iter().map(|w| w.len()).max().unwrap_or(1).max(1);
    let extra = match (mean, shift_only) {
        (false, _) => 0,
        (true, true) => first.trailing_zeros(),
        (true, false) => reciprocal(largest, sp).1,
    };
    let mut lin = Linear::default();
    for w in windows {
        let weight = if !mean || shift_only { 1 } else { reciprocal_at(w.len().max(1), extra) };
        lin.push_row(w.iter().map(|&index| Term { input: 0, index: index as u32, weight }), 0);
    }
    Ok(linear_node(lin, sx + extra, (sx + extra).saturating_sub(sa)))
}

/// The margins of tree splits.
fn plan_split_margin(ctx: &NodeCtx, thresholds: &[f64], at_most: &[bool]) -> Result<QNode> {
    let NodeCtx { node, done, .. } = *ctx;
    let input = |i: usize| &done[node.inputs[i]];
    let linear_node = |lin, acc_scale, shift| ctx.linear_node(lin, acc_scale, shift);
    // The threshold at x's scale, rounded so that the margin's sign decides the test on
    // every quantized value as the float test does on the value it stands for: x <= t
    // iff x_q <= floor(t 2^s); x >= t iff x_q >= ceil(t 2^s). Thresholds beyond what x
    // can reach are clamped there (the test keeps its answer).
    let x = input(0);
    let n = thresholds.len();
    if n == 0 || at_most.len() != n || node.shape.iter().product::<usize>() % n != 0 {
        return Err(CompileError::Plan(format!("node {}: its thresholds do not fit its input", node.name)));
    }
    let reach = x.bound + 1;
    let mut lin = Linear::default();
    for i in 0..node.shape.iter().product::<usize>() {
        let j = i % n;
        let t = (thresholds[j] * pow2(x.scale as i32)).clamp(-(reach as f64), reach as f64);
        let term = |weight| [Term { input: 0, index: i as u32, weight }];
        if at_most[j] {
            lin.push_row(term(1), -(t.floor() as i128));
        } else {
            lin.push_row(term(-1), t.ceil() as i128);
        }
    }
    Ok(linear_node(lin, x.scale, 0))
}

/// A division: the rounded quotient at the activations' scale.
fn plan_div(ctx: &NodeCtx, max: Option<f64>) -> Result<QNode> {
    let NodeCtx { node, in_shapes, done, scales, .. } = *ctx;
    let input = |i: usize| &done[node.inputs[i]];
    let sa = scales.input;
    let (num, den) = match node.inputs.len() {
        1 => (None, input(0)),
        _ => (Some(input(0)), input(1)),
    };
    let (na, nb) = match num {
        Some(_) => {
            let (ma, mb) = broadcast_maps(node, in_shapes);
            (Some(ma), mb)
        }
        None => (None, identity(node)),
    };
    // q = a / b at scale sa: q_int = a_int * 2^(sa + s_b - s_a) / b_int.
    let (k, c, num_bound) = match num {
        Some(a) => {
            let e = (sa + den.scale).checked_sub(a.scale).ok_or_else(|| {
                CompileError::Plan(format!("node {}: the dividend's scale is too large to divide", node.name))
            })?;
            (1i128 << e, 0, a.bound.saturating_mul(1i128 << e))
        }
        None => (0, 1i128 << (sa + den.scale), 1i128 << (sa + den.scale)),
    };
    // The rounded quotient exceeds |a / b| by at most 1/2 (in integers).
    let known = max.map(|m| quantize(m, sa) + 1);
    let bound = known.map_or(num_bound.saturating_add(1), |m| m.min(num_bound.saturating_add(1)));
    let requant = Requant { shift: 0, relu: false, bits: bit_len(bound as u128) };
    Ok(QNode { op: QOp::Div(DivSpec { num: na, den: nb, k, c }), requant: Some(requant), scale: sa, bound })
}

fn identity(node: &Node) -> Vec<u32> {
    (0..node.shape.iter().product::<usize>() as u32).collect()
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

/// The largest |output| of a weighted sum. Witnessed weights count at the largest magnitude their
/// width allows, so the bound holds for any weights a proof may use.
fn linear_bound(lin: &Linear, input_bounds: &[i128]) -> i128 {
    let weight = |t: &Term| lin.params.as_ref().map_or((t.weight as i128).abs(), |p| p.weight.max_abs());
    let bias = |i: usize| match lin.params.as_deref() {
        Some(LinearParams { bias: Some(b), .. }) => b.max_abs(),
        _ => lin.bias[i].abs(),
    };
    (0..lin.outputs())
        .map(|i| {
            lin.row(i)
                .iter()
                .map(|t| weight(t).saturating_mul(input_bounds[t.input as usize]))
                .fold(bias(i), i128::saturating_add)
        })
        .max()
        .unwrap_or(0)
}

fn check_no_overflow(node: &Node, q: &QNode, done: &[QNode]) -> Result<()> {
    let acc = match &q.op {
        QOp::Linear(lin) => linear_bound(lin, &node.inputs.iter().map(|&i| done[i].bound).collect::<Vec<_>>()),
        QOp::Mul { .. } => done[node.inputs[0]].bound.saturating_mul(done[node.inputs[1]].bound),
        QOp::Sqrt { k } => {
            k.saturating_mul(done[node.inputs[0]].bound).saturating_add(1).max(q.bound.saturating_mul(q.bound))
        }
        QOp::Div(d) => {
            // 2k a + 2c + b = 2b q + r: every term of the gate.
            let b = done[*node.inputs.last().unwrap_or(&0)].bound;
            let a = if d.num.is_some() { done[node.inputs[0]].bound } else { 0 };
            let lhs = d.k.saturating_mul(a).saturating_add(d.c).saturating_mul(2).saturating_add(b);
            lhs.max(b.saturating_mul(q.bound).saturating_mul(2))
        }
        _ => q.bound,
    };
    if !(0..1i128 << MAX_ACCUMULATOR_BITS).contains(&acc) {
        return Err(CompileError::Overflow { node: node.name.clone(), bits: bit_len(acc.unsigned_abs()) });
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
        // A model input's range check is not a rescale that can carry the ReLU: its value is the
        // input itself.
        if readers[src] != 1 || matches!(nodes[src].op, QOp::Input { .. }) {
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

/// A weighted layer's rows before its weights are placed: each term's weight index in the weight
/// tensor, each output's bias index in the bias tensor.
struct LayerRows {
    offsets: Vec<u32>,
    terms: Vec<(u32, u32)>,
    bias_of_row: Vec<u32>,
}

impl LayerRows {
    fn new() -> Self {
        LayerRows { offsets: vec![0], terms: vec![], bias_of_row: vec![] }
    }

    /// One output: (input element, weight index) terms and the bias index.
    fn push(&mut self, terms: impl IntoIterator<Item = (u32, u32)>, bias: u32) {
        self.terms.extend(terms);
        self.offsets.push(self.terms.len() as u32);
        self.bias_of_row.push(bias);
    }

    /// The `Linear` with the quantized weights and biases in its terms and, when the weights are
    /// witnessed, the tensors they come from.
    fn into_linear(self, weights: Weights, w: &Tensor<f64>, bias: Option<&[f64]>, sp: u32, sb: u32) -> Linear {
        let wq: Vec<i128> = w.data.iter().map(|&x| quantize(x, sp)).collect();
        let bq: Option<Vec<i128>> = bias.map(|b| b.iter().map(|&x| quantize(x, sb)).collect());
        let terms = self.terms.iter().map(|&(index, wi)| Term { input: 0, index, weight: wq[wi as usize] as i64 });
        let bias_values = self.bias_of_row.iter().map(|&b| bq.as_ref().map_or(0, |bq| bq[b as usize])).collect();
        let params = (weights == Weights::Witness).then(|| {
            Box::new(LinearParams {
                weight: ParamTensor::new(wq.clone(), sp),
                bias: bq.clone().map(|b| ParamTensor::new(b, sb)),
                weight_of_term: self.terms.iter().map(|&(_, wi)| wi).collect(),
                bias_of_row: self.bias_of_row.clone(),
            })
        });
        Linear { offsets: self.offsets, terms: terms.collect(), bias: bias_values, params, ..Default::default() }
    }
}

/// A layer's weighted sums, every weight kept: per output, (input element, weight index) terms
/// and its bias index (MatMul, Conv, ConvTranspose; None for other ops). The float evaluator
/// reads the same geometry the plan does.
pub(crate) fn layer_terms(node: &Node, in_shape: &[usize]) -> Option<(Vec<u32>, Vec<(u32, u32)>, Vec<u32>)> {
    let rows = match &node.op {
        Op::MatMul { weight, .. } => matmul(&node.shape, weight, true, 0),
        Op::Conv { weight, strides, pads, dilations, group, .. } => {
            let geo = ConvGeometry { strides: *strides, pads: *pads, dilations: *dilations, group: *group };
            conv(in_shape, &node.shape, weight, &geo, true, 0)
        }
        Op::ConvTranspose { weight, strides, pads, dilations, .. } => {
            let geo = ConvGeometry { strides: *strides, pads: *pads, dilations: *dilations, group: 1 };
            conv_transpose(in_shape, &node.shape, weight, &geo, true, 0)
        }
        _ => return None,
    };
    Some((rows.offsets, rows.terms, rows.bias_of_row))
}

/// The bias of each of a product's `m` output rows: the layer's bias at output `first(i)`.
fn row_biases(lin: &Linear, m: usize, first: impl Fn(usize) -> usize) -> Vec<i128> {
    (0..m).map(|i| lin.bias.get(first(i)).copied().unwrap_or(0)).collect()
}

/// Whether a weight index contributes a term: zeros are dropped unless the weights are witnessed.
fn nonzero(wq: &[i64], keep_zeros: bool) -> impl Fn(usize) -> bool + '_ {
    move |i| keep_zeros || wq[i] != 0
}

fn quantized(weight: &Tensor<f64>, sp: u32) -> Vec<i64> {
    weight.data.iter().map(|&w| quantize(w, sp) as i64).collect()
}

fn matmul(out_shape: &[usize], weight: &Tensor<f64>, keep_zeros: bool, sp: u32) -> LayerRows {
    let (k, n) = (weight.shape[0], weight.shape[1]);
    let rows: usize = out_shape.iter().product::<usize>() / n;
    let wq = quantized(weight, sp);
    let used = nonzero(&wq, keep_zeros);
    let mut out = LayerRows::new();
    for r in 0..rows {
        for j in 0..n {
            let terms = (0..k).filter(|&i| used(i * n + j)).map(|i| ((r * k + i) as u32, (i * n + j) as u32));
            out.push(terms, j as u32);
        }
    }
    out
}

struct ConvGeometry {
    strides: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
    group: usize,
}

fn conv(
    in_shape: &[usize],
    out_shape: &[usize],
    weight: &Tensor<f64>,
    geo: &ConvGeometry,
    keep_zeros: bool,
    sp: u32,
) -> LayerRows {
    let (oc, icg, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3]);
    let per_group = oc / geo.group.max(1);
    let (h, w) = (in_shape[2] as isize, in_shape[3] as isize);
    let in_strides = tensor::strides(in_shape);
    let wq = quantized(weight, sp);
    let used = nonzero(&wq, keep_zeros);
    let mut out = LayerRows::new();
    for n in 0..out_shape[0] {
        for o in 0..oc {
            let first_channel = (o / per_group) * icg;
            for oy in 0..out_shape[2] {
                for ox in 0..out_shape[3] {
                    let mut terms = vec![];
                    for c in 0..icg {
                        for ky in 0..kh {
                            let y = (oy * geo.strides[0] + ky * geo.dilations[0]) as isize - geo.pads[0] as isize;
                            if y < 0 || y >= h {
                                continue;
                            }
                            for kx in 0..kw {
                                let x = (ox * geo.strides[1] + kx * geo.dilations[1]) as isize - geo.pads[1] as isize;
                                let wi = ((o * icg + c) * kh + ky) * kw + kx;
                                if x < 0 || x >= w || !used(wi) {
                                    continue;
                                }
                                let idx = n * in_strides[0]
                                    + (first_channel + c) * in_strides[1]
                                    + y as usize * in_strides[2]
                                    + x as usize;
                                terms.push((idx as u32, wi as u32));
                            }
                        }
                    }
                    out.push(terms, o as u32);
                }
            }
        }
    }
    out
}

/// Transposed convolution: every input pixel scatters weight * x into the output; gathered here
/// per output element.
fn conv_transpose(
    in_shape: &[usize],
    out_shape: &[usize],
    weight: &Tensor<f64>,
    geo: &ConvGeometry,
    keep_zeros: bool,
    sp: u32,
) -> LayerRows {
    let (ic, oc, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3]);
    let (oh, ow) = (out_shape[2], out_shape[3]);
    let in_strides = tensor::strides(in_shape);
    let wq = quantized(weight, sp);
    let used = nonzero(&wq, keep_zeros);
    let mut rows: Vec<Vec<(u32, u32)>> = vec![vec![]; out_shape.iter().product()];
    for n in 0..in_shape[0] {
        for c in 0..ic {
            for iy in 0..in_shape[2] {
                for ix in 0..in_shape[3] {
                    for o in 0..oc {
                        for ky in 0..kh {
                            let y = (iy * geo.strides[0] + ky * geo.dilations[0]) as isize - geo.pads[0] as isize;
                            if y < 0 || y >= oh as isize {
                                continue;
                            }
                            for kx in 0..kw {
                                let x = (ix * geo.strides[1] + kx * geo.dilations[1]) as isize - geo.pads[1] as isize;
                                let wi = ((c * oc + o) * kh + ky) * kw + kx;
                                if x < 0 || x >= ow as isize || !used(wi) {
                                    continue;
                                }
                                let src = n * in_strides[0] + c * in_strides[1] + iy * in_strides[2] + ix;
                                let dst = ((n * oc + o) * oh + y as usize) * ow + x as usize;
                                rows[dst].push((src as u32, wi as u32));
                            }
                        }
                    }
                }
            }
        }
    }
    let mut out = LayerRows::new();
    for (i, terms) in rows.into_iter().enumerate() {
        out.push(terms, ((i / (oh * ow)) % oc) as u32);
    }
    out
}

/// Average pooling as a weighted sum then a shift. A window of 2^e elements is an exact shift by e;
/// other counts multiply by round(2^sp / count) and shift by sp.
fn avg_pool(
    in_shape: &[usize],
    out_shape: &[usize],
    kernel: &[usize; 2],
    geo: &ConvGeometry,
    count_include_pad: bool,
    sp: u32,
) -> (Linear, u32) {
    let windows = tensor::pool_windows(in_shape, out_shape, *kernel, geo.strides, geo.pads, geo.dilations);
    let windows: Vec<(Vec<usize>, usize)> = windows
        .into_iter()
        .map(|idx| {
            let count = if count_include_pad { kernel[0] * kernel[1] } else { idx.len() };
            (idx, count)
        })
        .collect();
    let first = windows.first().map_or(1, |w| w.1);
    let uniform_pow2 = first.is_power_of_two() && windows.iter().all(|w| w.1 == first);
    let largest = windows.iter().map(|w| w.1).max().unwrap_or(1);
    let shift = if uniform_pow2 { first.trailing_zeros() } else { reciprocal(largest, sp).1 };
    let mut lin = Linear::default();
    for (idx, count) in windows {
        let weight = if uniform_pow2 { 1 } else { reciprocal_at(count, shift) };
        lin.push_row(idx.into_iter().map(|index| Term { input: 0, index: index as u32, weight }), 0);
    }
    (lin, shift)
}

/// 1/n as an integer weight and a shift: round(2^e / n) with e = sp + bits(n), so the weight has
/// sp + 1 significant bits whatever n (a weight of round(2^sp / n) loses 1/n entirely once n
/// nears 2^sp) and the mean is within 2^-(sp+1) of its largest term's size before rounding.
fn reciprocal(n: usize, sp: u32) -> (i64, u32) {
    let e = sp + bit_len(n as u128);
    (reciprocal_at(n, e), e)
}

fn reciprocal_at(n: usize, e: u32) -> i64 {
    (pow2(e as i32) / n.max(1) as f64).round() as i64
}

fn affine(
    out_shape: &[usize],
    in_shape: &[usize],
    mul: Option<&Tensor<f64>>,
    add: Option<&Tensor<f64>>,
    s_mul: u32,
    s_add: u32,
) -> Linear {
    let total: usize = out_shape.iter().product();
    let xmap = broadcast_index_map(in_shape, out_shape);
    let mmap = mul.map(|m| broadcast_index_map(&m.shape, out_shape));
    let amap = add.map(|a| broadcast_index_map(&a.shape, out_shape));
    let mut lin = Linear::default();
    for i in 0..total {
        let weight = match (mul, &mmap) {
            (Some(m), Some(map)) => quantize(m.data[map[i]], s_mul) as i64,
            // No factor: x at scale s_mul higher, exactly.
            _ => 1i64 << s_mul,
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
pub(crate) mod tests;
