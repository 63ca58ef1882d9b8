//! ONNX -> IR. The protobuf is read with tract-onnx; each ONNX node is translated here, so that errors
//! name the ONNX op and node the user sees in their exporter. Constants and shape arithmetic are
//! folded as they are met; `fold` then merges affine constants into the layer before them.

mod attrs;
mod compare;
mod consts;
mod fold;

use crate::error::{CompileError, Result, UnsupportedOp};
use crate::ir::{BinaryKind, Graph, Node, NodeId, Op};
use crate::tensor::{broadcast_shape, Tensor};
use attrs::{load_tensor, Attrs};
use std::collections::HashMap;
use tract_onnx::pb::{self, NodeProto};

/// ONNX ops that compile to constraints (on activations).
const CIRCUIT_OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Conv",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Relu",
    "AveragePool",
    "GlobalAveragePool",
    "BatchNormalization",
    "Flatten",
    "Reshape",
    "Transpose",
    "Identity",
    "Dropout",
    "Max",
    "Min",
    "MaxPool",
    "GlobalMaxPool",
    "ReduceMax",
    "Clip",
    "Neg",
    "Abs",
];
/// ONNX ops folded at compile time; supported on constants only (shape arithmetic).
const CONSTANT_OPS: &[&str] = &["Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast"];

pub const SUPPORTED_OPS: &[&str] = &[
    "Abs",
    "Add",
    "AveragePool",
    "BatchNormalization",
    "Cast*",
    "Clip",
    "Concat*",
    "Constant",
    "Conv",
    "Div (by a constant)",
    "Dropout",
    "Flatten",
    "Gather*",
    "Gemm",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Identity",
    "MatMul",
    "Max",
    "MaxPool",
    "Min",
    "Mul",
    "Neg",
    "ReduceMax",
    "Relu",
    "Reshape",
    "Shape*",
    "Squeeze*",
    "Sub",
    "Transpose",
    "Unsqueeze* (* on constants)",
];

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
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| CompileError::NotOnnx { path: path.into(), reason: "the file holds no graph".into() })?;
    check_supported(graph)?;
    let mut ir = Translator::default().translate(graph)?;
    fold::fold_affine_into_linear(&mut ir);
    Ok(fold::remove_dead_nodes(ir))
}

/// Refuse, all at once, every op we cannot compile.
fn check_supported(graph: &pb::GraphProto) -> Result<()> {
    let unsupported: Vec<UnsupportedOp> = graph
        .node
        .iter()
        .filter(|n| {
            !(n.domain.is_empty() || n.domain == "ai.onnx")
                || !(CIRCUIT_OPS.contains(&n.op_type.as_str()) || CONSTANT_OPS.contains(&n.op_type.as_str()))
        })
        .map(|n| UnsupportedOp { op: n.op_type.clone(), node: node_name(n) })
        .collect();
    if unsupported.is_empty() {
        Ok(())
    } else {
        Err(CompileError::Unsupported(unsupported))
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
}

/// Errors about one ONNX node.
struct Ctx<'a> {
    node: &'a NodeProto,
    name: String,
}

impl Ctx<'_> {
    fn err(&self, reason: impl Into<String>) -> CompileError {
        CompileError::Node { node: self.name.clone(), op: self.node.op_type.clone(), reason: reason.into() }
    }
}

