//! Comparisons and logic on activations, exact on the quantized values the evaluator computes.
//!
//! a >= b is Step(-relu(b - a)): relu(b - a) is 0 exactly when a >= b and at least one unit
//! otherwise, and Step of a value <= 0 is 1 at 0 and 0 below (an integer test, at any scale).
//! Every other comparison, Not and Sign are sums of such steps: booleans, 0 or 1 at scale 0. And,
//! Or, Xor and Where with a computed condition are products of booleans; their operands must be
//! booleans (a comparison's or another logic op's result), which the translator tracks.

use super::{Attrs, Ctx, Translator, Value};
use crate::error::Result;
use crate::ir::{BinaryKind, NodeId, Op};
use crate::tensor::{broadcast_shape, Tensor};

fn scalar(v: f64) -> Tensor<f64> {
    Tensor::new(vec![], vec![v])
}

/// The ONNX ops this module translates when an operand is an activation.
pub const LOGIC_OPS: &[&str] =
    &["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or", "Xor", "Sign", "Where"];

impl Translator {
    pub(super) fn logic(&mut self, ctx: &Ctx, out: &str) -> Result<()> {
        let op = ctx.node.op_type.as_str();
        let name = ctx.name.clone();
        let result = match op {
            "GreaterOrEqual" => self.at_least(&name, ctx, 0, 1)?,
            "LessOrEqual" => self.at_least(&name, ctx, 1, 0)?,
            "Less" => {
                let ge = self.at_least(&name, ctx, 0, 1)?;
                self.not(&name, ge)
            }
            "Greater" => {
                let le = self.at_least(&name, ctx, 1, 0)?;
                self.not(&name, le)
            }
            "Equal" => {
                let (ge, le) = (self.at_least(&format!("{name}/ge"), ctx, 0, 1)?, self.at_least(&name, ctx, 1, 0)?);
                let both = self.binary_node(&format!("{name}/both"), BinaryKind::Add, ge, le);
                self.affine(&format!("{name}/equal"), both, None, Some(-1.0))
            }
            "Sign" => {
                let x = self.act_input(ctx, 0)?;
                // x >= 0 is Step(-relu(0 - x)); x <= 0 is Step(-relu(x - 0)).
                let minus_x = self.difference(&format!("{name}/pos"), Value::Const(scalar(0.0)), Value::Act(x));
                let pos = self.step_of(&format!("{name}/pos"), minus_x);
                let plus_x = self.difference(&format!("{name}/neg"), Value::Act(x), Value::Const(scalar(0.0)));
                let neg = self.step_of(&format!("{name}/neg"), plus_x);
                // (x >= 0) - (x <= 0): 1, 0 or -1 (not a boolean).
                self.binary_node(&format!("{name}/sign"), BinaryKind::Sub, pos, neg)
            }
            "Not" => {
                let x = self.boolean_input(ctx, 0)?;
                self.not(&name, x)
            }
            "And" | "Or" | "Xor" => {
                let (x, y) = (self.boolean_input(ctx, 0)?, self.boolean_input(ctx, 1)?);
                let xy = self.binary_node(&format!("{name}/and"), BinaryKind::Mul, x, y);
                if op == "And" {
                    xy
                } else {
                    // x + y - xy, or x + y - 2xy.
                    let sum = self.binary_node(&format!("{name}/sum"), BinaryKind::Add, x, y);
                    let k = if op == "Or" { -1.0 } else { -2.0 };
                    let scaled = self.affine(&format!("{name}/scaled"), xy, Some(scalar(k)), None);
                    self.binary_node(&format!("{name}/{}", op.to_lowercase()), BinaryKind::Add, sum, scaled)
                }
            }
            "Where" => {
                // y + c (x - y), c a boolean.
                let c = self.boolean_input(ctx, 0)?;
                let (x, y) = (self.input(ctx, 1)?, self.input(ctx, 2)?);
                let d = self.difference(&format!("{name}/diff"), x, y.clone());
                let y = self.activation(&format!("{name}/else"), y);
                let picked = self.binary_node(&format!("{name}/pick"), BinaryKind::Mul, c, d);
                let out_id = self.binary_node(&format!("{name}/where"), BinaryKind::Add, y, picked);
                self.env.insert(out.to_string(), Value::Act(out_id));
                return Ok(());
            }
            _ => return Err(ctx.err("internal: not a logic op")),
        };
        if op != "Sign" {
            self.booleans.insert(result);
        }
        self.env.insert(out.to_string(), Value::Act(result));
        Ok(())
    }

