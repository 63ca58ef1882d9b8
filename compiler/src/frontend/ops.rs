//! The op registry: every ONNX op zkonnx translates, how it is proven, and the function that
//! translates it on activations. Dispatch, `zkonnx ops` (docs/ops.md) and the supported-op check
//! all read this one table, so an op is named in one place. (Nodes whose inputs are all constants
//! are folded before dispatch, `consts`/`structural::eval`.)

use super::attrs::Attrs;
use super::{consts, lookup_func, normalize_axis, Ctx, Translator, Value};
use crate::error::Result;
use crate::ir::{BinaryKind, Func, NodeId, Op, RoundMode};
use crate::tensor::{broadcast_shape, Tensor};

/// Translates one node whose inputs include an activation: (translator, node, attributes, the
/// name of its first output).
pub(super) type Translate = fn(&mut Translator, &Ctx, &Attrs, &str) -> Result<()>;

/// Which ONNX domain an op belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Domain {
    /// The default domain ("" or "ai.onnx").
    Onnx,
    /// "ai.onnx.ml": scikit-learn's exports.
    Ml,
}

impl Domain {
    pub(super) fn of(domain: &str) -> Option<Domain> {
        match domain {
            "" | "ai.onnx" => Some(Domain::Onnx),
            "ai.onnx.ml" => Some(Domain::Ml),
            _ => None,
        }
    }
}

pub(super) struct OpSpec {
    pub name: &'static str,
    pub domain: Domain,
    /// How it is proven: `linear` (weighted sums with constant weights, one dot-product row per
    /// output), `decomposition` (built from proven chips), `lookup` (a function table on a
    /// range-reduced input), `division` (quotient and remainder), `copy` (moves cells, no
    /// constraints), `constant` (folded at compile time).
    pub proven: &'static str,
    pub translate: Translate,
}

/// The supported ops as a Markdown table (`zkonnx ops`, and docs/ops.md).
pub fn ops_table() -> String {
    let mut out = String::from("| ONNX op | how it is proven |\n| --- | --- |\n");
    for spec in OPS {
        out.push_str(&format!("| {} | {} |\n", spec.name, spec.proven));
    }
    out.push_str(&format!("\nFolded at compile time, on constants only: {}.\n", FOLDED_ONLY.join(", ")));
    out
}

/// ONNX ops folded at compile time only (shape arithmetic); on an activation they are refused.
// (Floor and Ceil fold on constants too, but they are in `OPS`: they also run on activations.)
pub(super) const FOLDED_ONLY: &[&str] =
    &["Constant", "Shape", "ConstantOfShape", "Range", "Mod", "NonZero", "ReduceProd"];

/// Whether zkonnx translates this op of this domain (on activations, or folded on constants).
pub(super) fn supported(name: &str, domain: Domain) -> bool {
    find(name, domain).is_some() || (domain == Domain::Onnx && FOLDED_ONLY.contains(&name))
}

/// The op of this name in this domain.
pub(super) fn find(name: &str, domain: Domain) -> Option<&'static OpSpec> {
    OPS.iter().find(|s| s.name == name && s.domain == domain)
}

