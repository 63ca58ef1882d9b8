//! ONNX -> IR. The protobuf is read with tract-onnx; each ONNX node is translated here, so that errors
//! name the ONNX op and node the user sees in their exporter. Constants and shape arithmetic are
//! folded as they are met; `fold` then merges affine constants into the layer before them.

mod attrs;
mod compare;
mod consts;
mod conv;
mod conv3d;
mod external;
mod fold;
mod indexing;
mod logic;
mod math;
mod ml;
mod recurrent;
mod reduce;
mod structural;
mod topk;
mod trees;
mod types;

use crate::error::{CompileError, Result, UnsupportedOp};
use crate::ir::{BinaryKind, Func, Graph, Node, NodeId, Op, RoundMode};
use crate::tensor::{broadcast_shape, Tensor};
use attrs::{load_tensor, Attrs};
use std::collections::HashMap;
use tract_onnx::pb::{self, NodeProto};

/// Every supported ONNX op and how it is proven: `linear` (weighted sums with constant weights,
/// one dot-product row per output), `decomposition` (built from proven chips: rescale, ReLU sign
/// decomposition, products), `lookup` (function table on a range-reduced input), `division`
/// (quotient and remainder), `copy` (moves cells, no constraints), `constant` (folded at compile
/// time). `zkonnx ops` prints this table.
pub const OPS: &[(&str, &str)] = &[
    ("Abs", "max chip: max(x, -x)"),
    ("Acos", "lookup (x clamped to [-1, 1])"),
    ("Acosh", "lookup (x clamped to [1, inf))"),
    ("Add", "linear (constant operand: affine)"),
    ("And", "product of booleans"),
    ("ArgMax", "decomposition: max, a 0/1 step per element, first-index selection, weighted sum"),
    ("Asin", "lookup (x clamped to [-1, 1])"),
    ("Asinh", "lookup"),
    ("Atan", "lookup"),
    ("Atanh", "lookup (x clamped to [-(1 - 2^-12), 1 - 2^-12])"),
    ("AveragePool", "linear, 1-D, 2-D and 3-D, strides, pads, ceil_mode"),
    ("BatchNormalization", "linear, folded into the layer before"),
    ("Cast", "copy; from a float type to an integer type, truncation toward zero: floor(relu(x)) - floor(relu(-x))"),
    ("Ceil", "rescale to scale 0 (remainder range checked), biased up"),
    ("Celu", "lookup"),
    ("Clip", "decomposition: relu-based max/min with the constant bounds"),
    ("Concat", "copy"),
    ("Conv", "linear, 1-D, 2-D and 3-D (3-D: per output depth, the depth slices as channels of one 2-D conv), groups, strides, dilations, pads"),
    ("ConvTranspose", "linear, 2-D, group 1"),
    ("Cos", "lookup"),
    ("Cosh", "lookup"),
    ("CumSum", "linear: a sum over each prefix (or suffix) along the axis; exclusive and reverse"),
    ("Div", "division by an activation; linear by a constant; of integer types, then truncated toward zero (as Cast)"),
    ("Dropout", "copy (inference)"),
    ("Elu", "lookup"),
    ("Equal", "comparison: (a >= b) + (b >= a) - 1, each a Step(-relu(difference))"),
    ("Erf", "lookup"),
    ("Exp", "lookup; past the table, exp(h 2^d) exp(l): two lookups and a product"),
    ("Expand", "copy"),
    ("Flatten", "copy"),
    ("Floor", "rescale to scale 0 (remainder range checked), biased down"),
    ("Gather", "copy (constant indices); computed indices, any axis, of a constant or an activation: one-hot selection by proven equality tests, then a MatMul with a constant table (axis 0) or products and sums"),
    ("GatherElements", "copy (constant indices); computed indices: as Gather, one equality test per position along the axis"),
    ("GatherND", "copy (constant indices), batch_dims"),
    ("Gelu", "lookup (exact and tanh forms)"),
    ("Gemm", "linear"),
    ("GlobalAveragePool", "linear"),
    ("GlobalLpPool", "as LpPool"),
    ("GlobalMaxPool", "max chip, pairwise"),
    ("GRU", "unrolled over the sequence: MatMuls, sigmoid and tanh lookups, products; linear_before_reset 0 and 1"),
    ("Greater", "comparison: 1 - (b >= a), a Step(-relu(difference))"),
    ("GreaterOrEqual", "comparison: Step(-relu(b - a)) tests a >= b exactly on the quantized values; a boolean"),
    ("IsInf", "constant false on activations (quantized values are finite); folded on constants"),
    ("IsNaN", "constant false on activations (quantized values are finite); folded on constants"),
    ("Hardmax", "decomposition: max, a 0/1 step per element, first-index selection (a boolean)"),
    ("HardSigmoid", "decomposition: affine, then clip"),
    ("HardSwish", "decomposition: x * hard_sigmoid(x)"),
    ("Identity", "copy"),
    ("InstanceNormalization", "decomposition: as LayerNormalization over the spatial axes"),
    ("LayerNormalization", "decomposition: mean, product, square root, division"),
    ("LeakyRelu", "max chip: max(x, a x)"),
    ("Less", "comparison: 1 - (a >= b), a Step(-relu(difference))"),
    ("LinearClassifier", "ai.onnx.ml: linear (MatMul with the coefficients), post_transform NONE, SOFTMAX, LOGISTIC; integer labels by first argmax"),
    ("LinearRegressor", "ai.onnx.ml: linear (MatMul with the coefficients)"),
    ("LessOrEqual", "comparison: b >= a, a Step(-relu(difference))"),
    ("Log", "lookup"),
    ("LSTM", "unrolled over the sequence: MatMuls, sigmoid and tanh lookups, products; peepholes, initial states, forward, reverse and bidirectional, both layouts"),
    ("LpPool", "p = 1: max chip (|x|) and window sums; p = 2: products, window sums, square root; 1-D and 2-D (and GlobalLpPool)"),
    ("LogSoftmax", "decomposition: max, exp and log lookups, sum"),
    ("LpNormalization", "p = 1: max chip and sum; p = 2: products, sum, square root; then division"),
    ("MatMul", "linear (constant B); products and sums (two activations)"),
    ("Max", "max chip: sign of a - b by range decomposition, one row (constants: relu)"),
    ("MaxPool", "max chip, pairwise; 1-D, 2-D and 3-D, strides, pads, dilations, ceil_mode"),
    ("Mean", "linear"),
    ("Min", "max chip (as min), one row (constants: relu)"),
    ("Mish", "lookup"),
    ("Mul", "product (two activations); linear (constant)"),
    ("Neg", "linear"),
    ("Normalizer", "ai.onnx.ml: division by the row's MAX (max chip), L1 or L2 norm"),
    ("Not", "1 - x of a boolean"),
    ("OneHot", "computed indices, last axis: one proven equality test per class, then off + (on - off) x"),
    ("Or", "x + y - x y of booleans"),
    ("Pad", "copy (constant, reflect, edge, wrap)"),
    ("Pow", "products (whole exponents to 16), square root (0.5), division (-1, -0.5), lookup (other p > 0)"),
    ("PRelu", "max chip: max(x, slope x) (slopes in [0, 1]; else x + (1 - slope) relu(-x))"),
    ("Reciprocal", "division"),
    ("RNN", "unrolled over the sequence: MatMuls and a tanh (or sigmoid, relu) per step"),
    ("ReduceL1", "max chip (|x|), then linear"),
    ("ReduceL2", "products, linear, square root"),
    ("ReduceLogSumExp", "max m, exp lookup of x - m, sum, log lookup, plus m"),
    ("ReduceMax", "max chip, pairwise"),
    ("ReduceMean", "linear"),
    ("ReduceMin", "max chip, pairwise, of the negations"),
    ("ReduceSum", "linear"),
    ("ReduceSumSquare", "products, then linear"),
    ("Relu", "decomposition: sign bit of the rescale"),
    ("Reshape", "copy"),
    ("Resize", "copy (nearest)"),
    ("Round", "rescale to scale 0 (remainder range checked); ties round up, where ONNX rounds them to even"),
    ("Scaler", "ai.onnx.ml: linear ((x - offset) * scale)"),
    ("ScatterElements", "copy (constant indices, no reduction)"),
    ("ScatterND", "copy (constant indices, no reduction)"),
    ("Selu", "lookup"),
    ("Sigmoid", "lookup"),
    ("Sign", "(x >= 0) - (x <= 0), two steps"),
    ("Sin", "lookup"),
    ("Sinh", "lookup"),
    ("Slice", "copy"),
    ("Softmax", "decomposition: max, exp lookup, sum, division"),
    ("Softplus", "lookup"),
    ("Softsign", "lookup"),
    ("Split", "copy"),
    ("Sqrt", "decomposition: s^2 <= k x < (s + 1)^2, remainder and slack range checked"),
    ("Squeeze", "copy"),
    ("Sub", "linear"),
    ("Sum", "linear"),
    ("Tan", "lookup (inputs past +-pi/2 are the calibrated range's business)"),
    ("Tanh", "lookup"),
    ("Tile", "copy"),
    ("TopK", "K rounds of the first maximum (as ArgMax), the chosen element set below the minimum after each; largest and smallest; values and indices"),
    ("Transpose", "copy"),
    ("Trilu", "copy (the other triangle: constant zeros)"),
    ("TreeEnsembleClassifier", "ai.onnx.ml: each split a proven comparison, exact at the input scale (Step(-relu(margin))); the reached leaf Step(agreeing tests - depth); leaf weights a MatMul; post_transform NONE, SOFTMAX, LOGISTIC; integer labels by first argmax"),
    ("TreeEnsembleRegressor", "ai.onnx.ml: as TreeEnsembleClassifier; SUM or AVERAGE"),
    ("Unsqueeze", "copy"),
    ("Upsample", "copy (nearest)"),
    ("Where", "copy (constant condition); y + c (x - y) (a computed boolean condition c)"),
    ("Xor", "x + y - 2 x y of booleans"),
    ("ZipMap", "ai.onnx.ml: copy; the probabilities it wraps in dictionaries are proven as a tensor"),
];