    /// input a >= input b, as a boolean.
    fn at_least(&mut self, name: &str, ctx: &Ctx, a: usize, b: usize) -> Result<NodeId> {
        let (va, vb) = (self.input(ctx, a)?, self.input(ctx, b)?);
        let d = self.difference(name, vb, va);
        Ok(self.step_of(name, d))
    }

    /// 1 where d <= 0, 0 where d >= one unit: Step(-relu(d)).
    pub(super) fn step_of(&mut self, name: &str, d: NodeId) -> NodeId {
        let r = self.relu_node(&format!("{name}/excess"), d);
        let n = self.negate(&format!("{name}/neg"), r);
        let shape = self.shape(n);
        let s = self.add_node(&format!("{name}/step"), Op::Step, vec![n], shape);
        self.booleans.insert(s);
        s
    }

    /// A boolean model input: x >= 1/2, proven like every comparison, so it is 0 or 1 whatever
    /// value the prover gives.
    pub(super) fn boolean_model_input(&mut self, name: &str, x: NodeId) -> NodeId {
        let below = self.difference(&format!("{name}/below_half"), Value::Const(scalar(0.5)), Value::Act(x));
        self.step_of(&format!("{name}/bool"), below)
    }

    /// 1 - x for a boolean x.
    fn not(&mut self, name: &str, x: NodeId) -> NodeId {
        let n = self.affine(&format!("{name}/not"), x, Some(scalar(-1.0)), Some(1.0));
        self.booleans.insert(n);
        n
    }

    /// a - b for activations or constants (not both constants: those were folded).
    pub(super) fn difference(&mut self, name: &str, a: Value, b: Value) -> NodeId {
        match (a, b) {
            (Value::Act(x), Value::Act(y)) => self.binary_node(&format!("{name}/diff"), BinaryKind::Sub, x, y),
            (Value::Act(x), Value::Const(c)) => {
                self.affine_tensor(&format!("{name}/diff"), x, None, Some(c.map(|v| -v)))
            }
            (Value::Const(c), Value::Act(y)) => {
                self.affine_tensor(&format!("{name}/diff"), y, Some(scalar(-1.0)), Some(c))
            }
            (Value::Const(c), Value::Const(d)) => {
                let a = self.activation(&format!("{name}/a"), Value::Const(c));
                self.difference(name, Value::Act(a), Value::Const(d))
            }
        }
    }

    /// y + mul x with tensor constants, broadcasting.
    pub(super) fn affine_tensor(
        &mut self,
        name: &str,
        x: NodeId,
        mul: Option<Tensor<f64>>,
        add: Option<Tensor<f64>>,
    ) -> NodeId {
        let xs = self.shape(x);
        let shape = [mul.as_ref(), add.as_ref()]
            .into_iter()
            .flatten()
            .fold(xs.clone(), |s, t| broadcast_shape(&s, &t.shape).unwrap_or(s));
        self.add_node(name, Op::Affine { mul, add }, vec![x], shape)
    }

    /// A value as an activation: constants become a node holding them.
    pub(super) fn activation(&mut self, name: &str, v: Value) -> NodeId {
        match v {
            Value::Act(id) => id,
            Value::Const(t) => {
                let indices = (0..t.len()).collect();
                self.add_node(&format!("{name}/const"), Op::Gather { indices, consts: t.data.clone() }, vec![], t.shape)
            }
        }
    }

    /// Input i, which must be a boolean: a comparison's or logic op's result.
    fn boolean_input(&mut self, ctx: &Ctx, i: usize) -> Result<NodeId> {
        match self.input(ctx, i)? {
            Value::Act(id) if self.booleans.contains(&id) => Ok(id),
            Value::Act(_) => Err(ctx.err(format!(
                "input {i} is an activation that is not a comparison's, a logic op's or a boolean model input; \
                 numbers used as conditions are not supported"
            ))),
            Value::Const(t) => {
                if t.data.iter().any(|&v| v != 0.0 && v != 1.0) {
                    return Err(ctx.err(format!("input {i} is a constant that is not boolean")));
                }
                let id = self.activation(&format!("{}/{i}", ctx.name), Value::Const(t));
                self.booleans.insert(id);
                Ok(id)
            }
        }
    }
}

/// The largest table `gather_by_value` selects from: each row costs one equality test (about 12
/// rows per index).
const MAX_SELECTED_ROWS: usize = 4096;

