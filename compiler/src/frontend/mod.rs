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
mod ops;
mod recurrent;
mod reduce;
mod scatter;
mod structural;
mod topk;
mod trees;
mod types;

use crate::error::{CompileError, Result, UnsupportedOp};
use crate::ir::{BinaryKind, Func, Graph, InputKind, Node, NodeId, Op};
use crate::tensor::{broadcast_shape, Tensor};
use attrs::{load_tensor, Attrs};
use ops::Domain;
use std::collections::HashMap;
use tract_onnx::pb::{self, NodeProto};

pub use ops::ops_table;

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
        .filter(|n| match Domain::of(&n.domain) {
            Some(domain) => !ops::supported(&n.op_type, domain),
            None => true,
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
            let kind = match self.types.get(&input.name) {
                Some(t) if types::is_integer(t) => InputKind::Integer { selects: None },
                _ => InputKind::Real,
            };
            self.push_named(&input.name, input.name.clone(), Op::Input { index, kind }, vec![], shape);
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
            match self.env.get(&out.name).cloned() {
                Some(Value::Act(id)) => outputs.push(id),
                // A constant output (a model without inputs, such as Range's) is proven as fixed
                // cells: the verifier learns it is the compiled model's.
                Some(constant @ Value::Const(_)) => outputs.push(self.activation(&out.name, constant)),
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
            let spec = ops::find(op, Domain::Ml).ok_or_else(|| ctx.err("not an ai.onnx.ml op zkonnx reads"))?;
            return (spec.translate)(self, ctx, attrs, &out);
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
        if ops::FOLDED_ONLY.contains(&op) {
            return Err(
                ctx.err("this op is supported only on constants (shape arithmetic), but it reads an activation")
            );
        }
        match Domain::of(&node.domain).and_then(|d| ops::find(op, d)) {
            Some(spec) => (spec.translate)(self, ctx, attrs, &out),
            None => Err(ctx.err(format!("{op} is not supported here"))),
        }
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