/// The supported ops as a Markdown table (`zkonnx ops`, and docs/ops.md).
pub fn ops_table() -> String {
    let mut out = String::from("| ONNX op | how it is proven |\n| --- | --- |\n");
    for (op, how) in OPS {
        out.push_str(&format!("| {op} | {how} |\n"));
    }
    out.push_str(&format!("\nFolded at compile time, on constants only: {}.\n", CONSTANT_OPS.join(", ")));
    out
}

/// ONNX ops folded at compile time only (shape arithmetic); on an activation they are refused.
// (Floor and Ceil fold on constants too, but they are in `OPS`: they also run on activations.)
const CONSTANT_OPS: &[&str] = &["Constant", "Shape", "ConstantOfShape", "Range", "Mod", "NonZero", "ReduceProd"];

pub fn is_supported(op: &str) -> bool {
    OPS.iter().any(|(o, _)| *o == op) || CONSTANT_OPS.contains(&op)
}

pub use external::inline_external_data;

/// A value flowing through the ONNX graph while translating: a folded constant or an IR node.
#[derive(Clone)]
enum Value {
    Const(Tensor<f64>),
    Act(NodeId),
}

/// Read an ONNX file and translate it to the IR.
pub fn load_onnx(bytes: &[u8], path: &str) -> Result<Graph> {
    use tract_onnx::prelude::Framework;
    let model = tract_onnx::onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| CompileError::NotOnnx { path: path.into(), reason: e.to_string() })?;
    load_proto(&model, path)
}

/// Translate a parsed ONNX model to the IR.
fn load_proto(model: &pb::ModelProto, path: &str) -> Result<Graph> {
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| CompileError::NotOnnx { path: path.into(), reason: "the file holds no graph".into() })?;
    check_supported(graph)?;
    let opset =
        model.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map_or(13, |o| o.version);
    if !(1..=MAX_OPSET).contains(&opset) {
        return Err(CompileError::NotOnnx {
            path: path.into(),
            reason: format!(
                "opset {opset}: zkonnx reads ONNX opsets 1 to {MAX_OPSET} (export with an opset in that range)"
            ),
        });
    }
    let mut ir = Translator { opset, ..Translator::default() }.translate(graph)?;
    fold::fold_affine_into_linear(&mut ir);
    Ok(fold::remove_dead_nodes(ir))
}

/// The most activation elements (summed over every node) a model may have: a 2^28-row
/// segmented circuit holds fewer.
const MAX_GRAPH_ELEMENTS: usize = 1 << 27;

