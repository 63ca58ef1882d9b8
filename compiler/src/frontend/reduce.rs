//! Reductions, one axes parser for all: ReduceSum and ReduceMean (linear), ReduceMax (pairwise
//! max chips),
//! ReduceMin (max of negations),
//! ReduceSumSquare, ReduceL1 (|x| by the max chip), ReduceL2 (square root of the sum of squares)
//! and ReduceLogSumExp (m + log sum exp(x - m), m the max, so every exp is at most 1).

use super::{compare, normalize_axis, Attrs, Ctx, Translator, Value};
use crate::error::Result;
use crate::ir::{BinaryKind, Func, NodeId, Op};

impl Translator {
    pub(super) fn reduction(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let xs = self.shape(x);
        let axes: Option<Vec<i64>> = match (attrs.ints("axes"), self.optional_const(ctx, 1)?) {
            (Some(a), _) => Some(a),
            (None, Some(t)) => Some(t.data.iter().map(|&v| v as i64).collect()),
            (None, None) => None,
        };
        let mut axes: Vec<usize> = match axes {
            Some(a) if !a.is_empty() => a
                .iter()
                .map(|&a| normalize_axis(a, xs.len()).ok_or_else(|| ctx.err(format!("axis {a} out of range"))))
                .collect::<Result<_>>()?,
            _ if attrs.int("noop_with_empty_axes", 0) != 0 => {
                self.env.insert(out.to_string(), Value::Act(x));
                return Ok(());
            }
            _ => (0..xs.len()).collect(),
        };
        axes.sort_unstable();
        axes.dedup();
        let keepdims = attrs.int("keepdims", 1) != 0;
        let name = ctx.name.clone();
        let y = match ctx.node.op_type.as_str() {
            op @ ("ReduceSum" | "ReduceMean") => self.reduce(&name, x, &axes, op == "ReduceMean", keepdims),
            "ReduceMax" => self.max_over(&name, x, &axes, keepdims),
            "ReduceMin" => {
                let n = self.negate(&format!("{name}/neg"), x);
                let m = self.max_over(&name, n, &axes, keepdims);
                self.negate(&format!("{name}/min"), m)
            }
            "ReduceSumSquare" => {
                let sq = self.binary_node(&format!("{name}/square"), BinaryKind::Mul, x, x);
                self.reduce(&name, sq, &axes, false, keepdims)
            }
            "ReduceL1" => {
                let a = self.abs(&format!("{name}/abs"), x);
                self.reduce(&name, a, &axes, false, keepdims)
            }
            "ReduceL2" => {
                let sq = self.binary_node(&format!("{name}/square"), BinaryKind::Mul, x, x);
                let s = self.reduce(&format!("{name}/sum"), sq, &axes, false, keepdims);
                self.sqrt(&name, s)
            }
            "ReduceLogSumExp" => {
                let m = self.max_over(&format!("{name}/max"), x, &axes, true);
                let d = self.binary_node(&format!("{name}/centered"), BinaryKind::Sub, x, m);
                let e = self.func(&format!("{name}/exp"), Func::Exp, d);
                let s = self.reduce(&format!("{name}/sum"), e, &axes, false, true);
                let l = self.func(&format!("{name}/log"), Func::Log, s);
                let y = self.binary_node(&format!("{name}/lse"), BinaryKind::Add, m, l);
                if keepdims {
                    y
                } else {
                    let shape: Vec<usize> = (0..xs.len()).filter(|a| !axes.contains(a)).map(|a| xs[a]).collect();
                    self.add_node(&format!("{name}/squeeze"), Op::Reshape, vec![y], shape)
                }
            }
            _ => return Err(ctx.err("internal: not a reduction")),
        };
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// The max over `axes`, keeping them as size 1 when `keepdims`.
    fn max_over(&mut self, name: &str, x: NodeId, axes: &[usize], keepdims: bool) -> NodeId {
        let xs = self.shape(x);
        let (windows, kept_shape) = compare::reduce_windows(&xs, axes);
        let shape = if keepdims {
            (0..xs.len()).map(|a| if axes.contains(&a) { 1 } else { xs[a] }).collect()
        } else {
            kept_shape
        };
        self.max_over_windows(name, x, &windows, shape)
    }
}

impl Translator {
    /// LpNormalization: x / ||x||_p along `axis` (p = 1: sum |x|; p = 2: square root of the sum of
    /// squares), a division by a positive norm (an all-zero vector is refused at gen-witness).
    pub(super) fn lp_normalization(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let axis = normalize_axis(attrs.int("axis", -1), rank).ok_or_else(|| ctx.err("axis out of range"))?;
        let name = ctx.name.clone();
        let p = attrs.int("p", 2);
        let norm =
            self.lp_norm(&name, x, axis, p).ok_or_else(|| ctx.err(format!("p = {p}; only 1 and 2 are defined")))?;
        let y = self.divide(&name, Some(x), norm);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// ||x||_p along `axis`, kept as a dimension (p = 1: sum |x|; p = 2: square root of the sum of
    /// squares); None for other p.
    pub(super) fn lp_norm(&mut self, name: &str, x: NodeId, axis: usize, p: i64) -> Option<NodeId> {
        Some(match p {
            1 => {
                let a = self.abs(&format!("{name}/abs"), x);
                self.reduce(&format!("{name}/l1"), a, &[axis], false, true)
            }
            2 => {
                let sq = self.binary_node(&format!("{name}/square"), BinaryKind::Mul, x, x);
                let s = self.reduce(&format!("{name}/sum"), sq, &[axis], false, true);
                self.sqrt(&format!("{name}/l2"), s)
            }
            _ => return None,
        })
    }

    /// CumSum: each output a sum of the elements up to it (or from it, `reverse`) along the axis,
    /// itself included unless `exclusive`.
    pub(super) fn cumsum(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let xs = self.shape(x);
        let axis = self.const_input(ctx, 1)?;
        let axis = axis.data.first().copied().ok_or_else(|| ctx.err("axis is empty"))? as i64;
        let axis = normalize_axis(axis, xs.len()).ok_or_else(|| ctx.err("axis out of range"))?;
        let (exclusive, reverse) = (attrs.int("exclusive", 0) != 0, attrs.int("reverse", 0) != 0);
        let stride: usize = xs[axis + 1..].iter().product();
        let n = xs[axis];
        let windows = (0..xs.iter().product::<usize>())
            .map(|f| {
                let i = (f / stride) % n;
                let base = f - i * stride;
                let range = match (reverse, exclusive) {
                    (false, false) => 0..i + 1,
                    (false, true) => 0..i,
                    (true, false) => i..n,
                    (true, true) => i + 1..n,
                };
                range.map(|j| base + j * stride).collect()
            })
            .collect();
        let y = self.add_node(&ctx.name, Op::Reduce { windows, mean: false }, vec![x], xs);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }
}