impl Translator {
    fn translate(mut self, graph: &pb::GraphProto) -> Result<Graph> {
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
            index += 1;
        }
        for node in &graph.node {
            self.translate_node(node)?;
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
        Ok(Graph { nodes: self.nodes, outputs })
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

    fn input(&self, ctx: &Ctx, i: usize) -> Result<Value> {
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
        let ctx = Ctx { node, name: node_name(node) };
        let out = node.output.first().cloned().unwrap_or_default();
        let attrs = Attrs::new(node);
        let op = node.op_type.as_str();

        // Folding: every input constant, or an op that only ever works on constants.
        let inputs: Vec<Value> = (0..node.input.len())
            .filter(|&i| !node.input[i].is_empty())
            .map(|i| self.input(&ctx, i))
            .collect::<Result<_>>()?;
        let all_const = inputs.iter().all(|v| matches!(v, Value::Const(_)));
        if op == "Shape" {
            let shape = match &inputs.first() {
                Some(Value::Act(id)) => self.shape(*id),
                Some(Value::Const(t)) => t.shape.clone(),
                None => return Err(ctx.err("missing input 0")),
            };
            let data: Vec<f64> = shape.iter().map(|&d| d as f64).collect();
            self.env.insert(out, Value::Const(Tensor::new(vec![data.len()], data)));
            return Ok(());
        }
        if op == "Constant" || (all_const && op != "Identity" && op != "Dropout") {
            let consts: Vec<Tensor<f64>> = inputs
                .into_iter()
                .filter_map(|v| match v {
                    Value::Const(t) => Some(t),
                    Value::Act(_) => None,
                })
                .collect();
            let value = consts::fold(op, &consts, &attrs).map_err(|reason| ctx.err(reason))?;
            self.env.insert(out, Value::Const(value));
            return Ok(());
        }
        if CONSTANT_OPS.contains(&op) {
            return Err(
                ctx.err("this op is supported only on constants (shape arithmetic), but it reads an activation")
            );
        }

        match op {
            "Identity" | "Dropout" => {
                let v = self.input(&ctx, 0)?;
                self.env.insert(out, v);
            }
            "Relu" => {
                let x = self.act_input(&ctx, 0)?;
                let shape = self.shape(x);
                self.push_named(&out, ctx.name.clone(), Op::Relu, vec![x], shape);
            }
            "Gemm" => self.gemm(&ctx, &attrs, &out)?,
            "MatMul" => {
                let x = self.act_input(&ctx, 0)?;
                let w = self.const_input(&ctx, 1)?;
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
            "Conv" => self.conv(&ctx, &attrs, &out)?,
            "BatchNormalization" => {
                let x = self.act_input(&ctx, 0)?;
                let [scale, bias, mean, var] = [1, 2, 3, 4].map(|i| self.const_input(&ctx, i));
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
            "Add" | "Sub" | "Mul" | "Div" => self.binary(&ctx, &out)?,
            "AveragePool" | "GlobalAveragePool" => self.avg_pool(&ctx, &attrs, &out)?,
            "Flatten" => {
                let x = self.act_input(&ctx, 0)?;
                let shape = self.shape(x);
                let axis = normalize_axis(attrs.int("axis", 1), shape.len() + 1)
                    .ok_or_else(|| ctx.err("axis out of range"))?;
                let new = vec![shape[..axis].iter().product(), shape[axis..].iter().product()];
                self.push_named(&out, ctx.name.clone(), Op::Reshape, vec![x], new);
            }
            "Reshape" => {
                let x = self.act_input(&ctx, 0)?;
                let target = self.const_input(&ctx, 1)?;
                let shape = consts::reshape_target(&self.shape(x), &target.data).map_err(|r| ctx.err(r))?;
                self.push_named(&out, ctx.name.clone(), Op::Reshape, vec![x], shape);
            }
            "Transpose" => {
                let x = self.act_input(&ctx, 0)?;
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
                    match self.input(&ctx, i)? {
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
                let x = self.act_input(&ctx, 0)?;
                let bound = |i: usize, attr: &str| -> Result<Option<f64>> {
                    match self.optional_const(&ctx, i)? {
                        Some(t) if t.len() == 1 => Ok(Some(t.data[0])),
                        Some(_) => Err(ctx.err("min and max must be scalars")),
                        None => Ok(attrs.ints(attr).map(|_| attrs.float(attr, 0.0) as f64).or_else(|| {
                            node.attribute.iter().any(|a| a.name == attr).then(|| attrs.float(attr, 0.0) as f64)
                        })),
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
                let x = self.act_input(&ctx, 0)?;
                let y = self.negate(&ctx.name, x);
                self.env.insert(out, Value::Act(y));
            }
            "Abs" => {
                let x = self.act_input(&ctx, 0)?;
                let y = self.abs(&ctx.name, x);
                self.env.insert(out, Value::Act(y));
            }
            "MaxPool" | "GlobalMaxPool" => {
                let x = self.act_input(&ctx, 0)?;
                let xs = self.shape(x);
                if xs.len() != 4 {
                    return Err(ctx.err(format!("only 2-D pooling on NCHW input is supported (input {xs:?})")));
                }
                if node.output.iter().skip(1).any(|o| !o.is_empty()) {
                    return Err(ctx.err("the Indices output of MaxPool is not supported"));
                }
                let (kernel, strides, pads, dilations) = if op == "GlobalMaxPool" {
                    ([xs[2], xs[3]], [1, 1], [0; 4], [1, 1])
                } else {
                    let two = |name: &str, default: [usize; 2]| -> Result<[usize; 2]> {
                        match attrs.ints(name) {
                            None => Ok(default),
                            Some(v) if v.len() == 2 && v.iter().all(|&d| d >= 1) => Ok([v[0] as usize, v[1] as usize]),
                            Some(v) => Err(ctx.err(format!("{name} {v:?} must be two positive numbers"))),
                        }
                    };
                    if attrs.int("ceil_mode", 0) != 0 {
                        return Err(ctx.err("ceil_mode=1 is not supported yet"));
                    }
                    let kernel = two("kernel_shape", [0, 0])?;
                    if kernel[0] == 0 {
                        return Err(ctx.err("kernel_shape is required"));
                    }
                    let (strides, dilations) = (two("strides", [1, 1])?, two("dilations", [1, 1])?);
                    (kernel, strides, conv_pads(&ctx, &attrs, &xs[2..], kernel, strides, dilations)?, dilations)
                };
                let hw = conv_out_hw(&xs[2..], kernel, strides, pads, dilations)
                    .ok_or_else(|| ctx.err("the kernel is larger than the padded input"))?;
                let shape = vec![xs[0], xs[1], hw[0], hw[1]];
                let windows = crate::tensor::pool_windows(&xs, &shape, kernel, strides, pads, dilations);
                if windows.iter().any(|w| w.is_empty()) {
                    return Err(ctx.err("a pooling window covers only padding"));
                }
                let y = self.max_over_windows(&ctx.name, x, &windows, shape);
                self.env.insert(out, Value::Act(y));
            }
            "ReduceMax" => {
                let x = self.act_input(&ctx, 0)?;
                let xs = self.shape(x);
                let axes: Vec<i64> = match (attrs.ints("axes"), self.optional_const(&ctx, 1)?) {
                    (Some(a), _) => a,
                    (None, Some(t)) => t.data.iter().map(|&v| v as i64).collect(),
                    (None, None) => (0..xs.len() as i64).collect(),
                };
                let mut axes: Vec<usize> = axes
                    .iter()
                    .map(|&a| normalize_axis(a, xs.len()).ok_or_else(|| ctx.err(format!("axis {a} out of range"))))
                    .collect::<Result<_>>()?;
                axes.sort_unstable();
                axes.dedup();
                let (windows, kept_shape) = compare::reduce_windows(&xs, &axes);
                let shape = if attrs.int("keepdims", 1) != 0 {
                    (0..xs.len()).map(|a| if axes.contains(&a) { 1 } else { xs[a] }).collect()
                } else {
                    kept_shape
                };
                let y = self.max_over_windows(&ctx.name, x, &windows, shape);
                self.env.insert(out, Value::Act(y));
            }
            other => return Err(ctx.err(format!("{other} is not supported here"))),
        }
        Ok(())
    }

    fn act_input(&self, ctx: &Ctx, i: usize) -> Result<NodeId> {
        match self.input(ctx, i)? {
            Value::Act(id) => Ok(id),
            Value::Const(_) => Err(ctx.err(format!("input {i} is a constant; expected an activation"))),
        }
    }

    fn gemm(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let mut a = self.act_input(ctx, 0)?;
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

    fn conv(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let w = self.const_input(ctx, 1)?;
        let bias = self.optional_const(ctx, 2)?.map(|b| b.data);
        let xs = self.shape(x);
        if xs.len() != 4 || w.shape.len() != 4 {
            return Err(ctx.err(format!("only 2-D convolution on NCHW input is supported (input {xs:?})")));
        }
        if attrs.int("group", 1) != 1 {
            return Err(ctx.err("grouped convolution is not supported yet (group must be 1)"));
        }
        if w.shape[1] != xs[1] {
            return Err(ctx.err(format!("weight expects {} input channels, input has {}", w.shape[1], xs[1])));
        }
        let get2 = |name: &str| -> Result<[usize; 2]> {
            match attrs.ints(name) {
                None => Ok([1, 1]),
                Some(v) if v.len() == 2 && v.iter().all(|&d| d >= 1) => Ok([v[0] as usize, v[1] as usize]),
                Some(v) => Err(ctx.err(format!("{name} {v:?} must be two positive numbers"))),
            }
        };
        let (strides, dilations) = (get2("strides")?, get2("dilations")?);
        let kernel = [w.shape[2], w.shape[3]];
        let pads = conv_pads(ctx, attrs, &xs[2..], kernel, strides, dilations)?;
        let out_hw = conv_out_hw(&xs[2..], kernel, strides, pads, dilations)
            .ok_or_else(|| ctx.err("the kernel is larger than the padded input"))?;
        let shape = vec![xs[0], w.shape[0], out_hw[0], out_hw[1]];
        let op = Op::Conv { weight: w, bias, strides, pads, dilations };
        self.push_named(out, ctx.name.clone(), op, vec![x], shape);
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
                    _ => return Err(ctx.err("division by an activation is not supported yet")),
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
                    _ => return Err(ctx.err("division of a constant by an activation is not supported yet")),
                };
                (op, x)
            }
            (Value::Const(_), Value::Const(_)) => return Err(ctx.err("internal: constant operands were not folded")),
        };
        self.push_named(out, ctx.name.clone(), ir_op, vec![input], shape);
        Ok(())
    }

    fn avg_pool(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let xs = self.shape(x);
        if xs.len() != 4 {
            return Err(ctx.err(format!("only 2-D pooling on NCHW input is supported (input {xs:?})")));
        }
        let (kernel, strides, pads, count_include_pad) = if ctx.node.op_type == "GlobalAveragePool" {
            ([xs[2], xs[3]], [1, 1], [0; 4], false)
        } else {
            let kernel = match attrs.ints("kernel_shape") {
                Some(k) if k.len() == 2 && k.iter().all(|&d| d >= 1) => [k[0] as usize, k[1] as usize],
                _ => return Err(ctx.err("kernel_shape must be two positive numbers")),
            };
            if attrs.int("ceil_mode", 0) != 0 {
                return Err(ctx.err("ceil_mode=1 is not supported yet"));
            }
            let strides = match attrs.ints("strides") {
                None => [1, 1],
                Some(s) if s.len() == 2 && s.iter().all(|&d| d >= 1) => [s[0] as usize, s[1] as usize],
                Some(s) => return Err(ctx.err(format!("strides {s:?} must be two positive numbers"))),
            };
            let pads = conv_pads(ctx, attrs, &xs[2..], kernel, strides, [1, 1])?;
            (kernel, strides, pads, attrs.int("count_include_pad", 0) != 0)
        };
        let out_hw = conv_out_hw(&xs[2..], kernel, strides, pads, [1, 1])
            .ok_or_else(|| ctx.err("the kernel is larger than the padded input"))?;
        let shape = vec![xs[0], xs[1], out_hw[0], out_hw[1]];
        let op = Op::AvgPool { kernel, strides, pads, count_include_pad };
        self.push_named(out, ctx.name.clone(), op, vec![x], shape);
        Ok(())
    }
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
    // Symbolic dimensions (batch) are fixed to 1.
    Ok(dims
        .dim
        .iter()
        .map(|d| match d.value {
            Some(Dim::DimValue(v)) if v > 0 => v as usize,
            _ => 1,
        })
        .collect())
}

/// Explicit pads `[top, left, bottom, right]`, from `pads` or `auto_pad`.
fn conv_pads(
    ctx: &Ctx,
    attrs: &Attrs,
    hw: &[usize],
    kernel: [usize; 2],
    strides: [usize; 2],
    dilations: [usize; 2],
) -> Result<[usize; 4]> {
    let auto = attrs.string("auto_pad").unwrap_or_else(|| "NOTSET".into());
    match auto.as_str() {
        "NOTSET" => match attrs.ints("pads") {
            None => Ok([0; 4]),
            Some(p) if p.len() == 4 && p.iter().all(|&d| d >= 0) => {
                Ok([p[0] as usize, p[1] as usize, p[2] as usize, p[3] as usize])
            }
            Some(p) => Err(ctx.err(format!("pads {p:?} must be four non-negative numbers"))),
        },
        "VALID" => Ok([0; 4]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut pads = [0; 4];
            for d in 0..2 {
                let out = hw[d].div_ceil(strides[d]);
                let span = (kernel[d] - 1) * dilations[d] + 1;
                let total = ((out - 1) * strides[d] + span).saturating_sub(hw[d]);
                let small = total / 2;
                let (begin, end) = if auto == "SAME_UPPER" { (small, total - small) } else { (total - small, small) };
                pads[d] = begin;
                pads[d + 2] = end;
            }
            Ok(pads)
        }
        other => Err(ctx.err(format!("auto_pad {other} is not an ONNX value"))),
    }
}

fn conv_out_hw(
    hw: &[usize],
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    dilations: [usize; 2],
) -> Option<[usize; 2]> {
    let mut out = [0; 2];
    for d in 0..2 {
        let padded = hw[d] + pads[d] + pads[d + 2];
        let span = (kernel[d] - 1) * dilations[d] + 1;
        if span > padded {
            return None;
        }
        out[d] = (padded - span) / strides[d] + 1;
    }
    Some(out)
}

fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    (0..rank as i64).contains(&a).then_some(a as usize)
}

#[cfg(test)]
mod tests;