/// The newest ONNX opset whose op semantics zkonnx follows; a later one may change an op's
/// meaning, so it is refused rather than read as an older one.
const MAX_OPSET: i64 = 22;

/// Refuse, all at once, every op we cannot compile.
fn check_supported(graph: &pb::GraphProto) -> Result<()> {
    let unsupported: Vec<UnsupportedOp> = graph
        .node
        .iter()
        .filter(|n| match n.domain.as_str() {
            "" | "ai.onnx" => !is_supported(&n.op_type),
            "ai.onnx.ml" => ![trees::TREE_OPS, ml::LINEAR_ML_OPS].concat().contains(&n.op_type.as_str()),
            _ => true,
        })
        .map(|n| UnsupportedOp { op: n.op_type.clone(), node: node_name(n) })
        .collect();
    if unsupported.is_empty() {
        Ok(())
    } else {
        Err(CompileError::Unsupported(unsupported))
    }
}

/// Attributes that never change what a node computes at inference, so leaving them unread loses
/// nothing: documentation, random seeds, training flags at their inference value, and old
/// opsets' layout hints.
fn ignorable(op: &str, a: &pb::AttributeProto) -> bool {
    match (op, a.name.as_str()) {
        (_, "doc_string") | (_, "consumed_inputs") | ("Dropout", "seed" | "is_test" | "ratio") => true,
        ("BatchNormalization", "is_test") | ("BatchNormalization", "momentum") => true,
        ("BatchNormalization", "training_mode") => a.i == 0,
        ("BatchNormalization", "spatial") => a.i == 1,
        // The float precision of the statistics, and the layout of MaxPool's Indices output
        // (which zkonnx does not produce): neither changes the integer semantics.
        ("LayerNormalization", "stash_type") | ("MaxPool", "storage_order") => true,
        _ => false,
    }
}

fn node_name(n: &NodeProto) -> String {
    if !n.name.is_empty() {
        n.name.clone()
    } else {
        n.output.first().cloned().unwrap_or_else(|| n.op_type.clone())
    }
}

#[derive(Default)]
struct Translator {
    nodes: Vec<Node>,
    env: HashMap<String, Value>,
    /// Node names in use: IR names are unique, since settings refer to nodes by name.
    names: std::collections::HashSet<String>,
    /// The model's default-domain opset (some defaults changed over versions).
    opset: i64,
    /// Nodes whose values are booleans (0 or 1): comparisons' and logic ops' results.
    booleans: std::collections::HashSet<NodeId>,
    /// The ONNX element types of the values, where known (integer results truncate).
    types: types::ElemTypes,
}

/// One ONNX node being translated: its name for errors, and which of its inputs the translation
/// read (an input nobody read is one the circuit would silently drop).
struct Ctx<'a> {
    node: &'a NodeProto,
    name: String,
    used: std::cell::RefCell<Vec<bool>>,
}

impl<'a> Ctx<'a> {
    fn new(node: &'a NodeProto) -> Self {
        Ctx { node, name: node_name(node), used: std::cell::RefCell::new(vec![false; node.input.len()]) }
    }

    /// Refuse, by name, an input or attribute the translation did not read: its meaning would be
    /// lost (an op written with another op's attributes, or a feature zkonnx does not implement).
    fn check_all_read(&self, attrs: &Attrs) -> Result<()> {
        let used = self.used.borrow();
        if let Some(i) = (0..self.node.input.len()).find(|&i| !self.node.input[i].is_empty() && !used[i]) {
            return Err(self.err(format!(
                "input {i} ({}) is not supported: zkonnx does not read it for this op",
                self.node.input[i]
            )));
        }
        let unread: Vec<String> =
            attrs.unread().into_iter().filter(|a| !ignorable(&self.node.op_type, a)).map(|a| a.name.clone()).collect();
        if !unread.is_empty() {
            return Err(self.err(format!(
                "attribute{} {} {} not supported for this op: zkonnx would ignore {}",
                if unread.len() > 1 { "s" } else { "" },
                unread.join(", "),
                if unread.len() > 1 { "are" } else { "is" },
                if unread.len() > 1 { "them" } else { "it" },
            )));
        }
        Ok(())
    }

    fn err(&self, reason: impl Into<String>) -> CompileError {
        CompileError::Node { node: self.name.clone(), op: self.node.op_type.clone(), reason: reason.into() }
    }
}

impl Translator {
    fn translate(mut self, graph: &pb::GraphProto) -> Result<Graph> {
        self.types = types::ElemTypes::of_graph(graph);
        for init in &graph.initializer {
            self.env.insert(init.name.clone(), Value::Const(load_tensor(init, &init.name)?));
        }
        let mut index = 0;
        for input in &graph.input {
            if self.env.contains_key(&input.name) {
                continue; // an initializer listed as input (older exporters)
            }
            let shape = input_shape(input)?;
            self.push_named(&input.name, input.name.clone(), Op::Input { index }, vec![], shape);
            if is_bool(input) {
                let b = self.boolean_model_input(&input.name, self.nodes.len() - 1);
                self.env.insert(input.name.clone(), Value::Act(b));
            }
            index += 1;
        }
        let mut elements = 0usize;
        for node in &graph.node {
            let before = self.nodes.len();
            // A node the translator misreads (a malformed model whose shapes or attributes
            // contradict each other) stops at an internal check: one line naming it.
            crate::panics::caught(|| self.translate_node(node)).map_err(|why| CompileError::Node {
                node: node_name(node),
                op: node.op_type.clone(),
                reason: format!("its inputs, shapes or attributes are inconsistent ({why})"),
            })??;
            // Every activation element costs the circuit at least a cell, and the translator
            // memory: past this, no machine proves it, and compile stops before it runs out.
            elements = self.nodes[before..].iter().fold(elements, |n, v| n.saturating_add(v.shape.iter().product()));
            if elements > MAX_GRAPH_ELEMENTS {
                return Err(CompileError::Node {
                    node: node_name(node),
                    op: node.op_type.clone(),
                    reason: format!(
                        "the model's activations reach {elements} elements here, past the {MAX_GRAPH_ELEMENTS} \
                         any circuit zkonnx can prove holds"
                    ),
                });
            }
        }
        let mut outputs = vec![];
        for out in &graph.output {
            match self.env.get(&out.name) {
                Some(Value::Act(id)) => outputs.push(*id),
                Some(Value::Const(_)) => {
                    return Err(CompileError::Plan(format!(
                        "model output {} is a constant; there is nothing to prove",
                        out.name
                    )))
                }
                None => {
                    return Err(CompileError::Plan(format!("model output {} is not produced by any node", out.name)))
                }
            }
        }
        if outputs.is_empty() {
            return Err(CompileError::Plan("the model has no outputs; there is nothing to prove".into()));
        }
        let graph = Graph { nodes: self.nodes, outputs };
        graph.check_constants()?;
        Ok(graph)
    }

