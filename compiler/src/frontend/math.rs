//! Nonlinear and arithmetic ops: lookups (`Func`), divisions, products of two activations,
//! reductions, and the compositions built from them (softmax, layer norm, leaky ReLU, ...).

use super::compare::reduce_windows;
use super::{Ctx, Translator};
use crate::error::Result;
use crate::ir::{BinaryKind, Func, NodeId, Op};
use crate::tensor::{broadcast_shape, Tensor};

impl Translator {
    pub(super) fn func(&mut self, name: &str, f: Func, x: NodeId) -> NodeId {
        let shape = self.shape(x);
        self.add_node(name, Op::Func { f }, vec![x], shape)
    }

    pub(super) fn sqrt(&mut self, name: &str, x: NodeId) -> NodeId {
        let shape = self.shape(x);
        self.add_node(name, Op::Sqrt, vec![x], shape)
    }

    /// x^n for n >= 1 by repeated squaring: products only.
    pub(super) fn power(&mut self, name: &str, x: NodeId, n: u32) -> NodeId {
        let (mut result, mut square, mut n, mut k) = (None, x, n, 0);
        while n > 0 {
            if n & 1 == 1 {
                result = Some(match result {
                    None => square,
                    Some(r) => self.binary_node(&format!("{name}/product{k}"), BinaryKind::Mul, r, square),
                });
            }
            n >>= 1;
            if n > 0 {
                square = self.binary_node(&format!("{name}/square{k}"), BinaryKind::Mul, square, square);
            }
            k += 1;
        }
        result.unwrap_or(x)
    }

    pub(super) fn affine(&mut self, name: &str, x: NodeId, mul: Option<Tensor<f64>>, add: Option<f64>) -> NodeId {
        let xs = self.shape(x);
        let shape = mul.as_ref().and_then(|m| broadcast_shape(&xs, &m.shape)).unwrap_or(xs);
        let op = Op::Affine { mul, add: add.map(|a| Tensor::new(vec![], vec![a])) };
        self.add_node(name, op, vec![x], shape)
    }

    pub(super) fn binary_node(&mut self, name: &str, kind: BinaryKind, a: NodeId, b: NodeId) -> NodeId {
        let shape = broadcast_shape(&self.shape(a), &self.shape(b)).unwrap_or_else(|| self.shape(a));
        self.add_node(name, Op::Binary { kind }, vec![a, b], shape)
    }

    /// a / b elementwise (b > 0), or 1 / b with no a.
    pub(super) fn divide(&mut self, name: &str, a: Option<NodeId>, b: NodeId) -> NodeId {
        self.divide_at_most(name, a, b, None)
    }

    /// a / b where |a / b| <= max is known (softmax: 1).
    pub(super) fn divide_at_most(&mut self, name: &str, a: Option<NodeId>, b: NodeId, max: Option<f64>) -> NodeId {
        let (inputs, shape) = match a {
            Some(a) => (vec![a, b], broadcast_shape(&self.shape(a), &self.shape(b)).unwrap_or_else(|| self.shape(a))),
            None => (vec![b], self.shape(b)),
        };
        self.add_node(name, Op::Div { max }, inputs, shape)
    }

    /// Leaky ReLU (scalar slope) and PReLU (a slope tensor): max(x, slope x) when every slope is
    /// in [0, 1] (min when every slope is >= 1), else x + (1 - slope) relu(-x).
    pub(super) fn leaky(&mut self, name: &str, x: NodeId, slope: Tensor<f64>) -> NodeId {
        let (below, above) =
            (slope.data.iter().all(|&a| (0.0..=1.0).contains(&a)), slope.data.iter().all(|&a| a >= 1.0));
        if below || above {
            let scaled = self.affine(&format!("{name}/scaled"), x, Some(slope), None);
            let kind = if below { BinaryKind::Max } else { BinaryKind::Min };
            return self.binary_node(&format!("{name}/leaky"), kind, x, scaled);
        }
        let n = self.negate(&format!("{name}/neg"), x);
        let r = self.relu_node(&format!("{name}/negrelu"), n);
        let s = self.affine(&format!("{name}/scaled"), r, Some(slope.map(|a| 1.0 - a)), None);
        self.binary_node(&format!("{name}/leaky"), BinaryKind::Add, x, s)
    }