pub(super) const OPS: &[OpSpec] = &[
    OpSpec { name: "Abs", domain: Domain::Onnx, proven: "max chip: max(x, -x)", translate: Translator::op_abs },
    OpSpec { name: "Acos", domain: Domain::Onnx, proven: "lookup (x clamped to [-1, 1])", translate: Translator::op_lookup },
    OpSpec { name: "Acosh", domain: Domain::Onnx, proven: "lookup (x clamped to [1, inf))", translate: Translator::op_lookup },
    OpSpec { name: "Add", domain: Domain::Onnx, proven: "linear (constant operand: affine)", translate: Translator::op_binary },
    OpSpec { name: "And", domain: Domain::Onnx, proven: "product of booleans", translate: Translator::op_logic },
    OpSpec { name: "ArgMax", domain: Domain::Onnx, proven: "decomposition: max, a 0/1 step per element, first-index selection, weighted sum", translate: Translator::op_arg_max },
    OpSpec { name: "Asin", domain: Domain::Onnx, proven: "lookup (x clamped to [-1, 1])", translate: Translator::op_lookup },
    OpSpec { name: "Asinh", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Atan", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Atanh", domain: Domain::Onnx, proven: "lookup (x clamped to [-(1 - 2^-12), 1 - 2^-12])", translate: Translator::op_lookup },
    OpSpec { name: "AveragePool", domain: Domain::Onnx, proven: "linear, 1-D, 2-D and 3-D, strides, pads, ceil_mode", translate: Translator::avg_pool },
    OpSpec { name: "BatchNormalization", domain: Domain::Onnx, proven: "linear, folded into the layer before", translate: Translator::op_batch_normalization },
    OpSpec { name: "Cast", domain: Domain::Onnx, proven: "copy; from a float type to an integer type, truncation toward zero: floor(relu(x)) - floor(relu(-x))", translate: Translator::cast },
    OpSpec { name: "Ceil", domain: Domain::Onnx, proven: "rescale to scale 0 (remainder range checked), biased up", translate: Translator::op_round },
    OpSpec { name: "Celu", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Clip", domain: Domain::Onnx, proven: "decomposition: relu-based max/min with the constant bounds", translate: Translator::op_clip },
    OpSpec { name: "Concat", domain: Domain::Onnx, proven: "copy", translate: Translator::op_structural },
    OpSpec { name: "Conv", domain: Domain::Onnx, proven: "linear, 1-D, 2-D and 3-D (3-D: per output depth, the depth slices as channels of one 2-D conv), groups, strides, dilations, pads", translate: Translator::conv },
    OpSpec { name: "ConvTranspose", domain: Domain::Onnx, proven: "linear, 2-D, group 1", translate: Translator::conv_transpose },
    OpSpec { name: "Cos", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Cosh", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "CumSum", domain: Domain::Onnx, proven: "linear: a sum over each prefix (or suffix) along the axis; exclusive and reverse", translate: Translator::cumsum },
    OpSpec { name: "Div", domain: Domain::Onnx, proven: "division by an activation; linear by a constant; of integer types, then truncated toward zero (as Cast)", translate: Translator::op_binary },
    OpSpec { name: "Dropout", domain: Domain::Onnx, proven: "copy (inference)", translate: Translator::op_identity },
    OpSpec { name: "Elu", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Equal", domain: Domain::Onnx, proven: "comparison: (a >= b) + (b >= a) - 1, each a Step(-relu(difference))", translate: Translator::op_logic },
    OpSpec { name: "Erf", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Exp", domain: Domain::Onnx, proven: "lookup; past the table, exp(h 2^d) exp(l): two lookups and a product", translate: Translator::op_lookup },
    OpSpec { name: "Expand", domain: Domain::Onnx, proven: "copy", translate: Translator::op_structural },
    OpSpec { name: "Flatten", domain: Domain::Onnx, proven: "copy", translate: Translator::op_flatten },
    OpSpec { name: "Floor", domain: Domain::Onnx, proven: "rescale to scale 0 (remainder range checked), biased down", translate: Translator::op_round },
    OpSpec { name: "Gather", domain: Domain::Onnx, proven: "copy (constant indices); computed indices, any axis, of a constant or an activation: one-hot selection by proven equality tests (a negative index counts from the end; an int input used as an index is range-checked to the axis), then a MatMul with a constant table (axis 0) or products and sums", translate: Translator::op_gather },
    OpSpec { name: "GatherElements", domain: Domain::Onnx, proven: "copy (constant indices); computed indices: as Gather, one equality test per position along the axis", translate: Translator::op_gather },
    OpSpec { name: "GatherND", domain: Domain::Onnx, proven: "copy (constant indices), batch_dims; computed indices: the product of each coordinate's one-hot (proven equality tests), then products and sums (a MatMul for a constant table)", translate: Translator::op_gather },
    OpSpec { name: "Gelu", domain: Domain::Onnx, proven: "lookup (exact and tanh forms)", translate: Translator::op_lookup },
    OpSpec { name: "Gemm", domain: Domain::Onnx, proven: "linear", translate: Translator::gemm },
    OpSpec { name: "GlobalAveragePool", domain: Domain::Onnx, proven: "linear", translate: Translator::avg_pool },
    OpSpec { name: "GlobalLpPool", domain: Domain::Onnx, proven: "as LpPool", translate: Translator::lp_pool },
    OpSpec { name: "GlobalMaxPool", domain: Domain::Onnx, proven: "max chip, pairwise", translate: Translator::max_pool },
    OpSpec { name: "GRU", domain: Domain::Onnx, proven: "unrolled over the sequence: MatMuls, sigmoid and tanh lookups, products; linear_before_reset 0 and 1", translate: Translator::op_recurrent },
    OpSpec { name: "Greater", domain: Domain::Onnx, proven: "comparison: 1 - (b >= a), a Step(-relu(difference))", translate: Translator::op_logic },
    OpSpec { name: "GreaterOrEqual", domain: Domain::Onnx, proven: "comparison: Step(-relu(b - a)) tests a >= b exactly on the quantized values; a boolean", translate: Translator::op_logic },
    OpSpec { name: "IsInf", domain: Domain::Onnx, proven: "constant false on activations (quantized values are finite); folded on constants", translate: Translator::op_is_nan },
    OpSpec { name: "IsNaN", domain: Domain::Onnx, proven: "constant false on activations (quantized values are finite); folded on constants", translate: Translator::op_is_nan },
    OpSpec { name: "Hardmax", domain: Domain::Onnx, proven: "decomposition: max, a 0/1 step per element, first-index selection (a boolean)", translate: Translator::op_hardmax },
    OpSpec { name: "HardSigmoid", domain: Domain::Onnx, proven: "decomposition: affine, then clip", translate: Translator::op_hard_sigmoid },
    OpSpec { name: "HardSwish", domain: Domain::Onnx, proven: "decomposition: x * hard_sigmoid(x)", translate: Translator::op_hard_sigmoid },
    OpSpec { name: "Identity", domain: Domain::Onnx, proven: "copy", translate: Translator::op_identity },
    OpSpec { name: "InstanceNormalization", domain: Domain::Onnx, proven: "decomposition: as LayerNormalization over the spatial axes", translate: Translator::op_instance_normalization },
    OpSpec { name: "LayerNormalization", domain: Domain::Onnx, proven: "decomposition: mean, product, square root, division", translate: Translator::op_layer_normalization },
    OpSpec { name: "LeakyRelu", domain: Domain::Onnx, proven: "max chip: max(x, a x)", translate: Translator::op_leaky_relu },
    OpSpec { name: "Less", domain: Domain::Onnx, proven: "comparison: 1 - (a >= b), a Step(-relu(difference))", translate: Translator::op_logic },
    OpSpec { name: "LinearClassifier", domain: Domain::Ml, proven: "ai.onnx.ml: linear (MatMul with the coefficients), post_transform NONE, SOFTMAX, LOGISTIC; integer labels by first argmax", translate: Translator::op_linear_ml },
    OpSpec { name: "LinearRegressor", domain: Domain::Ml, proven: "ai.onnx.ml: linear (MatMul with the coefficients)", translate: Translator::op_linear_ml },
    OpSpec { name: "LessOrEqual", domain: Domain::Onnx, proven: "comparison: b >= a, a Step(-relu(difference))", translate: Translator::op_logic },
    OpSpec { name: "Log", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "LSTM", domain: Domain::Onnx, proven: "unrolled over the sequence: MatMuls, sigmoid and tanh lookups, products; peepholes, initial states, forward, reverse and bidirectional, both layouts", translate: Translator::op_recurrent },
    OpSpec { name: "LpPool", domain: Domain::Onnx, proven: "p = 1: max chip (|x|) and window sums; p = 2: products, window sums, square root; 1-D and 2-D (and GlobalLpPool)", translate: Translator::lp_pool },
    OpSpec { name: "LogSoftmax", domain: Domain::Onnx, proven: "decomposition: max, exp and log lookups, sum", translate: Translator::op_softmax },
    OpSpec { name: "LpNormalization", domain: Domain::Onnx, proven: "p = 1: max chip and sum; p = 2: products, sum, square root; then division", translate: Translator::lp_normalization },
    OpSpec { name: "MatMul", domain: Domain::Onnx, proven: "linear (constant B); products and sums (two activations)", translate: Translator::op_mat_mul },
    OpSpec { name: "Max", domain: Domain::Onnx, proven: "max chip: sign of a - b by range decomposition, one row (constants: relu)", translate: Translator::op_max },
    OpSpec { name: "MaxPool", domain: Domain::Onnx, proven: "max chip, pairwise; 1-D, 2-D and 3-D, strides, pads, dilations, ceil_mode", translate: Translator::max_pool },
    OpSpec { name: "Mean", domain: Domain::Onnx, proven: "linear", translate: Translator::op_sum },
    OpSpec { name: "Min", domain: Domain::Onnx, proven: "max chip (as min), one row (constants: relu)", translate: Translator::op_max },
    OpSpec { name: "Mish", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Mul", domain: Domain::Onnx, proven: "product (two activations); linear (constant)", translate: Translator::op_binary },
    OpSpec { name: "Neg", domain: Domain::Onnx, proven: "linear", translate: Translator::op_neg },
    OpSpec { name: "Normalizer", domain: Domain::Ml, proven: "ai.onnx.ml: division by the row's MAX (max chip), L1 or L2 norm", translate: Translator::op_linear_ml },
    OpSpec { name: "Not", domain: Domain::Onnx, proven: "1 - x of a boolean", translate: Translator::op_logic },
    OpSpec { name: "OneHot", domain: Domain::Onnx, proven: "computed indices, any axis: one proven equality test per class (a negative index counts from the end), then off + (on - off) x", translate: Translator::one_hot },
    OpSpec { name: "Or", domain: Domain::Onnx, proven: "x + y - x y of booleans", translate: Translator::op_logic },
    OpSpec { name: "Pad", domain: Domain::Onnx, proven: "copy (constant, reflect, edge, wrap)", translate: Translator::op_structural },
    OpSpec { name: "Pow", domain: Domain::Onnx, proven: "a constant base a > 0: exp(x ln a); a constant exponent: products (whole exponents to 16), square root (0.5), division (-1, -0.5), lookup (other exponents; below 0 a negative power takes its value at a quarter table step)", translate: Translator::op_pow },
    OpSpec { name: "PRelu", domain: Domain::Onnx, proven: "max chip: max(x, slope x) (slopes in [0, 1]; else x + (1 - slope) relu(-x))", translate: Translator::op_leaky_relu },
    OpSpec { name: "Reciprocal", domain: Domain::Onnx, proven: "division", translate: Translator::op_reciprocal },
    OpSpec { name: "RNN", domain: Domain::Onnx, proven: "unrolled over the sequence: MatMuls and a tanh (or sigmoid, relu) per step", translate: Translator::op_recurrent },
    OpSpec { name: "ReduceL1", domain: Domain::Onnx, proven: "max chip (|x|), then linear", translate: Translator::reduction },
    OpSpec { name: "ReduceL2", domain: Domain::Onnx, proven: "products, linear, square root", translate: Translator::reduction },
    OpSpec { name: "ReduceLogSumExp", domain: Domain::Onnx, proven: "max m, exp lookup of x - m, sum, log lookup, plus m", translate: Translator::reduction },
    OpSpec { name: "ReduceMax", domain: Domain::Onnx, proven: "max chip, pairwise", translate: Translator::reduction },
    OpSpec { name: "ReduceMean", domain: Domain::Onnx, proven: "linear", translate: Translator::reduction },
    OpSpec { name: "ReduceMin", domain: Domain::Onnx, proven: "max chip, pairwise, of the negations", translate: Translator::reduction },
    OpSpec { name: "ReduceSum", domain: Domain::Onnx, proven: "linear", translate: Translator::reduction },
    OpSpec { name: "ReduceSumSquare", domain: Domain::Onnx, proven: "products, then linear", translate: Translator::reduction },
    OpSpec { name: "Relu", domain: Domain::Onnx, proven: "decomposition: sign bit of the rescale", translate: Translator::op_relu },
    OpSpec { name: "Reshape", domain: Domain::Onnx, proven: "copy", translate: Translator::op_reshape },
    OpSpec { name: "Resize", domain: Domain::Onnx, proven: "copy (nearest)", translate: Translator::op_structural },
    OpSpec { name: "Round", domain: Domain::Onnx, proven: "rescale to scale 0 (remainder range checked), ties up; then halves to even: minus 1 where x + 1/2 is whole (proven equality) and the result odd", translate: Translator::op_round },
    OpSpec { name: "Scaler", domain: Domain::Ml, proven: "ai.onnx.ml: linear ((x - offset) * scale)", translate: Translator::op_linear_ml },
    OpSpec { name: "ScatterElements", domain: Domain::Onnx, proven: "copy (constant indices, no reduction); computed indices: each update in order, out + hit (update - out) with hit a one-hot of proven equality tests (a later duplicate wins, as in onnxruntime)", translate: Translator::op_scatter },
    OpSpec { name: "ScatterND", domain: Domain::Onnx, proven: "copy (constant indices, no reduction); computed indices: as ScatterElements, hit the product of each coordinate's one-hot", translate: Translator::op_scatter },
    OpSpec { name: "Selu", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Sigmoid", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Sign", domain: Domain::Onnx, proven: "(x >= 0) - (x <= 0), two steps", translate: Translator::op_logic },
    OpSpec { name: "Sin", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Sinh", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Slice", domain: Domain::Onnx, proven: "copy", translate: Translator::op_structural },
    OpSpec { name: "Softmax", domain: Domain::Onnx, proven: "decomposition: max, exp lookup, sum, division", translate: Translator::op_softmax },
    OpSpec { name: "Softplus", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Softsign", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Split", domain: Domain::Onnx, proven: "copy", translate: Translator::op_structural },
    OpSpec { name: "Sqrt", domain: Domain::Onnx, proven: "decomposition: s^2 <= k x < (s + 1)^2, remainder and slack range checked", translate: Translator::op_sqrt },
    OpSpec { name: "Squeeze", domain: Domain::Onnx, proven: "copy", translate: Translator::op_structural },
    OpSpec { name: "Sub", domain: Domain::Onnx, proven: "linear", translate: Translator::op_binary },
    OpSpec { name: "Sum", domain: Domain::Onnx, proven: "linear", translate: Translator::op_sum },
    OpSpec { name: "Tan", domain: Domain::Onnx, proven: "lookup (inputs past +-pi/2 are the calibrated range's business)", translate: Translator::op_lookup },
    OpSpec { name: "Tanh", domain: Domain::Onnx, proven: "lookup", translate: Translator::op_lookup },
    OpSpec { name: "Tile", domain: Domain::Onnx, proven: "copy", translate: Translator::op_structural },
    OpSpec { name: "TopK", domain: Domain::Onnx, proven: "K rounds of the first maximum (as ArgMax), the chosen element set below the minimum after each; largest and smallest; values and indices", translate: Translator::op_top_k },
    OpSpec { name: "Transpose", domain: Domain::Onnx, proven: "copy", translate: Translator::op_transpose },
    OpSpec { name: "Trilu", domain: Domain::Onnx, proven: "copy (the other triangle: constant zeros)", translate: Translator::op_structural },
    OpSpec { name: "TreeEnsembleClassifier", domain: Domain::Ml, proven: "ai.onnx.ml: each split a proven comparison, exact at the input scale (Step(-relu(margin))); the reached leaf Step(agreeing tests - depth); leaf weights a MatMul; post_transform NONE, SOFTMAX, LOGISTIC; integer labels by first argmax", translate: Translator::op_tree },
    OpSpec { name: "TreeEnsembleRegressor", domain: Domain::Ml, proven: "ai.onnx.ml: as TreeEnsembleClassifier; SUM or AVERAGE", translate: Translator::op_tree },
    OpSpec { name: "Unsqueeze", domain: Domain::Onnx, proven: "copy", translate: Translator::op_structural },
    OpSpec { name: "Upsample", domain: Domain::Onnx, proven: "copy (nearest)", translate: Translator::op_structural },
    OpSpec { name: "Where", domain: Domain::Onnx, proven: "copy (constant condition); y + c (x - y) (a computed boolean condition c)", translate: Translator::op_where },
    OpSpec { name: "Xor", domain: Domain::Onnx, proven: "x + y - 2 x y of booleans", translate: Translator::op_logic },
    OpSpec { name: "ZipMap", domain: Domain::Ml, proven: "ai.onnx.ml: copy; the probabilities it wraps in dictionaries are proven as a tensor", translate: Translator::op_tree },
];

/// The families: one translation for every op of a module.
impl Translator {
    fn op_linear_ml(&mut self, ctx: &Ctx, attrs: &Attrs, _out: &str) -> Result<()> {
        self.linear_ml_op(ctx, attrs)
    }

    fn op_tree(&mut self, ctx: &Ctx, attrs: &Attrs, _out: &str) -> Result<()> {
        self.tree_op(ctx, attrs)
    }

    fn op_recurrent(&mut self, ctx: &Ctx, attrs: &Attrs, _out: &str) -> Result<()> {
        self.recurrent(ctx, attrs)
    }

    fn op_logic(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        self.logic(ctx, out)
    }

    fn op_structural(&mut self, ctx: &Ctx, attrs: &Attrs, _out: &str) -> Result<()> {
        self.structural(ctx, attrs)
    }

    /// Gather, GatherElements and GatherND: by computed indices (embeddings, lookups in
    /// activations), or by constant indices (a copy).
    fn op_gather(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        match self.peek(ctx, 1)? {
            Value::Act(_) if ctx.node.op_type == "GatherND" => self.gather_nd_by_value(ctx, attrs, out),
            Value::Act(_) => self.gather_by_value(ctx, attrs, out),
            Value::Const(_) => self.structural(ctx, attrs),
        }
    }

    /// ScatterElements and ScatterND: by computed indices, or by constant ones (a copy).
    fn op_scatter(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        match self.peek(ctx, 1)? {
            Value::Act(_) => self.scatter_by_value(ctx, attrs, out),
            Value::Const(_) => self.structural(ctx, attrs),
        }
    }

    /// Where: a computed condition selects by products; a constant one copies.
    fn op_where(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        match self.peek(ctx, 0)? {
            Value::Act(_) => self.logic(ctx, out),
            Value::Const(_) => self.structural(ctx, attrs),
        }
    }

    /// A function by lookup (`Func`).
    fn op_lookup(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let f = lookup_func(&ctx.node.op_type, attrs).ok_or_else(|| ctx.err("not a lookup function"))?;
        let x = self.act_input(ctx, 0)?;
        let shape = self.shape(x);
        self.push_named(out, ctx.name.clone(), Op::Func { f }, vec![x], shape);
        Ok(())
    }
}

/// The ops whose translation is their own.
impl Translator {
    /// An op of one activation built by `f` (name, input): its result bound to the output.
    fn unary(&mut self, ctx: &Ctx, out: &str, f: fn(&mut Self, &str, NodeId) -> NodeId) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let y = f(self, &ctx.name, x);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// Identity and Dropout.
    fn op_identity(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        // Dropout's ratio does nothing at inference; training mode would drop values. (Identity
        // reads input 0 only: a second input is refused as unread.)
        if ctx.node.op_type == "Dropout" {
            let _ratio = self.optional_const(ctx, 1)?;
            if self.optional_const(ctx, 2)?.is_some_and(|t| t.data.iter().any(|&v| v != 0.0)) {
                return Err(ctx.err("training_mode is on: dropout is random at training time"));
            }
        }
        let v = self.input(ctx, 0)?;
        self.env.insert(out.to_string(), v);
        Ok(())
    }

    /// IsNaN and IsInf.
    fn op_is_nan(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        // Every value the circuit holds is a finite integer: the test is false everywhere.
        let x = self.act_input(ctx, 0)?;
        let _ = (attrs.has("detect_negative"), attrs.has("detect_positive"));
        let shape = self.shape(x);
        let n = shape.iter().product();
        self.env.insert(out.to_string(), Value::Const(Tensor::new(shape, vec![0.0; n])));
        Ok(())
    }

    /// Relu.
    fn op_relu(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let shape = self.shape(x);
        self.push_named(out, ctx.name.clone(), Op::Relu, vec![x], shape);
        Ok(())
    }

    /// Floor and Ceil and Round.
    fn op_round(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        let op = ctx.node.op_type.as_str();
        let x = self.act_input(ctx, 0)?;
        let shape = self.shape(x);
        let mode = match op {
            "Floor" => RoundMode::Floor,
            "Ceil" => RoundMode::Ceil,
            _ => return self.round_half_to_even(ctx, x, out),
        };
        self.push_named(out, ctx.name.clone(), Op::Round { mode }, vec![x], shape);
        Ok(())
    }

    /// ONNX's Round sends halves to the even neighbour (2.5 -> 2, -1.5 -> -2). The rescale rounds
    /// them up: r = floor(x + 1/2); where x + 1/2 is whole (a proven equality) and r is odd,
    /// subtract one. r's parity is r - 2 floor((x + 1/2) / 2) (= r - 2 floor(r / 2)), computed
    /// from x so that the halving stays exact at x's scale.
    fn round_half_to_even(&mut self, ctx: &Ctx, x: NodeId, out: &str) -> Result<()> {
        let (name, shape) = (ctx.name.clone(), self.shape(x));
        let round = |t: &mut Self, part: &str, mode, v: NodeId| {
            t.add_node(&format!("{name}/{part}"), Op::Round { mode }, vec![v], shape.clone())
        };
        let up = round(self, "up", RoundMode::Nearest, x);
        let shifted = self.affine(&format!("{name}/shifted"), x, None, Some(0.5));
        let tie = self.equal(&format!("{name}/tie"), Value::Act(shifted), Value::Act(up));
        let half = self.affine(&format!("{name}/half"), x, Some(Tensor::new(vec![], vec![0.5])), Some(0.25));
        let floor_half = round(self, "floor_half", RoundMode::Floor, half);
        let twice = self.affine(&format!("{name}/twice"), floor_half, Some(Tensor::new(vec![], vec![2.0])), None);
        let odd = self.binary_node(&format!("{name}/odd"), BinaryKind::Sub, up, twice);
        let fix = self.binary_node(&format!("{name}/fix"), BinaryKind::Mul, tie, odd);
        let y = self.binary_node(&name, BinaryKind::Sub, up, fix);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    fn op_top_k(&mut self, ctx: &Ctx, attrs: &Attrs, _out: &str) -> Result<()> {
        self.top_k(ctx, attrs)
    }

    /// MatMul.
    fn op_mat_mul(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        if let Value::Act(b) = self.input(ctx, 1)? {
            let y = self.matmul_acts(ctx, x, b)?;
            self.env.insert(out.to_string(), Value::Act(y));
            return Ok(());
        }
        let w = self.const_input(ctx, 1)?;
        let xs = self.shape(x);
        if w.shape.len() != 2 || xs.last() != Some(&w.shape[0]) {
            return Err(ctx.err(format!("only x @ W with a 2-D constant W is supported; got {xs:?} @ {:?}", w.shape)));
        }
        let mut shape = xs.clone();
        if let Some(last) = shape.last_mut() {
            *last = w.shape[1];
        }
        self.push_named(out, ctx.name.clone(), Op::MatMul { weight: w, bias: None }, vec![x], shape);
        Ok(())
    }

    /// BatchNormalization.
    fn op_batch_normalization(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let [scale, bias, mean, var] = [1, 2, 3, 4].map(|i| self.const_input(ctx, i));
        let (scale, bias, mean, var) = (scale?, bias?, mean?, var?);
        let eps = attrs.float("epsilon", 1e-5) as f64;
        let shape = self.shape(x);
        if shape.len() < 2 || scale.len() != shape[1] {
            return Err(ctx.err("expects input [N, C, ...] and per-channel constants of length C"));
        }
        let c = shape[1];
        let mut cshape = vec![c];
        cshape.extend(std::iter::repeat_n(1, shape.len() - 2));
        let mul: Vec<f64> = (0..c).map(|i| scale.data[i] / (var.data[i] + eps).sqrt()).collect();
        let add: Vec<f64> = (0..c).map(|i| bias.data[i] - mean.data[i] * mul[i]).collect();
        let op = Op::Affine { mul: Some(Tensor::new(cshape.clone(), mul)), add: Some(Tensor::new(cshape, add)) };
        self.push_named(out, ctx.name.clone(), op, vec![x], shape);
        Ok(())
    }

    fn op_binary(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        self.binary(ctx, out)
    }

    /// Flatten.
    fn op_flatten(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let shape = self.shape(x);
        let axis = normalize_axis(attrs.int("axis", 1), shape.len() + 1).ok_or_else(|| ctx.err("axis out of range"))?;
        let new = vec![shape[..axis].iter().product(), shape[axis..].iter().product()];
        self.push_named(out, ctx.name.clone(), Op::Reshape, vec![x], new);
        Ok(())
    }

    /// Reshape.
    fn op_reshape(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let target = self.const_input(ctx, 1)?;
        let shape = consts::reshape_target(&self.shape(x), &target.data, attrs.int("allowzero", 0) != 0)
            .map_err(|r| ctx.err(r))?;
        self.push_named(out, ctx.name.clone(), Op::Reshape, vec![x], shape);
        Ok(())
    }

    /// Transpose.
    fn op_transpose(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let shape = self.shape(x);
        let perm: Vec<usize> = match attrs.ints("perm") {
            Some(p) => p.iter().map(|&i| i as usize).collect(),
            None => (0..shape.len()).rev().collect(),
        };
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        if sorted != (0..shape.len()).collect::<Vec<_>>() {
            return Err(ctx.err(format!("perm {perm:?} is not a permutation of the {} axes", shape.len())));
        }
        let new = perm.iter().map(|&p| shape[p]).collect();
        self.push_named(out, ctx.name.clone(), Op::Transpose { perm }, vec![x], new);
        Ok(())
    }

    /// Max and Min.
    fn op_max(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        let node = ctx.node;
        let op = ctx.node.op_type.as_str();
        let (mut acts, mut consts) = (vec![], vec![]);
        for i in 0..node.input.len() {
            match self.input(ctx, i)? {
                Value::Act(id) => acts.push(id),
                Value::Const(t) if t.len() == 1 => consts.push(t.data[0]),
                Value::Const(_) => return Err(ctx.err("only scalar constants are supported as operands")),
            }
        }
        let mut acc = acts[0];
        for &b in &acts[1..] {
            acc = if op == "Max" { self.max2(&ctx.name, acc, b) } else { self.min2(&ctx.name, acc, b) };
        }
        for c in consts {
            acc = if op == "Max" { self.max_const(&ctx.name, acc, c) } else { self.min_const(&ctx.name, acc, c) };
        }
        self.env.insert(out.to_string(), Value::Act(acc));
        Ok(())
    }

    /// Clip.
    fn op_clip(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let bound = |i: usize, attr: &str| -> Result<Option<f64>> {
            match self.optional_const(ctx, i)? {
                Some(t) if t.len() == 1 => Ok(Some(t.data[0])),
                Some(_) => Err(ctx.err("min and max must be scalars")),
                None => Ok(attrs
                    .ints(attr)
                    .map(|_| attrs.float(attr, 0.0) as f64)
                    .or_else(|| attrs.has(attr).then(|| attrs.float(attr, 0.0) as f64))),
            }
        };
        let (lo, hi) = (bound(1, "min")?, bound(2, "max")?);
        let mut acc = x;
        if let Some(lo) = lo {
            acc = self.max_const(&format!("{}/lo", ctx.name), acc, lo);
        }
        if let Some(hi) = hi {
            acc = self.min_const(&format!("{}/hi", ctx.name), acc, hi);
        }
        self.env.insert(out.to_string(), Value::Act(acc));
        Ok(())
    }

    /// Neg.
    fn op_neg(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        self.unary(ctx, out, Self::negate)
    }

    /// Abs.
    fn op_abs(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        self.unary(ctx, out, Self::abs)
    }

    /// LeakyRelu and PRelu.
    fn op_leaky_relu(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let op = ctx.node.op_type.as_str();
        let x = self.act_input(ctx, 0)?;
        let xs = self.shape(x);
        let mut slope = match op {
            "LeakyRelu" => Tensor::new(vec![], vec![attrs.float("alpha", 0.01) as f64]),
            _ => self.const_input(ctx, 1)?,
        };
        // Old exporters give one slope per channel as a 1-D tensor of length C.
        if slope.shape.len() == 1 && xs.len() > 2 && slope.len() == xs[1] && slope.len() > 1 {
            let shape = [vec![xs[1]], vec![1; xs.len() - 2]].concat();
            slope = Tensor::new(shape, slope.data);
        }
        if broadcast_shape(&xs, &slope.shape).as_deref() != Some(&xs[..]) {
            return Err(ctx.err(format!("slope of shape {:?} does not broadcast to {xs:?}", slope.shape)));
        }
        let y = self.leaky(&ctx.name, x, slope);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// HardSigmoid and HardSwish.
    fn op_hard_sigmoid(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let op = ctx.node.op_type.as_str();
        let x = self.act_input(ctx, 0)?;
        let y = if op == "HardSigmoid" {
            let (alpha, beta) = (attrs.float("alpha", 0.2) as f64, attrs.float("beta", 0.5) as f64);
            self.hard_sigmoid(&ctx.name, x, alpha, beta)
        } else {
            let h = self.hard_sigmoid(&format!("{}/gate", ctx.name), x, 1.0 / 6.0, 0.5);
            self.binary_node(&ctx.name, BinaryKind::Mul, x, h)
        };
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// Reciprocal.
    fn op_reciprocal(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let y = self.divide(&ctx.name, None, x);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// Pow.
    fn op_pow(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        if let Value::Const(_) = self.peek(ctx, 0)? {
            return self.constant_to_the_power(ctx, out);
        }
        let x = self.act_input(ctx, 0)?;
        let e = self.const_input(ctx, 1)?;
        if e.len() != 1 {
            return Err(ctx.err("only a scalar constant exponent is supported"));
        }
        let name = ctx.name.clone();
        // Exponents as halves, so the match is on integers.
        let p = e.data[0];
        let integer = p.fract() == 0.0 && (0.0..=16.0).contains(&p);
        let y = match (2.0 * p).round() as i64 {
            // x^0 = 1.
            0 if integer => self.affine(&name, x, Some(Tensor::new(vec![], vec![0.0])), Some(1.0)),
            2 => x,
            4 => self.binary_node(&name, BinaryKind::Mul, x, x),
            6 => {
                let sq = self.binary_node(&format!("{name}/square"), BinaryKind::Mul, x, x);
                self.binary_node(&name, BinaryKind::Mul, sq, x)
            }
            // Whole exponents up to 16: products by repeated squaring, exact.
            _ if integer => self.power(&name, x, p as u32),
            1 if (2.0 * p).fract() == 0.0 => self.sqrt(&name, x),
            -2 if (2.0 * p).fract() == 0.0 => self.divide(&name, None, x),
            -1 if (2.0 * p).fract() == 0.0 => {
                let r = self.sqrt(&format!("{name}/sqrt"), x);
                self.divide(&name, None, r)
            }
            // Other exponents (x^-0.1): a lookup over the calibrated range.
            _ if p.is_finite() => {
                let shape = self.shape(x);
                self.add_node(&name, Op::Func { f: Func::Pow { exponent: p } }, vec![x], shape)
            }
            _ => return Err(ctx.err(format!("exponent {p} is not a finite number"))),
        };
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// a^x for a constant base a > 0 and an activation x: exp(x ln a), one affine op and the
    /// exp table.
    fn constant_to_the_power(&mut self, ctx: &Ctx, out: &str) -> Result<()> {
        let base = self.const_input(ctx, 0)?;
        let x = self.act_input(ctx, 1)?;
        if let Some(&a) = base.data.iter().find(|&&a| !(a > 0.0 && a.is_finite())) {
            return Err(ctx.err(format!("a base of {a} is not supported: a^x is proven as exp(x ln a), for a > 0")));
        }
        let name = ctx.name.clone();
        let scaled = self.affine_tensor(&format!("{name}/x_ln_a"), x, Some(base.map(|a| a.ln())), None);
        let y = self.func(&name, Func::Exp, scaled);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// Softmax and LogSoftmax.
    fn op_softmax(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let op = ctx.node.op_type.as_str();
        let x = self.act_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let default = if self.opset >= 13 { -1 } else { 1 };
        let axis = normalize_axis(attrs.int("axis", default), rank).ok_or_else(|| ctx.err("axis out of range"))?;
        // Before opset 13 the input is flattened to 2-D at `axis`: softmax over every axis after it.
        let axes: Vec<usize> = if self.opset >= 13 { vec![axis] } else { (axis..rank).collect() };
        let y = self.softmax(&ctx.name, x, &axes, op == "LogSoftmax");
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// Sum and Mean.
    fn op_sum(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        let node = ctx.node;
        let op = ctx.node.op_type.as_str();
        let mut acc: Option<NodeId> = None;
        let mut consts: Vec<Tensor<f64>> = vec![];
        for i in 0..node.input.len() {
            match self.input(ctx, i)? {
                Value::Act(id) => {
                    acc = Some(match acc {
                        None => id,
                        Some(a) => self.binary_node(&format!("{}/{i}", ctx.name), BinaryKind::Add, a, id),
                    })
                }
                Value::Const(t) => consts.push(t),
            }
        }
        let mut y = acc.ok_or_else(|| ctx.err("no activation operand"))?;
        for (j, c) in consts.into_iter().enumerate() {
            let shape =
                broadcast_shape(&self.shape(y), &c.shape).ok_or_else(|| ctx.err("operands do not broadcast"))?;
            y = self.add_node(
                &format!("{}/const{j}", ctx.name),
                Op::Affine { mul: None, add: Some(c) },
                vec![y],
                shape,
            );
        }
        if op == "Mean" {
            let n = node.input.len() as f64;
            y = self.affine(&format!("{}/mean", ctx.name), y, Some(Tensor::new(vec![], vec![1.0 / n])), None);
        }
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// LayerNormalization.
    fn op_layer_normalization(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let node = ctx.node;
        let x = self.act_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let axis = normalize_axis(attrs.int("axis", -1), rank).ok_or_else(|| ctx.err("axis out of range"))?;
        let eps = attrs.float("epsilon", 1e-5) as f64;
        let (scale, bias) = (self.optional_const(ctx, 1)?, self.optional_const(ctx, 2)?);
        if node.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(ctx.err("the Mean and InvStdDev outputs are not supported"));
        }
        let y = self.layer_norm(&ctx.name, x, axis, eps, scale, bias);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// Sqrt.
    fn op_sqrt(&mut self, ctx: &Ctx, _attrs: &Attrs, out: &str) -> Result<()> {
        self.unary(ctx, out, Self::sqrt)
    }

    /// Hardmax.
    fn op_hardmax(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let default = if self.opset >= 13 { -1 } else { 1 };
        let axis = normalize_axis(attrs.int("axis", default), rank).ok_or_else(|| ctx.err("axis out of range"))?;
        if self.opset < 13 && axis + 1 != rank {
            return Err(ctx.err("before opset 13 Hardmax flattens from its axis on; only the last axis is supported"));
        }
        let y = self.one_hot_of_max(&ctx.name, x, axis, false);
        self.booleans.insert(y);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// ArgMax.
    fn op_arg_max(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let axis = normalize_axis(attrs.int("axis", 0), rank).ok_or_else(|| ctx.err("axis out of range"))?;
        let (keepdims, last) = (attrs.int("keepdims", 1) != 0, attrs.int("select_last_index", 0) != 0);
        let y = self.arg_max(&ctx.name, x, axis, keepdims, last);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// InstanceNormalization.
    fn op_instance_normalization(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let xs = self.shape(x);
        let (scale, bias) = (self.const_input(ctx, 1)?, self.const_input(ctx, 2)?);
        if xs.len() < 3 || scale.len() != xs[1] || bias.len() != xs[1] {
            return Err(ctx.err("expects input [N, C, ...] and per-channel scale and bias of length C"));
        }
        let per_channel = |t: Tensor<f64>| Tensor::new([vec![xs[1]], vec![1; xs.len() - 2]].concat(), t.data);
        let eps = attrs.float("epsilon", 1e-5) as f64;
        let y = self.layer_norm(&ctx.name, x, 2, eps, Some(per_channel(scale)), Some(per_channel(bias)));
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }
}