impl Translator {
    /// Gather from a constant table by computed indices (embeddings): row j of the table is
    /// selected by the boolean idx == j, proven like every comparison, so the selection is one-hot
    /// for an index in [0, V); the selected rows are a product of the one-hot vector with the
    /// table (a MatMul with the table as its weight). An index outside [0, V) selects nothing
    /// (zeros), where ONNX wraps negatives or fails.
    pub(super) fn gather_by_value(&mut self, ctx: &Ctx, axis: i64, out: &str) -> Result<()> {
        let table = self.const_input(ctx, 0)?;
        let idx = self.act_input(ctx, 1)?;
        if super::normalize_axis(axis, table.shape.len()) != Some(0) {
            return Err(ctx.err("computed indices are supported on axis 0 of a constant table only"));
        }
        let v = table.shape.first().copied().unwrap_or(0);
        if v == 0 || v > MAX_SELECTED_ROWS {
            return Err(ctx.err(format!(
                "a table of {v} rows selected by computed indices; up to {MAX_SELECTED_ROWS} are supported (one \
                 equality test per row)"
            )));
        }
        let rest: Vec<usize> = table.shape[1..].to_vec();
        let d: usize = rest.iter().product();
        let index_shape = self.shape(idx);
        let n: usize = index_shape.iter().product();
        let name = ctx.name.clone();
        let one_hot = self.one_hot_of(&name, idx, v);
        let weight = Tensor::new(vec![v, d], table.data.clone());
        let picked =
            self.add_node(&format!("{name}/rows"), Op::MatMul { weight, bias: None }, vec![one_hot], vec![n, d]);
        let shape: Vec<usize> = index_shape.iter().chain(&rest).copied().collect();
        let y = self.add_node(&name, Op::Reshape, vec![picked], shape);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// The one-hot matrix [n, V] of the n values of `idx`: element (i, j) is idx_i == j, as
    /// (idx >= j) + (j >= idx) - 1, proven like every comparison; all zero for a value outside
    /// [0, V) or between whole numbers.
    fn one_hot_of(&mut self, name: &str, idx: NodeId, v: usize) -> NodeId {
        let n: usize = self.shape(idx).iter().product();
        let mut selects = Vec::with_capacity(v);
        for j in 0..v {
            let row = Value::Const(scalar(j as f64));
            let below = self.difference(&format!("{name}/ge{j}"), row.clone(), Value::Act(idx));
            let ge = self.step_of(&format!("{name}/ge{j}"), below);
            let above = self.difference(&format!("{name}/le{j}"), Value::Act(idx), row);
            let le = self.step_of(&format!("{name}/le{j}"), above);
            let both = self.binary_node(&format!("{name}/both{j}"), BinaryKind::Add, ge, le);
            selects.push(self.affine(&format!("{name}/is{j}"), both, None, Some(-1.0)));
        }
        let indices = (0..n).flat_map(|i| (0..v).map(move |j| j * n + i)).collect();
        let one_hot =
            self.add_node(&format!("{name}/one_hot"), Op::Gather { indices, consts: vec![] }, selects, vec![n, v]);
        self.booleans.insert(one_hot);
        one_hot
    }

    /// OneHot of computed indices (depth and values constant), on the last axis: off + (on - off)
    /// one_hot. ONNX wraps negative indices; here they select nothing (all off).
    pub(super) fn one_hot(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let idx = self.act_input(ctx, 0)?;
        let index_shape = self.shape(idx);
        let depth = self.const_input(ctx, 1)?.data.first().copied().ok_or_else(|| ctx.err("depth is empty"))?;
        let values = self.const_input(ctx, 2)?;
        let [off, on] = values.data[..] else { return Err(ctx.err("values must hold [off, on]")) };
        let rank = index_shape.len();
        if super::normalize_axis(attrs.int("axis", -1), rank + 1) != Some(rank) {
            return Err(ctx.err("only the last axis is supported"));
        }
        let v = depth as usize;
        if depth < 1.0 || v > MAX_SELECTED_ROWS {
            return Err(
                ctx.err(format!("depth {depth}; 1 to {MAX_SELECTED_ROWS} are supported (one equality test each)"))
            );
        }
        let name = ctx.name.clone();
        let one_hot = self.one_hot_of(&name, idx, v);
        let scaled = self.affine(&format!("{name}/values"), one_hot, Some(scalar(on - off)), Some(off));
        let shape: Vec<usize> = index_shape.iter().copied().chain([v]).collect();
        let y = self.add_node(&name, Op::Reshape, vec![scaled], shape);
        if off == 0.0 && on == 1.0 {
            self.booleans.insert(y);
        }
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }
}