    /// clip(alpha x + beta, 0, 1).
    pub(super) fn hard_sigmoid(&mut self, name: &str, x: NodeId, alpha: f64, beta: f64) -> NodeId {
        let a = self.affine(&format!("{name}/lin"), x, Some(Tensor::new(vec![], vec![alpha])), Some(beta));
        let lo = self.max_const(&format!("{name}/lo"), a, 0.0);
        self.min_const(&format!("{name}/hi"), lo, 1.0)
    }

    /// Sum (or mean) over `axes`, keeping them as size 1 when `keepdims`.
    pub(super) fn reduce(&mut self, name: &str, x: NodeId, axes: &[usize], mean: bool, keepdims: bool) -> NodeId {
        let xs = self.shape(x);
        let (windows, kept) = reduce_windows(&xs, axes);
        let shape =
            if keepdims { (0..xs.len()).map(|a| if axes.contains(&a) { 1 } else { xs[a] }).collect() } else { kept };
        self.add_node(name, Op::Reduce { windows, mean }, vec![x], shape)
    }

    /// softmax over `axes` (log-softmax when `log`): x - max is exponentiated, summed, divided.
    pub(super) fn softmax(&mut self, name: &str, x: NodeId, axes: &[usize], log: bool) -> NodeId {
        let xs = self.shape(x);
        let (windows, _) = reduce_windows(&xs, axes);
        let kept: Vec<usize> = (0..xs.len()).map(|a| if axes.contains(&a) { 1 } else { xs[a] }).collect();
        let m = self.max_over_windows(&format!("{name}/max"), x, &windows, kept);
        let d = self.binary_node(&format!("{name}/shifted"), BinaryKind::Sub, x, m);
        let e = self.func(&format!("{name}/exp"), Func::Exp, d);
        let s = self.reduce(&format!("{name}/sum"), e, axes, false, true);
        if log {
            let l = self.func(&format!("{name}/log"), Func::Log, s);
            self.binary_node(&format!("{name}/logsoftmax"), BinaryKind::Sub, d, l)
        } else {
            self.divide_at_most(&format!("{name}/softmax"), Some(e), s, Some(1.0))
        }
    }

    /// (x - mean) / sqrt(var + eps) over the axes from `axis` on, then scale and bias.
    pub(super) fn layer_norm(
        &mut self,
        name: &str,
        x: NodeId,
        axis: usize,
        eps: f64,
        scale: Option<Tensor<f64>>,
        bias: Option<Tensor<f64>>,
    ) -> NodeId {
        let rank = self.shape(x).len();
        let axes: Vec<usize> = (axis..rank).collect();
        let mean = self.reduce(&format!("{name}/mean"), x, &axes, true, true);
        let c = self.binary_node(&format!("{name}/centered"), BinaryKind::Sub, x, mean);
        let sq = self.binary_node(&format!("{name}/square"), BinaryKind::Mul, c, c);
        let var = self.reduce(&format!("{name}/var"), sq, &axes, true, true);
        let var_eps = self.affine(&format!("{name}/eps"), var, None, Some(eps));
        let std = self.sqrt(&format!("{name}/std"), var_eps);
        // |x_i - mean| <= sqrt(n) std: the normalised values are bounded.
        let count: usize = axes.iter().map(|&a| self.shape(x)[a]).product();
        let n = self.divide_at_most(&format!("{name}/normed"), Some(c), std, Some((count as f64).sqrt()));
        if scale.is_none() && bias.is_none() {
            return n;
        }
        let shape = self.shape(n);
        let op = Op::Affine { mul: scale, add: bias };
        self.add_node(&format!("{name}/affine"), op, vec![n], shape)
    }

