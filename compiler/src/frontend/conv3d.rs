//! 3-D convolution and pooling, on [N, C, D, H, W], built from what 2-D ops prove:
//! - Conv: per output depth, the input depth slices its kernel reaches are put side by side as
//!   channels (channel c, kernel depth k at c * kd + k; a slice in the padding is zeros), and one
//!   2-D convolution with the weight read as [out, in / group * kd, kh, kw] (the same numbers)
//!   gives that depth's output: every output is still one weighted sum;
//! - MaxPool and AveragePool: each output's window, as flat input indices, through the max chip
//!   or a sum (and a division).

use super::attrs::Attrs;
use super::{Ctx, Translator};
use crate::error::Result;
use crate::ir::{NodeId, Op};
use crate::tensor::{strides, Tensor};

/// One axis of a 3-D window geometry.
#[derive(Clone, Copy)]
struct Axis {
    kernel: usize,
    stride: usize,
    dilation: usize,
    pad: usize,
    pad_end: usize,
    out: usize,
}

fn axes(ctx: &Ctx, attrs: &Attrs, dims: [usize; 3], kernel: [usize; 3]) -> Result<[Axis; 3]> {
    let three = |name: &str| -> Result<[usize; 3]> {
        match attrs.ints(name) {
            None => Ok([1; 3]),
            Some(v) if v.len() == 3 && v.iter().all(|&d| d >= 1) => Ok([v[0] as usize, v[1] as usize, v[2] as usize]),
            Some(v) => Err(ctx.err(format!("{name} {v:?} must be 3 positive numbers"))),
        }
    };
    let (strides, dilations) = (three("strides")?, three("dilations")?);
    let ceil = attrs.int("ceil_mode", 0) != 0;
    let mut pads = [0usize; 6];
    match attrs.string("auto_pad").as_deref() {
        None | Some("NOTSET") => {
            if let Some(p) = attrs.ints("pads") {
                if p.len() != 6 || p.iter().any(|&d| d < 0) {
                    return Err(ctx.err(format!("pads {p:?} must be 6 non-negative numbers")));
                }
                pads = [p[0], p[1], p[2], p[3], p[4], p[5]].map(|d| d as usize);
            }
        }
        Some("VALID") => {}
        Some(other) => return Err(ctx.err(format!("auto_pad {other} is not supported in 3-D (NOTSET, VALID)"))),
    }
    let mut out = [Axis { kernel: 1, stride: 1, dilation: 1, pad: 0, pad_end: 0, out: 1 }; 3];
    for d in 0..3 {
        let padded = dims[d] + pads[d] + pads[d + 3];
        let span = (kernel[d] - 1) * dilations[d] + 1;
        if span > padded {
            return Err(ctx.err("the kernel is larger than the padded input"));
        }
        let steps = padded - span;
        let mut n = if ceil { steps.div_ceil(strides[d]) + 1 } else { steps / strides[d] + 1 };
        if ceil && (n - 1) * strides[d] >= dims[d] + pads[d] {
            n -= 1;
        }
        let (pad, pad_end) = (pads[d], pads[d + 3]);
        out[d] = Axis { kernel: kernel[d], stride: strides[d], dilation: dilations[d], pad, pad_end, out: n };
    }
    Ok(out)
}

/// The input position window index `k` of output position `o` reads on an axis, if inside.
fn position(a: &Axis, o: usize, k: usize, size: usize) -> Option<usize> {
    let p = (o * a.stride + k * a.dilation) as isize - a.pad as isize;
    (p >= 0 && (p as usize) < size).then_some(p as usize)
}

impl Translator {
    fn input_5d(&mut self, ctx: &Ctx) -> Result<(NodeId, Vec<usize>)> {
        let x = self.act_input(ctx, 0)?;
        let xs = self.shape(x);
        if xs.len() != 5 {
            return Err(ctx.err(format!("expects input [N, C, D, H, W]; got {xs:?}")));
        }
        Ok((x, xs))
    }

