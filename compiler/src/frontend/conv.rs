//! Convolutions and pooling: ONNX attributes (1-D or 2-D, auto_pad, ceil_mode) to one 2-D
//! geometry. A 1-D op is the 2-D op on height 1, between two reshapes (which cost nothing).

use super::attrs::Attrs;
use super::{Ctx, Translator};
use crate::error::Result;
use crate::ir::{NodeId, Op};
use crate::tensor::Tensor;

/// Input (as 2-D), spatial rank of the original, weight (as 2-D), bias.
type ConvOperands = (NodeId, usize, Tensor<f64>, Option<Vec<f64>>);

/// A 2-D window geometry.
struct Geometry {
    kernel: [usize; 2],
    strides: [usize; 2],
    /// `[top, left, bottom, right]`
    pads: [usize; 4],
    dilations: [usize; 2],
    out: [usize; 2],
}

impl Geometry {
    /// One window over the whole of an NCHW input (global pooling).
    fn global(xs: &[usize]) -> Geometry {
        Geometry { kernel: [xs[2], xs[3]], strides: [1, 1], pads: [0; 4], dilations: [1, 1], out: [1, 1] }
    }
}

/// Lift a 1-D attribute list to 2-D (height 1).
/// kernel_shape is optional; given, it must be the weight's (onnxruntime refuses others).
fn check_kernel_shape(ctx: &Ctx, attrs: &Attrs, w: &Tensor<f64>, spatial: usize) -> Result<()> {
    match attrs.ints("kernel_shape") {
        Some(k) if k.len() != spatial || two(&k, spatial, 1) != [w.shape[2] as i64, w.shape[3] as i64] => {
            Err(ctx.err(format!("kernel_shape {k:?} is not the weight's {:?}", &w.shape[2..])))
        }
        _ => Ok(()),
    }
}

fn two(v: &[i64], spatial: usize, default: i64) -> Vec<i64> {
    if spatial == 1 {
        [vec![default], v.to_vec()].concat()
    } else {
        v.to_vec()
    }
}

fn geometry(ctx: &Ctx, attrs: &Attrs, hw: [usize; 2], kernel: [usize; 2], spatial: usize) -> Result<Geometry> {
    let pair = |name: &str| -> Result<[usize; 2]> {
        match attrs.ints(name) {
            None => Ok([1, 1]),
            Some(v) if v.len() == spatial && v.iter().all(|&d| (1..=MAX_EXTENT as i64).contains(&d)) => {
                let v = two(&v, spatial, 1);
                Ok([v[0] as usize, v[1] as usize])
            }
            Some(v) => Err(ctx.err(format!("{name} {v:?} must be {spatial} numbers from 1 to {MAX_EXTENT}"))),
        }
    };
    let (strides, dilations) = (pair("strides")?, pair("dilations")?);
    let ceil = attrs.int("ceil_mode", 0) != 0;
    let auto = attrs.string("auto_pad").unwrap_or_else(|| "NOTSET".into());
    let mut pads = [0usize; 4];
    match auto.as_str() {
        "NOTSET" => {
            if let Some(p) = attrs.ints("pads") {
                if p.len() != 2 * spatial || p.iter().any(|&d| !(0..=MAX_EXTENT as i64).contains(&d)) {
                    return Err(ctx.err(format!("pads {p:?} must be {} numbers from 0 to {MAX_EXTENT}", 2 * spatial)));
                }
                let (b, e) = (two(&p[..spatial], spatial, 0), two(&p[spatial..], spatial, 0));
                pads = [b[0] as usize, b[1] as usize, e[0] as usize, e[1] as usize];
            }
        }
        "VALID" => {}
        "SAME_UPPER" | "SAME_LOWER" => {
            for d in 0..2 {
                let out = hw[d].div_ceil(strides[d]);
                let span = (kernel[d] - 1) * dilations[d] + 1;
                let total = ((out - 1) * strides[d] + span).saturating_sub(hw[d]);
                let small = total / 2;
                let (begin, end) = if auto == "SAME_UPPER" { (small, total - small) } else { (total - small, small) };
                pads[d] = begin;
                pads[d + 2] = end;
            }
        }
        other => return Err(ctx.err(format!("auto_pad {other} is not an ONNX value"))),
    }
    if kernel.iter().any(|&k| k == 0 || k > MAX_EXTENT) {
        return Err(ctx.err(format!("kernel {kernel:?} must be numbers from 1 to {MAX_EXTENT}")));
    }
    let mut out = [0; 2];
    for d in 0..2 {
        let padded = hw[d] + pads[d] + pads[d + 2];
        let span = (kernel[d] - 1) * dilations[d] + 1;
        if span > padded {
            return Err(ctx.err("the kernel is larger than the padded input"));
        }
        let steps = padded - span;
        out[d] = if ceil { steps.div_ceil(strides[d]) + 1 } else { steps / strides[d] + 1 };
        // A last window that starts past the input and its leading padding is dropped.
        if ceil && (out[d] - 1) * strides[d] >= hw[d] + pads[d] {
            out[d] -= 1;
        }
    }
    // Every window is listed (element indices) before anything is proven: bound them first.
    let cells = [out[0], out[1], kernel[0], kernel[1]].into_iter().try_fold(1usize, |n, d| n.checked_mul(d));
    if cells.is_none_or(|n| n > MAX_WINDOW_CELLS) {
        return Err(ctx.err(format!(
            "{out:?} windows of {kernel:?} elements are more than {MAX_WINDOW_CELLS} cells per channel"
        )));
    }
    Ok(Geometry { kernel, strides, pads, dilations, out })
}

