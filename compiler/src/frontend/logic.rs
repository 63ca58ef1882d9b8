//! Comparisons and logic on activations, exact on the quantized values the evaluator computes.
//!
//! a >= b is Step(-relu(b - a)): relu(b - a) is 0 exactly when a >= b and at least one unit
//! otherwise, and Step of a value <= 0 is 1 at 0 and 0 below (an integer test, at any scale).
//! Every other comparison, Not and Sign are sums of such steps: booleans, 0 or 1 at scale 0. And,
//! Or, Xor and Where with a computed condition are products of booleans; their operands must be
//! booleans (a comparison's or another logic op's result), which the translator tracks.

use super::{Ctx, Translator, Value};
use crate::error::Result;
use crate::ir::{BinaryKind, NodeId, Op};
use crate::tensor::{broadcast_shape, Tensor};

fn scalar(v: f64) -> Tensor<f64> {
    Tensor::new(vec![], vec![v])
}

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
                let (a, b) = (self.input(ctx, 0)?, self.input(ctx, 1)?);
                self.equal(&name, a, b)
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

    /// a == b as a boolean: (a >= b) + (b >= a) - 1, each a Step(-relu(difference)).
    pub(super) fn equal(&mut self, name: &str, a: Value, b: Value) -> NodeId {
        let below = self.difference(&format!("{name}/ge"), b.clone(), a.clone());
        let ge = self.step_of(&format!("{name}/ge"), below);
        let above = self.difference(&format!("{name}/le"), a, b);
        let le = self.step_of(&format!("{name}/le"), above);
        let both = self.binary_node(&format!("{name}/both"), BinaryKind::Add, ge, le);
        let eq = self.affine(&format!("{name}/equal"), both, None, Some(-1.0));
        self.booleans.insert(eq);
        eq
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