    /// Add an IR node and bind its output name.
    fn push_named(&mut self, output: &str, name: String, op: Op, inputs: Vec<NodeId>, shape: Vec<usize>) {
        let id = self.nodes.len();
        self.nodes.push(Node { name, op, inputs, shape });
        self.env.insert(output.to_string(), Value::Act(id));
    }

    fn unique(&mut self, name: String) -> String {
        let mut candidate = name.clone();
        let mut n = 1;
        while !self.names.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{name}#{n}");
        }
        candidate
    }

    /// Input i, marked read.
    fn input(&self, ctx: &Ctx, i: usize) -> Result<Value> {
        let value = self.peek(ctx, i)?;
        ctx.used.borrow_mut()[i] = true;
        Ok(value)
    }

    /// Input i, without marking it read (to choose how to translate the node).
    fn peek(&self, ctx: &Ctx, i: usize) -> Result<Value> {
        let name =
            ctx.node.input.get(i).filter(|n| !n.is_empty()).ok_or_else(|| ctx.err(format!("missing input {i}")))?;
        self.env.get(name).cloned().ok_or_else(|| ctx.err(format!("input {name} is not defined")))
    }

    fn optional_const(&self, ctx: &Ctx, i: usize) -> Result<Option<Tensor<f64>>> {
        match ctx.node.input.get(i).filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(_) => match self.input(ctx, i)? {
                Value::Const(t) => Ok(Some(t)),
                Value::Act(_) => Err(ctx.err(format!("input {i} must be a constant (an initializer)"))),
            },
        }
    }

    fn const_input(&self, ctx: &Ctx, i: usize) -> Result<Tensor<f64>> {
        self.optional_const(ctx, i)?.ok_or_else(|| ctx.err(format!("missing input {i}")))
    }

    fn shape(&self, id: NodeId) -> Vec<usize> {
        self.nodes[id].shape.clone()
    }

    fn translate_node(&mut self, node: &NodeProto) -> Result<()> {
        let (ctx, attrs) = (Ctx::new(node), Attrs::new(node));
        self.dispatch(&ctx, &attrs)?;
        self.integer_semantics(&ctx, &attrs);
        ctx.check_all_read(&attrs)
    }

    fn dispatch(&mut self, ctx: &Ctx, attrs: &Attrs) -> Result<()> {
        let node = ctx.node;
        let out = node.output.first().cloned().unwrap_or_default();
        let op = node.op_type.as_str();

        if node.domain == "ai.onnx.ml" {
            return match ml::LINEAR_ML_OPS.contains(&op) {
                true => self.linear_ml_op(ctx, attrs),
                false => self.tree_op(ctx, attrs),
            };
        }
        // Folding: every input constant, or an op that only ever works on constants.
        let inputs: Vec<Value> = (0..node.input.len())
            .filter(|&i| !node.input[i].is_empty())
            .map(|i| self.peek(ctx, i))
            .collect::<Result<_>>()?;
        let all_const = inputs.iter().all(|v| matches!(v, Value::Const(_)));
        if op == "Shape" {
            let shape = match self.input(ctx, 0)? {
                Value::Act(id) => self.shape(id),
                Value::Const(t) => t.shape.clone(),
            };
            // Opset 15's start and end slice the shape (negative from the end, clamped).
            let clamp = |i: i64| (if i < 0 { i + shape.len() as i64 } else { i }).clamp(0, shape.len() as i64) as usize;
            let (start, end) = (clamp(attrs.int("start", 0)), clamp(attrs.int("end", shape.len() as i64)));
            let data: Vec<f64> = shape[start..end.max(start)].iter().map(|&d| d as f64).collect();
            self.env.insert(out, Value::Const(Tensor::new(vec![data.len()], data)));
            return Ok(());
        }
        if op == "Constant" || (all_const && op != "Identity" && op != "Dropout") {
            let positional: Vec<Option<Tensor<f64>>> = (0..node.input.len())
                .map(|i| match self.input(ctx, i) {
                    Ok(Value::Const(t)) => Some(t),
                    _ => None,
                })
                .collect();
            let values = if structural::STRUCTURAL_OPS.contains(&op) {
                let refs: Vec<Option<&Tensor<f64>>> = positional.iter().map(|t| t.as_ref()).collect();
                structural::eval(op, &refs, attrs, node.output.len())
            } else if let (Some(f), Some(Some(x))) = (lookup_func(op, attrs), positional.first()) {
                Ok(vec![x.map(|&v| f.eval(v))])
            } else {
                consts::fold(op, &positional.into_iter().flatten().collect::<Vec<_>>(), attrs).map(|t| vec![t])
            }
            .map_err(|reason| ctx.err(reason))?;
            for (name, value) in node.output.iter().zip(values) {
                self.env.insert(name.clone(), Value::Const(value));
            }
            return Ok(());
        }
        // Gather and GatherElements by computed indices (embeddings, lookups in activations).
        if matches!(op, "Gather" | "GatherElements") && matches!(inputs.get(1), Some(Value::Act(_))) {
            return self.gather_by_value(ctx, attrs, &out);
        }
        if recurrent::RECURRENT_OPS.contains(&op) {
            return self.recurrent(ctx, attrs);
        }
        if reduce::REDUCE_OPS.contains(&op) {
            return self.reduction(ctx, attrs, &out);
        }
        // Comparisons and logic on activations; Where with a computed condition.
        if logic::LOGIC_OPS.contains(&op) && (op != "Where" || matches!(inputs.first(), Some(Value::Act(_)))) {
            return self.logic(ctx, &out);
        }
        if CONSTANT_OPS.contains(&op) {
            return Err(
                ctx.err("this op is supported only on constants (shape arithmetic), but it reads an activation")
            );
        }
        if let Some(f) = lookup_func(op, attrs) {
            let x = self.act_input(ctx, 0)?;
            let shape = self.shape(x);
            self.push_named(&out, ctx.name.clone(), Op::Func { f }, vec![x], shape);
            return Ok(());
        }
        if structural::STRUCTURAL_OPS.contains(&op)
            && !matches!(op, "Identity" | "Dropout" | "Cast" | "Reshape" | "Flatten" | "Transpose")
        {
            return self.structural(ctx, attrs);
        }

        match op {
            "Identity" | "Dropout" => {
                // Dropout's ratio does nothing at inference; training mode would drop values.
                if self.optional_const(ctx, 1)?.is_some() && op == "Identity" {
                    return Err(ctx.err("Identity takes one input"));
                }
                if self.optional_const(ctx, 2)?.is_some_and(|t| t.data.iter().any(|&v| v != 0.0)) {
                    return Err(ctx.err("training_mode is on: dropout is random at training time"));
                }
                let v = self.input(ctx, 0)?;
                self.env.insert(out, v);
            }
            "Cast" => self.cast(ctx, attrs, &out)?,
            // Every value the circuit holds is a finite integer: the test is false everywhere.
            "IsNaN" | "IsInf" => {
                let x = self.act_input(ctx, 0)?;
                let _ = (attrs.has("detect_negative"), attrs.has("detect_positive"));
                let shape = self.shape(x);
                let n = shape.iter().product();
                self.env.insert(out, Value::Const(Tensor::new(shape, vec![0.0; n])));
            }
            "Relu" => {
                let x = self.act_input(ctx, 0)?;
                let shape = self.shape(x);
                self.push_named(&out, ctx.name.clone(), Op::Relu, vec![x], shape);
            }
            "Floor" | "Ceil" | "Round" => {
                let x = self.act_input(ctx, 0)?;
                let shape = self.shape(x);
                let mode = match op {
                    "Floor" => RoundMode::Floor,
                    "Ceil" => RoundMode::Ceil,
                    _ => RoundMode::Nearest,
                };
                self.push_named(&out, ctx.name.clone(), Op::Round { mode }, vec![x], shape);
            }
            "Gemm" => self.gemm(ctx, attrs, &out)?,
            "CumSum" => self.cumsum(ctx, attrs, &out)?,
            "TopK" => self.top_k(ctx, attrs)?,
            "OneHot" => self.one_hot(ctx, attrs, &out)?,
            "LpPool" | "GlobalLpPool" => self.lp_pool(ctx, attrs, &out)?,
            "MatMul" => {
                let x = self.act_input(ctx, 0)?;
                if let Value::Act(b) = self.input(ctx, 1)? {
                    let y = self.matmul_acts(ctx, x, b)?;
                    self.env.insert(out, Value::Act(y));
                    return Ok(());
                }
                let w = self.const_input(ctx, 1)?;
                let xs = self.shape(x);
                if w.shape.len() != 2 || xs.last() != Some(&w.shape[0]) {
                    return Err(
                        ctx.err(format!("only x @ W with a 2-D constant W is supported; got {xs:?} @ {:?}", w.shape))
                    );
                }
                let mut shape = xs.clone();
                if let Some(last) = shape.last_mut() {
                    *last = w.shape[1];
                }
                self.push_named(&out, ctx.name.clone(), Op::MatMul { weight: w, bias: None }, vec![x], shape);
            }
            "Conv" => self.conv(ctx, attrs, &out)?,
            "BatchNormalization" => {
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
                let op =
                    Op::Affine { mul: Some(Tensor::new(cshape.clone(), mul)), add: Some(Tensor::new(cshape, add)) };
                self.push_named(&out, ctx.name.clone(), op, vec![x], shape);
            }
            "Add" | "Sub" | "Mul" | "Div" => self.binary(ctx, &out)?,
            "AveragePool" | "GlobalAveragePool" => self.avg_pool(ctx, attrs, &out)?,
            "Flatten" => {
                let x = self.act_input(ctx, 0)?;
                let shape = self.shape(x);
                let axis = normalize_axis(attrs.int("axis", 1), shape.len() + 1)
                    .ok_or_else(|| ctx.err("axis out of range"))?;
                let new = vec![shape[..axis].iter().product(), shape[axis..].iter().product()];
                self.push_named(&out, ctx.name.clone(), Op::Reshape, vec![x], new);
            }
            "Reshape" => {
                let x = self.act_input(ctx, 0)?;
                let target = self.const_input(ctx, 1)?;
                let shape = consts::reshape_target(&self.shape(x), &target.data, attrs.int("allowzero", 0) != 0)
                    .map_err(|r| ctx.err(r))?;
                self.push_named(&out, ctx.name.clone(), Op::Reshape, vec![x], shape);
            }
            "Transpose" => {
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
                self.push_named(&out, ctx.name.clone(), Op::Transpose { perm }, vec![x], new);
            }
            "Max" | "Min" => {
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
                    acc =
                        if op == "Max" { self.max_const(&ctx.name, acc, c) } else { self.min_const(&ctx.name, acc, c) };
                }
                self.env.insert(out, Value::Act(acc));
            }
            "Clip" => {
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
                self.env.insert(out, Value::Act(acc));
            }
            "Neg" => {
                let x = self.act_input(ctx, 0)?;
                let y = self.negate(&ctx.name, x);
                self.env.insert(out, Value::Act(y));
            }
            "Abs" => {
                let x = self.act_input(ctx, 0)?;
                let y = self.abs(&ctx.name, x);
                self.env.insert(out, Value::Act(y));
            }
            "MaxPool" | "GlobalMaxPool" => self.max_pool(ctx, attrs, &out)?,
            "LeakyRelu" | "PRelu" => {
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
                self.env.insert(out, Value::Act(y));
            }
            "HardSigmoid" | "HardSwish" => {
                let x = self.act_input(ctx, 0)?;
                let y = if op == "HardSigmoid" {
                    let (alpha, beta) = (attrs.float("alpha", 0.2) as f64, attrs.float("beta", 0.5) as f64);
                    self.hard_sigmoid(&ctx.name, x, alpha, beta)
                } else {
                    let h = self.hard_sigmoid(&format!("{}/gate", ctx.name), x, 1.0 / 6.0, 0.5);
                    self.binary_node(&ctx.name, BinaryKind::Mul, x, h)
                };
                self.env.insert(out, Value::Act(y));
            }
            "Reciprocal" => {
                let x = self.act_input(ctx, 0)?;
                let y = self.divide(&ctx.name, None, x);
                self.env.insert(out, Value::Act(y));
            }
            "Pow" => {
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
                    _ if p > 0.0 && p.is_finite() => {
                        let shape = self.shape(x);
                        self.add_node(&name, Op::Func { f: Func::Pow { exponent: p } }, vec![x], shape)
                    }
                    _ => {
                        return Err(ctx.err(format!(
                            "exponent {p} is not supported: x^p is infinite at 0 for p < 0 (-1 and -0.5 are divisions)"
                        )))
                    }
                };
                self.env.insert(out, Value::Act(y));
            }
            "Softmax" | "LogSoftmax" => {
                let x = self.act_input(ctx, 0)?;
                let rank = self.shape(x).len();
                let default = if self.opset >= 13 { -1 } else { 1 };
                let axis =
                    normalize_axis(attrs.int("axis", default), rank).ok_or_else(|| ctx.err("axis out of range"))?;
                // Before opset 13 the input is flattened to 2-D at `axis`: softmax over every axis after it.
                let axes: Vec<usize> = if self.opset >= 13 { vec![axis] } else { (axis..rank).collect() };
                let y = self.softmax(&ctx.name, x, &axes, op == "LogSoftmax");
                self.env.insert(out, Value::Act(y));
            }
            "Sum" | "Mean" => {
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
                    let shape = broadcast_shape(&self.shape(y), &c.shape)
                        .ok_or_else(|| ctx.err("operands do not broadcast"))?;
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
                self.env.insert(out, Value::Act(y));
            }
            "LayerNormalization" => {
                let x = self.act_input(ctx, 0)?;
                let rank = self.shape(x).len();
                let axis = normalize_axis(attrs.int("axis", -1), rank).ok_or_else(|| ctx.err("axis out of range"))?;
                let eps = attrs.float("epsilon", 1e-5) as f64;
                let (scale, bias) = (self.optional_const(ctx, 1)?, self.optional_const(ctx, 2)?);
                if node.output.iter().skip(1).any(|o| !o.is_empty()) {
                    return Err(ctx.err("the Mean and InvStdDev outputs are not supported"));
                }
                let y = self.layer_norm(&ctx.name, x, axis, eps, scale, bias);
                self.env.insert(out, Value::Act(y));
            }
            "ConvTranspose" => self.conv_transpose(ctx, attrs, &out)?,
            "Sqrt" => {
                let x = self.act_input(ctx, 0)?;
                let y = self.sqrt(&ctx.name, x);
                self.env.insert(out, Value::Act(y));
            }
            "LpNormalization" => self.lp_normalization(ctx, attrs, &out)?,
            "Hardmax" => {
                let x = self.act_input(ctx, 0)?;
                let rank = self.shape(x).len();
                let default = if self.opset >= 13 { -1 } else { 1 };
                let axis =
                    normalize_axis(attrs.int("axis", default), rank).ok_or_else(|| ctx.err("axis out of range"))?;
                if self.opset < 13 && axis + 1 != rank {
                    return Err(
                        ctx.err("before opset 13 Hardmax flattens from its axis on; only the last axis is supported")
                    );
                }
                let y = self.one_hot_of_max(&ctx.name, x, axis, false);
                self.booleans.insert(y);
                self.env.insert(out, Value::Act(y));
            }
            "ArgMax" => {
                let x = self.act_input(ctx, 0)?;
                let rank = self.shape(x).len();
                let axis = normalize_axis(attrs.int("axis", 0), rank).ok_or_else(|| ctx.err("axis out of range"))?;
                let (keepdims, last) = (attrs.int("keepdims", 1) != 0, attrs.int("select_last_index", 0) != 0);
                let y = self.arg_max(&ctx.name, x, axis, keepdims, last);
                self.env.insert(out, Value::Act(y));
            }
            "InstanceNormalization" => {
                let x = self.act_input(ctx, 0)?;
                let xs = self.shape(x);
                let (scale, bias) = (self.const_input(ctx, 1)?, self.const_input(ctx, 2)?);
                if xs.len() < 3 || scale.len() != xs[1] || bias.len() != xs[1] {
                    return Err(ctx.err("expects input [N, C, ...] and per-channel scale and bias of length C"));
                }
                let per_channel = |t: Tensor<f64>| Tensor::new([vec![xs[1]], vec![1; xs.len() - 2]].concat(), t.data);
                let eps = attrs.float("epsilon", 1e-5) as f64;
                let y = self.layer_norm(&ctx.name, x, 2, eps, Some(per_channel(scale)), Some(per_channel(bias)));
                self.env.insert(out, Value::Act(y));
            }
            other => return Err(ctx.err(format!("{other} is not supported here"))),
        }
        Ok(())
    }

    /// A structural op on activations: evaluated on a tensor of element indices (activations'
    /// elements first, then constant operands' values), whose result becomes a `Gather`.
    fn structural(&mut self, ctx: &Ctx, attrs: &Attrs) -> Result<()> {
        let (node, op) = (ctx.node, ctx.node.op_type.as_str());
        let data = structural::data_inputs(op, node.input.len());
        let mut values: Vec<Option<Value>> = vec![];
        for i in 0..node.input.len() {
            values.push(if node.input[i].is_empty() { None } else { Some(self.input(ctx, i)?) });
        }
        let mut acts: Vec<NodeId> = vec![];
        let mut positional: Vec<Option<Tensor<f64>>> = vec![None; values.len()];
        let mut offset = 0usize;
        for (i, v) in values.iter().enumerate() {
            match (v, data.contains(&i)) {
                (Some(Value::Act(id)), true) => {
                    let shape = self.shape(*id);
                    let n: usize = shape.iter().product();
                    positional[i] = Some(Tensor::new(shape, (offset..offset + n).map(|j| j as f64).collect()));
                    offset += n;
                    acts.push(*id);
                }
                (Some(Value::Act(_)), false) => {
                    return Err(ctx.err(format!(
                        "input {i} must be a constant: only data inputs may be activations (of the indexing ops, \
                         Gather and GatherElements take computed indices)"
                    )))
                }
                (Some(Value::Const(t)), false) => positional[i] = Some(t.clone()),
                _ => {}
            }
        }
        let mut consts: Vec<f64> = vec![];
        for (i, v) in values.iter().enumerate() {
            if let (Some(Value::Const(t)), true) = (v, data.contains(&i)) {
                let first = offset + consts.len();
                consts.extend(&t.data);
                positional[i] =
                    Some(Tensor::new(t.shape.clone(), (first..first + t.len()).map(|j| j as f64).collect()));
            }
        }
        if op == "Trilu" {
            // The zeros of the other triangle are a constant element.
            positional.resize(positional.len().max(3), None);
            positional[2] = Some(Tensor::new(vec![], vec![(offset + consts.len()) as f64]));
            consts.push(0.0);
        }
        let constant_pad = attrs.string("mode").is_none_or(|m| m == "constant");
        if op == "Pad" && constant_pad {
            // The padding value is a constant element too.
            let value = match positional.get(2).cloned().flatten() {
                Some(t) => t.data.first().copied().unwrap_or(0.0),
                None => attrs.float("value", 0.0) as f64,
            };
            positional.resize(positional.len().max(3), None);
            positional[2] = Some(Tensor::new(vec![], vec![(offset + consts.len()) as f64]));
            consts.push(value);
        }
        let refs: Vec<Option<&Tensor<f64>>> = positional.iter().map(|t| t.as_ref()).collect();
        let results = structural::eval(op, &refs, attrs, node.output.len()).map_err(|r| ctx.err(r))?;
        for (j, (name, t)) in node.output.iter().zip(results).enumerate() {
            if name.is_empty() {
                continue;
            }
            let indices: Vec<usize> = t.data.iter().map(|&v| v as usize).collect();
            let identity = consts.is_empty()
                && acts.len() == 1
                && indices.iter().enumerate().all(|(i, &v)| i == v)
                && indices.len() == offset;
            let ir = if identity { Op::Reshape } else { Op::Gather { indices, consts: consts.clone() } };
            let label = if j == 0 { ctx.name.clone() } else { format!("{}:{j}", ctx.name) };
            let label = self.unique(label);
            self.push_named(name, label, ir, acts.clone(), t.shape.clone());
        }
        Ok(())
    }

    fn act_input(&self, ctx: &Ctx, i: usize) -> Result<NodeId> {
        match self.input(ctx, i)? {
            Value::Act(id) => Ok(id),
            Value::Const(_) => Err(ctx.err(format!("input {i} is a constant; expected an activation"))),
        }
    }

    /// Gemm of two activations: transposes, the product, alpha, then C.
    fn gemm_acts(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str, a: NodeId, b: NodeId) -> Result<()> {
        let transposed = |t: &mut Self, x: NodeId, attr: &str| -> Result<NodeId> {
            let xs = t.shape(x);
            if xs.len() != 2 {
                return Err(ctx.err("Gemm needs 2-D A and B"));
            }
            Ok(if attrs.int(attr, 0) != 0 {
                t.add_node(
                    &format!("{}/{attr}", ctx.name),
                    Op::Transpose { perm: vec![1, 0] },
                    vec![x],
                    vec![xs[1], xs[0]],
                )
            } else {
                x
            })
        };
        let (a, b) = (transposed(self, a, "transA")?, transposed(self, b, "transB")?);
        let mut y = self.matmul_acts(ctx, a, b)?;
        let alpha = attrs.float("alpha", 1.0) as f64;
        if alpha != 1.0 {
            y = self.affine(&format!("{}/alpha", ctx.name), y, Some(Tensor::new(vec![], vec![alpha])), None);
        }
        let beta = attrs.float("beta", 1.0) as f64;
        match ctx.node.input.get(2).filter(|n| !n.is_empty()).map(|_| self.input(ctx, 2)).transpose()? {
            None => {}
            Some(Value::Const(c)) => {
                let shape = broadcast_shape(&self.shape(y), &c.shape).ok_or_else(|| ctx.err("C does not broadcast"))?;
                let op = Op::Affine { mul: None, add: Some(c.map(|v| beta * v)) };
                y = self.add_node(&format!("{}/c", ctx.name), op, vec![y], shape);
            }
            Some(Value::Act(c)) => {
                let c = if beta != 1.0 {
                    self.affine(&format!("{}/beta", ctx.name), c, Some(Tensor::new(vec![], vec![beta])), None)
                } else {
                    c
                };
                y = self.binary_node(&format!("{}/c", ctx.name), BinaryKind::Add, y, c);
            }
        }
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    fn gemm(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let mut a = self.act_input(ctx, 0)?;
        if let Value::Act(b) = self.input(ctx, 1)? {
            return self.gemm_acts(ctx, attrs, out, a, b);
        }
        let b = self.const_input(ctx, 1)?;
        let c = self.optional_const(ctx, 2)?;
        let (alpha, beta) = (attrs.float("alpha", 1.0) as f64, attrs.float("beta", 1.0) as f64);
        let a_shape = self.shape(a);
        if a_shape.len() != 2 || b.shape.len() != 2 {
            return Err(ctx.err("Gemm needs 2-D A and B"));
        }
        if attrs.int("transA", 0) != 0 {
            let shape = vec![a_shape[1], a_shape[0]];
            let name = self.unique(format!("{}/transA", ctx.name));
            self.nodes.push(Node { name, op: Op::Transpose { perm: vec![1, 0] }, inputs: vec![a], shape });
            a = self.nodes.len() - 1;
        }
        let (m, k) = (self.shape(a)[0], self.shape(a)[1]);
        let (bk, n) = if attrs.int("transB", 0) != 0 { (b.shape[1], b.shape[0]) } else { (b.shape[0], b.shape[1]) };
        if bk != k {
            return Err(ctx.err(format!("A has {k} columns but B has {bk} rows")));
        }
        let mut w = vec![0.0; k * n];
        for i in 0..k {
            for j in 0..n {
                let v = if attrs.int("transB", 0) != 0 { b.data[j * k + i] } else { b.data[i * n + j] };
                w[i * n + j] = alpha * v;
            }
        }
        let bias = match c {
            None => None,
            Some(c) => {
                let ok = broadcast_shape(&c.shape, &[1, n]).is_some_and(|s| s == [1, n]);
                if !ok {
                    return Err(ctx.err(format!("bias C of shape {:?} must broadcast to [1, {n}]", c.shape)));
                }
                Some((0..n).map(|j| beta * c.data[if c.len() == 1 { 0 } else { j }]).collect())
            }
        };
        let op = Op::MatMul { weight: Tensor::new(vec![k, n], w), bias };
        self.push_named(out, ctx.name.clone(), op, vec![a], vec![m, n]);
        Ok(())
    }

    fn binary(&mut self, ctx: &Ctx, out: &str) -> Result<()> {
        let op = ctx.node.op_type.as_str();
        let (a, b) = (self.input(ctx, 0)?, self.input(ctx, 1)?);
        let shape_of = |v: &Value| match v {
            Value::Act(id) => self.shape(*id),
            Value::Const(t) => t.shape.clone(),
        };
        let shape = broadcast_shape(&shape_of(&a), &shape_of(&b))
            .ok_or_else(|| ctx.err(format!("shapes {:?} and {:?} do not broadcast", shape_of(&a), shape_of(&b))))?;
        let (ir_op, input) = match (a, b) {
            (Value::Act(x), Value::Act(y)) => {
                let kind = match op {
                    "Add" => BinaryKind::Add,
                    "Sub" => BinaryKind::Sub,
                    "Mul" => BinaryKind::Mul,
                    _ => {
                        self.push_named(out, ctx.name.clone(), Op::Div { max: None }, vec![x, y], shape);
                        return Ok(());
                    }
                };
                self.push_named(out, ctx.name.clone(), Op::Binary { kind }, vec![x, y], shape);
                return Ok(());
            }
            (Value::Act(x), Value::Const(c)) => {
                let op = match op {
                    "Add" => Op::Affine { mul: None, add: Some(c) },
                    "Sub" => Op::Affine { mul: None, add: Some(c.map(|v| -v)) },
                    "Mul" => Op::Affine { mul: Some(c), add: None },
                    _ => {
                        if c.data.contains(&0.0) {
                            return Err(ctx.err("division by a constant that contains zero"));
                        }
                        Op::Affine { mul: Some(c.map(|v| 1.0 / v)), add: None }
                    }
                };
                (op, x)
            }
            (Value::Const(c), Value::Act(x)) => {
                let op = match op {
                    "Add" => Op::Affine { mul: None, add: Some(c) },
                    "Sub" => Op::Affine { mul: Some(Tensor::new(vec![], vec![-1.0])), add: Some(c) },
                    "Mul" => Op::Affine { mul: Some(c), add: None },
                    _ => {
                        // c / x = c * (1 / x).
                        let r = self.divide(&format!("{}/reciprocal", ctx.name), None, x);
                        self.push_named(out, ctx.name.clone(), Op::Affine { mul: Some(c), add: None }, vec![r], shape);
                        return Ok(());
                    }
                };
                (op, x)
            }
            (Value::Const(_), Value::Const(_)) => return Err(ctx.err("internal: constant operands were not folded")),
        };
        self.push_named(out, ctx.name.clone(), ir_op, vec![input], shape);
        Ok(())
    }
}