/// The largest kernel, stride, dilation or padding along one axis: far past any model a circuit
/// can hold, and small enough that no sum of them overflows.
const MAX_EXTENT: usize = 1 << 20;

/// The most window cells (output positions times kernel size) of one channel: each becomes an
/// element index before it is proven.
const MAX_WINDOW_CELLS: usize = 1 << 26;

impl Translator {
    /// The input as NCHW: a 1-D input [N, C, L] becomes [N, C, 1, L]. Returns (node, spatial rank).
    /// Whether the op's input is [N, C, D, H, W].
    fn is_3d(&self, ctx: &Ctx) -> Result<bool> {
        Ok(self.shape(self.act_input(ctx, 0)?).len() == 5)
    }

    fn as_2d(&mut self, ctx: &Ctx, x: NodeId) -> Result<(NodeId, usize)> {
        let xs = self.shape(x);
        match xs.len() {
            4 => Ok((x, 2)),
            3 => {
                let shape = vec![xs[0], xs[1], 1, xs[2]];
                Ok((self.add_node(&format!("{}/as2d", ctx.name), Op::Reshape, vec![x], shape), 1))
            }
            5 => Err(ctx.err(format!("3-D {} is not supported, only 1-D and 2-D (input {xs:?})", ctx.node.op_type))),
            _ => Err(ctx.err(format!("expects an input [N, C, L], [N, C, H, W] or [N, C, D, H, W], got {xs:?}"))),
        }
    }

    /// Bind the output, back to 1-D when the input was.
    fn bind_spatial(&mut self, ctx: &Ctx, out: &str, op: Op, x: NodeId, shape: Vec<usize>, spatial: usize) {
        if spatial == 2 {
            self.push_named(out, ctx.name.clone(), op, vec![x], shape);
        } else {
            let y = self.add_node(&format!("{}/2d", ctx.name), op, vec![x], shape.clone());
            self.push_named(out, ctx.name.clone(), Op::Reshape, vec![y], vec![shape[0], shape[1], shape[3]]);
        }
    }

    /// The operands of Conv and ConvTranspose as 2-D: input, spatial rank, weight, bias.
    fn conv_operands(&mut self, ctx: &Ctx) -> Result<ConvOperands> {
        let x = self.act_input(ctx, 0)?;
        let (x, spatial) = self.as_2d(ctx, x)?;
        let mut w = self.const_input(ctx, 1)?;
        if w.shape.len() == 3 {
            w = Tensor::new(vec![w.shape[0], w.shape[1], 1, w.shape[2]], w.data);
        }
        let bias = self.optional_const(ctx, 2)?.map(|b| b.data);
        Ok((x, spatial, w, bias))
    }