    /// A @ B of two activations with numpy batch broadcasting: the products, then sums over K.
    pub(super) fn matmul_acts(&mut self, ctx: &Ctx, a: NodeId, b: NodeId) -> Result<NodeId> {
        let (mut sa, mut sb) = (self.shape(a), self.shape(b));
        let (a1, b1) = (sa.len() == 1, sb.len() == 1);
        if a1 {
            sa.insert(0, 1);
        }
        if b1 {
            sb.push(1);
        }
        let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
        let (kb, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
        if k != kb {
            return Err(ctx.err(format!("inner dimensions differ: {:?} @ {:?}", self.shape(a), self.shape(b))));
        }
        let batch = broadcast_shape(&sa[..sa.len() - 2], &sb[..sb.len() - 2])
            .ok_or_else(|| ctx.err("batch dimensions do not broadcast"))?;
        let nb: usize = batch.iter().product();
        let amap = crate::tensor::broadcast_index_map(&sa[..sa.len() - 2], &batch);
        let bmap = crate::tensor::broadcast_index_map(&sb[..sb.len() - 2], &batch);
        let (mut ai, mut bi) = (vec![], vec![]);
        for bt in 0..nb {
            for i in 0..m {
                for j in 0..n {
                    for kk in 0..k {
                        ai.push((amap[bt] * m + i) * k + kk);
                        bi.push((bmap[bt] * k + kk) * n + j);
                    }
                }
            }
        }
        let mut pshape = batch.clone();
        pshape.extend([m, n, k]);
        let p = self.add_node(&format!("{}/products", ctx.name), Op::Products { a: ai, b: bi }, vec![a, b], pshape);
        let windows = (0..nb * m * n).map(|o| (o * k..(o + 1) * k).collect()).collect();
        let mut shape = batch;
        if !a1 {
            shape.push(m);
        }
        if !b1 {
            shape.push(n);
        }
        Ok(self.add_node(&format!("{}/sum", ctx.name), Op::Reduce { windows, mean: false }, vec![p], shape))
    }

    /// The index of the max over `axis` (the first, or with `last` the last, among equals):
    /// t = step(x - max) marks the maxima, f = relu(t - (count of marks before)) keeps one,
    /// and the index is sum_j j * f_j. Every step is a proven op; the output is an integer.
    pub(super) fn arg_max(&mut self, name: &str, x: NodeId, axis: usize, keepdims: bool, last: bool) -> NodeId {
        let xs = self.shape(x);
        let (windows, kept) = reduce_windows(&xs, &[axis]);
        let kept_dims: Vec<usize> = (0..xs.len()).map(|a| if a == axis { 1 } else { xs[a] }).collect();
        let f = self.one_hot_of_max(name, x, axis, last);
        let positions: Vec<f64> = (0..xs[axis]).map(|j| j as f64).collect();
        let mut pshape = vec![1; xs.len() - axis];
        pshape[0] = xs[axis];
        let weighted = self.affine(&format!("{name}/weighted"), f, Some(Tensor::new(pshape, positions)), None);
        let out_shape = if keepdims { kept_dims } else { kept };
        self.add_node(name, Op::Reduce { windows, mean: false }, vec![weighted], out_shape)
    }

    /// 1 at the first (or last) maximum along `axis`, 0 elsewhere: a step marks every maximum,
    /// and a maximum with an earlier one marked is dropped (ArgMax, Hardmax).
    pub(super) fn one_hot_of_max(&mut self, name: &str, x: NodeId, axis: usize, last: bool) -> NodeId {
        self.one_hot_and_max(name, x, axis, last).0
    }

    /// `one_hot_of_max` and the max itself (the axis kept, of length 1).
    pub(super) fn one_hot_and_max(&mut self, name: &str, x: NodeId, axis: usize, last: bool) -> (NodeId, NodeId) {
        let xs = self.shape(x);
        let (windows, _) = reduce_windows(&xs, &[axis]);
        let kept_dims: Vec<usize> = (0..xs.len()).map(|a| if a == axis { 1 } else { xs[a] }).collect();
        let m = self.max_over_windows(&format!("{name}/max"), x, &windows, kept_dims);
        let e = self.binary_node(&format!("{name}/shifted"), BinaryKind::Sub, x, m);
        let t = self.add_node(&format!("{name}/is_max"), Op::Step, vec![e], xs.clone());
        // Marks before each element along the axis (after it, for the last index).
        let mut before: Vec<Vec<usize>> = vec![vec![]; xs.iter().product()];
        for w in &windows {
            for (j, &p) in w.iter().enumerate() {
                before[p] = if last { w[j + 1..].to_vec() } else { w[..j].to_vec() };
            }
        }
        let c =
            self.add_node(&format!("{name}/earlier"), Op::Reduce { windows: before, mean: false }, vec![t], xs.clone());
        let d = self.binary_node(&format!("{name}/first"), BinaryKind::Sub, t, c);
        (self.relu_node(&format!("{name}/only"), d), m)
    }
}