    pub(super) fn conv3d(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let (x, xs) = self.input_5d(ctx)?;
        let w = self.const_input(ctx, 1)?;
        let bias = self.optional_const(ctx, 2)?.map(|b| b.data);
        let group = attrs.int("group", 1).max(1) as usize;
        if w.shape.len() != 5 || w.shape[1] * group != xs[1] || w.shape[0] % group != 0 {
            return Err(ctx.err(format!("weight {:?} with group {group} does not fit input {xs:?}", w.shape)));
        }
        let (n, c, o) = (xs[0], xs[1], w.shape[0]);
        let kernel = [w.shape[2], w.shape[3], w.shape[4]];
        if attrs.ints("kernel_shape").is_some_and(|k| k.iter().map(|&d| d as usize).ne(kernel)) {
            return Err(ctx.err(format!("kernel_shape is not the weight's {kernel:?}")));
        }
        let [depth, height, width] = axes(ctx, attrs, [xs[2], xs[3], xs[4]], kernel)?;
        let kd = depth.kernel;
        let weight = Tensor::new(vec![o, w.shape[1] * kd, kernel[1], kernel[2]], w.data.clone());
        let st = strides(&xs);
        let plane = xs[3] * xs[4];
        let zero = xs.iter().product::<usize>();
        let mut slices = vec![];
        for od in 0..depth.out {
            // [N, C * kd, H, W]: channel c * kd + k is depth slice k of channel c (zeros outside).
            let mut indices = Vec::with_capacity(n * c * kd * plane);
            for b in 0..n {
                for ch in 0..c {
                    for k in 0..kd {
                        match position(&depth, od, k, xs[2]) {
                            Some(z) => indices.extend((0..plane).map(|i| b * st[0] + ch * st[1] + z * st[2] + i)),
                            None => indices.extend(std::iter::repeat_n(zero, plane)),
                        }
                    }
                }
            }
            let stacked = self.add_node(
                &format!("{}/depth{od}/slices", ctx.name),
                Op::Gather { indices, consts: vec![0.0] },
                vec![x],
                vec![n, c * kd, xs[3], xs[4]],
            );
            let op = Op::Conv {
                weight: weight.clone(),
                bias: bias.clone(),
                strides: [height.stride, width.stride],
                pads: [height.pad, width.pad, height.pad_end, width.pad_end],
                dilations: [height.dilation, width.dilation],
                group,
            };
            let shape = vec![n, o, height.out, width.out];
            slices.push(self.add_node(&format!("{}/depth{od}", ctx.name), op, vec![stacked], shape));
        }
        let y = self.stack_depths(&ctx.name, slices, [n, o, depth.out, height.out, width.out]);
        self.env.insert(out.to_string(), super::Value::Act(y));
        Ok(())
    }

    /// [N, O, D', H', W'] from D' outputs [N, O, H', W'].
    fn stack_depths(&mut self, name: &str, slices: Vec<NodeId>, shape: [usize; 5]) -> NodeId {
        let [n, o, d, h, w] = shape;
        let plane = h * w;
        let mut indices = Vec::with_capacity(n * o * d * plane);
        for b in 0..n {
            for ch in 0..o {
                for od in 0..d {
                    let base = od * n * o * plane + (b * o + ch) * plane;
                    indices.extend(base..base + plane);
                }
            }
        }
        self.add_node(name, Op::Gather { indices, consts: vec![] }, slices, shape.to_vec())
    }

    pub(super) fn pool3d(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let (x, xs) = self.input_5d(ctx)?;
        let op = ctx.node.op_type.as_str();
        let global = op.starts_with("Global");
        let kernel = match (global, attrs.ints("kernel_shape")) {
            (true, _) => [xs[2], xs[3], xs[4]],
            (false, Some(k)) if k.len() == 3 && k.iter().all(|&v| v >= 1) => [k[0], k[1], k[2]].map(|v| v as usize),
            (false, k) => return Err(ctx.err(format!("kernel_shape {k:?} must be 3 positive numbers"))),
        };
        let [depth, height, width] = if global {
            let whole = |k: usize| Axis { kernel: k, stride: 1, dilation: 1, pad: 0, pad_end: 0, out: 1 };
            [whole(kernel[0]), whole(kernel[1]), whole(kernel[2])]
        } else {
            axes(ctx, attrs, [xs[2], xs[3], xs[4]], kernel)?
        };
        let st = strides(&xs);
        let shape = vec![xs[0], xs[1], depth.out, height.out, width.out];
        let mut windows = vec![];
        for b in 0..xs[0] {
            for ch in 0..xs[1] {
                for od in 0..depth.out {
                    for oy in 0..height.out {
                        for ox in 0..width.out {
                            let mut window = vec![];
                            for kz in 0..depth.kernel {
                                let Some(z) = position(&depth, od, kz, xs[2]) else { continue };
                                for ky in 0..height.kernel {
                                    let Some(y) = position(&height, oy, ky, xs[3]) else { continue };
                                    for kx in 0..width.kernel {
                                        let Some(x) = position(&width, ox, kx, xs[4]) else { continue };
                                        window.push(b * st[0] + ch * st[1] + z * st[2] + y * st[3] + x);
                                    }
                                }
                            }
                            windows.push(window);
                        }
                    }
                }
            }
        }
        let name = ctx.name.clone();
        let y = if op.ends_with("MaxPool") {
            self.max_over_windows(&name, x, &windows, shape)
        } else if attrs.int("count_include_pad", 0) != 0 {
            let volume = (kernel[0] * kernel[1] * kernel[2]) as f64;
            let sum = self.add_node(&format!("{name}/sum"), Op::Reduce { windows, mean: false }, vec![x], shape);
            self.affine(&name, sum, Some(Tensor::new(vec![], vec![1.0 / volume])), None)
        } else {
            self.add_node(&name, Op::Reduce { windows, mean: true }, vec![x], shape)
        };
        self.env.insert(out.to_string(), super::Value::Act(y));
        Ok(())
    }
}