    pub(super) fn conv(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        if self.is_3d(ctx)? {
            return self.conv3d(ctx, attrs, out);
        }
        let (x, spatial, w, bias) = self.conv_operands(ctx)?;
        let xs = self.shape(x);
        let group = attrs.int("group", 1).max(1) as usize;
        if w.shape.len() != 4 || w.shape[1] * group != xs[1] || w.shape[0] % group != 0 {
            return Err(ctx.err(format!(
                "weight {:?} with group {group} does not fit input {xs:?} (weight [out, in / group, k...])",
                w.shape
            )));
        }
        let kernel = [w.shape[2], w.shape[3]];
        check_kernel_shape(ctx, attrs, &w, spatial)?;
        let g = geometry(ctx, attrs, [xs[2], xs[3]], kernel, spatial)?;
        let shape = vec![xs[0], w.shape[0], g.out[0], g.out[1]];
        let op = Op::Conv { weight: w, bias, strides: g.strides, pads: g.pads, dilations: g.dilations, group };
        self.bind_spatial(ctx, out, op, x, shape, spatial);
        Ok(())
    }

    pub(super) fn conv_transpose(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let (x, spatial, w, bias) = self.conv_operands(ctx)?;
        let xs = self.shape(x);
        if attrs.int("group", 1) != 1 || w.shape.len() != 4 || w.shape[0] != xs[1] {
            return Err(ctx.err(format!("weight {:?} does not fit input {xs:?} (group 1 only)", w.shape)));
        }
        if attrs.ints("output_shape").is_some() || attrs.string("auto_pad").is_some_and(|a| a != "NOTSET") {
            return Err(ctx.err("output_shape and auto_pad are not supported; give pads"));
        }
        check_kernel_shape(ctx, attrs, &w, spatial)?;
        let g = geometry(ctx, attrs, [1, 1], [1, 1], spatial)?;
        let extra = match attrs.ints("output_padding") {
            Some(p) if p.len() == spatial => two(&p, spatial, 0).iter().map(|&v| v as usize).collect(),
            _ => vec![0, 0],
        };
        let mut hw = [0; 2];
        for d in 0..2 {
            let full = (xs[2 + d] - 1) * g.strides[d] + (w.shape[2 + d] - 1) * g.dilations[d] + 1 + extra[d];
            hw[d] = full
                .checked_sub(g.pads[d] + g.pads[d + 2])
                .filter(|&v| v > 0)
                .ok_or_else(|| ctx.err("the padding removes the whole output"))?;
        }
        let shape = vec![xs[0], w.shape[1], hw[0], hw[1]];
        let op = Op::ConvTranspose { weight: w, bias, strides: g.strides, pads: g.pads, dilations: g.dilations };
        self.bind_spatial(ctx, out, op, x, shape, spatial);
        Ok(())
    }

    fn kernel_of(ctx: &Ctx, attrs: &Attrs, spatial: usize) -> Result<[usize; 2]> {
        match attrs.ints("kernel_shape") {
            Some(k) if k.len() == spatial && k.iter().all(|&d| d >= 1) => {
                let k = two(&k, spatial, 1);
                Ok([k[0] as usize, k[1] as usize])
            }
            _ => Err(ctx.err(format!("kernel_shape must be {spatial} positive numbers"))),
        }
    }