impl Translator {
    /// Cast of an activation: a copy, for every data type the cast may name (an unknown or
    /// unsupported one is refused). Casting a fractional value to an integer type truncates in
    /// ONNX and is copied here: issue 27's integer_div, left open.
    fn cast(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        consts::cast_kind(attrs.int("to", 1)).map_err(|e| ctx.err(e))?;
        let v = self.input(ctx, 0)?;
        self.env.insert(out.to_string(), v);
        Ok(())
    }
}

/// Whether a graph input is a tensor of booleans.
fn is_bool(input: &pb::ValueInfoProto) -> bool {
    use pb::type_proto::Value as Type;
    const BOOL: i32 = 9; // TensorProto.DataType.BOOL
    matches!(input.r#type.as_ref().and_then(|t| t.value.as_ref()), Some(Type::TensorType(t)) if t.elem_type == BOOL)
}

fn input_shape(input: &pb::ValueInfoProto) -> Result<Vec<usize>> {
    use pb::tensor_shape_proto::dimension::Value as Dim;
    use pb::type_proto::Value as Type;
    let bad = |why: &str| CompileError::Plan(format!("model input {}: {why}", input.name));
    let tensor = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(t)) => t,
        _ => return Err(bad("not a tensor")),
    };
    let dims = tensor.shape.as_ref().ok_or_else(|| bad("no shape"))?;
    // Symbolic dimensions (batch) are fixed to 1; a fixed one must be positive.
    let shape = dims
        .dim
        .iter()
        .map(|d| match d.value {
            Some(Dim::DimValue(v)) if v > 0 => Ok(v as usize),
            Some(Dim::DimValue(v)) => Err(bad(&format!("dimension {v}; every dimension must be positive"))),
            _ => Ok(1),
        })
        .collect::<Result<Vec<usize>>>()?;
    let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).filter(|&n| n <= MAX_INPUT_ELEMENTS);
    if elements.is_none() {
        return Err(bad(&format!("shape {shape:?} has more than {MAX_INPUT_ELEMENTS} elements")));
    }
    Ok(shape)
}