    pub(super) fn avg_pool(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        if self.is_3d(ctx)? {
            return self.pool3d(ctx, attrs, out);
        }
        let x = self.act_input(ctx, 0)?;
        let (x, spatial) = self.as_2d(ctx, x)?;
        let xs = self.shape(x);
        let (g, count_include_pad) = if ctx.node.op_type == "GlobalAveragePool" {
            (Geometry::global(&xs), false)
        } else {
            let kernel = Self::kernel_of(ctx, attrs, spatial)?;
            let g = geometry(ctx, attrs, [xs[2], xs[3]], kernel, spatial)?;
            let include = attrs.int("count_include_pad", 0) != 0;
            let span = |d: usize| (g.kernel[d] - 1) * g.dilations[d] + 1;
            let overhang =
                (0..2).any(|d| (g.out[d] - 1) * g.strides[d] + span(d) > xs[2 + d] + g.pads[d] + g.pads[d + 2]);
            if include && overhang {
                return Err(ctx.err("ceil_mode windows past the padding with count_include_pad=1 are not supported"));
            }
            (g, include)
        };
        let shape = vec![xs[0], xs[1], g.out[0], g.out[1]];
        let op = Op::AvgPool {
            kernel: g.kernel,
            strides: g.strides,
            pads: g.pads,
            dilations: g.dilations,
            count_include_pad,
        };
        self.bind_spatial(ctx, out, op, x, shape, spatial);
        Ok(())
    }

    /// LpPool (p = 1, 2): per window, the sum of |x| (p = 1: the max chip's |x|) or the square
    /// root of the sum of squares (p = 2: products, a sum, the root), 1-D and 2-D.
    pub(super) fn lp_pool(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let (x, spatial) = self.as_2d(ctx, x)?;
        let xs = self.shape(x);
        let g = match ctx.node.op_type.as_str() {
            "GlobalLpPool" => Geometry::global(&xs),
            _ => geometry(ctx, attrs, [xs[2], xs[3]], Self::kernel_of(ctx, attrs, spatial)?, spatial)?,
        };
        let shape = vec![xs[0], xs[1], g.out[0], g.out[1]];
        let windows = crate::tensor::pool_windows(&xs, &shape, g.kernel, g.strides, g.pads, g.dilations);
        let name = ctx.name.clone();
        let y = match attrs.int("p", 2) {
            1 => {
                let a = self.abs(&format!("{name}/abs"), x);
                self.add_node(&format!("{name}/sum"), Op::Reduce { windows, mean: false }, vec![a], shape.clone())
            }
            2 => {
                let sq = self.binary_node(&format!("{name}/square"), crate::ir::BinaryKind::Mul, x, x);
                let s =
                    self.add_node(&format!("{name}/sum"), Op::Reduce { windows, mean: false }, vec![sq], shape.clone());
                self.sqrt(&format!("{name}/root"), s)
            }
            p => return Err(ctx.err(format!("p = {p}; only 1 and 2 are supported"))),
        };
        let op = Op::Reshape;
        self.bind_spatial(ctx, out, op, y, shape, spatial);
        Ok(())
    }

    pub(super) fn max_pool(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        if self.is_3d(ctx)? {
            return self.pool3d(ctx, attrs, out);
        }
        if ctx.node.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(ctx.err("the Indices output of MaxPool is not supported"));
        }
        let x0 = self.act_input(ctx, 0)?;
        let (x, spatial) = self.as_2d(ctx, x0)?;
        let xs = self.shape(x);
        let g = if ctx.node.op_type == "GlobalMaxPool" {
            Geometry::global(&xs)
        } else {
            let kernel = Self::kernel_of(ctx, attrs, spatial)?;
            geometry(ctx, attrs, [xs[2], xs[3]], kernel, spatial)?
        };
        let shape = vec![xs[0], xs[1], g.out[0], g.out[1]];
        let windows = crate::tensor::pool_windows(&xs, &shape, g.kernel, g.strides, g.pads, g.dilations);
        if windows.iter().any(|w| w.is_empty()) {
            return Err(ctx.err("a pooling window covers only padding"));
        }
        let y = self.max_over_windows(&ctx.name, x, &windows, shape.clone());
        let y = if spatial == 1 {
            self.add_node(&format!("{}/1d", ctx.name), Op::Reshape, vec![y], vec![shape[0], shape[1], shape[3]])
        } else {
            y
        };
        self.env.insert(out.to_string(), super::Value::Act(y));
        Ok(())
    }
}