/// The most elements a model input may have: far past any circuit this machine can prove (each
/// element takes a row), and a bound before anything is allocated for it.
const MAX_INPUT_ELEMENTS: usize = 1 << 24;

/// The ops computed by one table lookup.
fn lookup_func(op: &str, attrs: &Attrs) -> Option<Func> {
    let alpha = |d: f32| attrs.float("alpha", d) as f64;
    Some(match op {
        "Sigmoid" => Func::Sigmoid,
        "Tanh" => Func::Tanh,
        "Exp" => Func::Exp,
        "Log" => Func::Log,
        "Erf" => Func::Erf,
        "Softplus" => Func::Softplus,
        "Softsign" => Func::Softsign,
        "Sin" => Func::Sin,
        "Cos" => Func::Cos,
        "Atan" => Func::Atan,
        "Tan" => Func::Tan,
        "Asin" => Func::Asin,
        "Acos" => Func::Acos,
        "Sinh" => Func::Sinh,
        "Cosh" => Func::Cosh,
        "Asinh" => Func::Asinh,
        "Acosh" => Func::Acosh,
        "Atanh" => Func::Atanh,
        "Mish" => Func::Mish,
        "Elu" => Func::Elu { alpha: alpha(1.0) },
        "Celu" => Func::Celu { alpha: alpha(1.0) },
        "Selu" => Func::Selu { alpha: alpha(1.673_263_2), gamma: attrs.float("gamma", 1.050_701) as f64 },
        "Gelu" if attrs.string("approximate").as_deref() == Some("tanh") => Func::GeluTanh,
        "Gelu" => Func::Gelu,
        _ => return None,
    })
}

fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    (0..rank as i64).contains(&a).then_some(a as usize)
}

#[cfg(test)]
mod tests;
