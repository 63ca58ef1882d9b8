//! Structural ops (slices, concatenation, padding, broadcasting, resizing): they only move
//! elements. Each is defined once, on tensors; on an activation it runs on a tensor of element
//! indices, and the indices that come out become a `Gather` (no constraints, only copies).

use super::attrs::Attrs;
use super::consts::{self, norm};
use crate::tensor::{broadcast_index_map, broadcast_shape, strides, Tensor};

type Result<T> = std::result::Result<T, String>;

/// Ops that only move elements.
pub const STRUCTURAL_OPS: &[&str] = &[
    "Concat",
    "Slice",
    "Split",
    "Squeeze",
    "Unsqueeze",
    "Gather",
    "Pad",
    "Expand",
    "Where",
    "Tile",
    "Resize",
    "Upsample",
    "Flatten",
    "Reshape",
    "Transpose",
    "Identity",
    "Cast",
    "Dropout",
    "Trilu",
    "GatherElements",
    "ScatterElements",
    "GatherND",
    "ScatterND",
];

/// Which inputs of `op` carry data (the rest are shapes, indices, conditions).
pub fn data_inputs(op: &str, n: usize) -> Vec<usize> {
    match op {
        "Concat" => (0..n).collect(),
        "Where" => vec![1, 2],
        "ScatterElements" | "ScatterND" => vec![0, 2],
        _ => vec![0],
    }
}

/// Evaluate a structural op. `inputs` keeps ONNX positions (None: an omitted optional input);
/// `outputs` is how many outputs the node has (Split).
pub fn eval(op: &str, inputs: &[Option<&Tensor<f64>>], attrs: &Attrs, outputs: usize) -> Result<Vec<Tensor<f64>>> {
    let input = |i: usize| inputs.get(i).copied().flatten().ok_or_else(|| format!("missing input {i}"));
    let ints = |i: usize| -> Option<Vec<i64>> { inputs.get(i).copied().flatten().map(to_ints) };
    let one = |t: Tensor<f64>| Ok(vec![t]);
    match op {
        "Slice" => {
            let x = input(0)?;
            let rank = x.shape.len();
            let (starts, ends) = match (ints(1), ints(2)) {
                (Some(s), Some(e)) => (s, e),
                _ => (attrs.ints("starts").ok_or("starts missing")?, attrs.ints("ends").ok_or("ends missing")?),
            };
            let axes = ints(3).or_else(|| attrs.ints("axes")).unwrap_or_else(|| (0..starts.len() as i64).collect());
            let steps = ints(4).unwrap_or_else(|| vec![1; starts.len()]);
            let mut ranges: Vec<(i64, i64, usize)> = x.shape.iter().map(|&d| (0, 1, d)).collect();
            for (j, &a) in axes.iter().enumerate() {
                let a = norm(a, rank)?;
                let dim = x.shape[a] as i64;
                let step = *steps.get(j).unwrap_or(&1);
                if step == 0 {
                    return Err("a slice step of 0".into());
                }
                let fix = |v: i64| if v < 0 { v + dim } else { v };
                let (start, end) = (fix(starts[j].clamp(-dim - 1, dim)), fix(ends[j].clamp(-dim - 1, dim)));
                let (start, end) = if step > 0 {
                    (start.clamp(0, dim), end.clamp(0, dim))
                } else {
                    (start.clamp(0, dim - 1), end.clamp(-1, dim - 1))
                };
                let count = if step > 0 { (end - start + step - 1) / step } else { (start - end - step - 1) / -step };
                ranges[a] = (start, step, count.max(0) as usize);
            }
            let shape: Vec<usize> = ranges.iter().map(|r| r.2).collect();
            one(pick(x, &shape, |idx| {
                Some(idx.iter().zip(&ranges).map(|(&i, r)| (r.0 + i as i64 * r.1) as usize).collect())
            }))
        }
        "Split" => {
            let x = input(0)?;
            let rank = x.shape.len();
            let axis = norm(attrs.int("axis", 0), rank)?;
            let dim = x.shape[axis];
            let sizes: Vec<usize> = match ints(1).or_else(|| attrs.ints("split")) {
                Some(s) => crate::tensor::dims(s.iter().map(|&v| v as f64))?,
                None => {
                    let n = attrs.int("num_outputs", outputs as i64).clamp(1, dim.max(1) as i64) as usize;
                    let chunk = dim.div_ceil(n);
                    (0..n).map(|i| chunk.min(dim.saturating_sub(i * chunk))).collect()
                }
            };
            if sizes.iter().sum::<usize>() != dim {
                return Err(format!("split sizes {sizes:?} do not add up to the axis length {dim}"));
            }
            let mut start = 0;
            let mut parts = vec![];
            for s in sizes {
                let mut shape = x.shape.clone();
                shape[axis] = s;
                let from = start;
                parts.push(pick(x, &shape, |idx| {
                    let mut i = idx.to_vec();
                    i[axis] += from;
                    Some(i)
                }));
                start += s;
            }
            Ok(parts)
        }
        "Pad" => pad(inputs, attrs),
        "Expand" => {
            let (x, target) = (input(0)?, ints(1).ok_or("shape missing")?);
            let target = crate::tensor::dims(target.iter().map(|&d| d.max(0) as f64))?;
            let shape = broadcast_shape(&x.shape, &target).ok_or("the shapes do not broadcast")?;
            let shape = crate::tensor::bounded(shape)?;
            one(broadcast(x, &shape))
        }
        "Where" => {
            let (c, x, y) = (input(0)?, input(1)?, input(2)?);
            let shape = broadcast_shape(&c.shape, &x.shape)
                .and_then(|s| broadcast_shape(&s, &y.shape))
                .ok_or("the shapes do not broadcast")?;
            let (c, x, y) = (broadcast(c, &shape), broadcast(x, &shape), broadcast(y, &shape));
            let data = (0..c.len()).map(|i| if c.data[i] != 0.0 { x.data[i] } else { y.data[i] }).collect();
            one(Tensor::new(shape, data))
        }
        "Trilu" => {
            // Input 2 is not ONNX's: the zero of the other triangle (an element index on
            // activations; absent when folding constants).
            let x = input(0)?;
            let rank = x.shape.len();
            if rank < 2 {
                return Err("Trilu needs at least 2 dimensions".into());
            }
            let k = ints(1).and_then(|v| v.first().copied()).unwrap_or(0);
            let upper = attrs.int("upper", 1) != 0;
            let zero = inputs.get(2).copied().flatten().and_then(|t| t.data.first().copied()).unwrap_or(0.0);
            let (rows, cols) = (x.shape[rank - 2], x.shape[rank - 1]);
            let data = (0..x.len())
                .map(|f| {
                    let (i, j) = (((f / cols) % rows) as i64, (f % cols) as i64);
                    let keep = if upper { j - i >= k } else { j - i <= k };
                    if keep {
                        x.data[f]
                    } else {
                        zero
                    }
                })
                .collect();
            one(Tensor::new(x.shape.clone(), data))
        }
        "GatherElements" | "ScatterElements" => gather_scatter_elements(op, inputs, attrs),
        "GatherND" | "ScatterND" => gather_scatter_nd(op, inputs, attrs),
        "Tile" => {
            let (x, reps) = (input(0)?, ints(1).ok_or("repeats missing")?);
            let shape = crate::tensor::dims(x.shape.iter().zip(&reps).map(|(&d, &r)| d as f64 * r.max(0) as f64))?;
            one(pick(x, &shape, |idx| Some(idx.iter().zip(&x.shape).map(|(&i, &d)| i % d).collect())))
        }
        "Resize" | "Upsample" => resize(op, inputs, attrs),
        _ => {
            let present: Vec<Tensor<f64>> = inputs.iter().flatten().map(|t| (*t).clone()).collect();
            consts::fold(op, &present, attrs).map(|t| vec![t])
        }
    }
}

/// Resize and Upsample, nearest mode: each output element copies its nearest source.
fn resize(op: &str, inputs: &[Option<&Tensor<f64>>], attrs: &Attrs) -> Result<Vec<Tensor<f64>>> {
    let input = |i: usize| inputs.get(i).copied().flatten().ok_or_else(|| format!("missing input {i}"));
    let ints = |i: usize| -> Option<Vec<i64>> { inputs.get(i).copied().flatten().map(to_ints) };
    let one = |t: Tensor<f64>| Ok(vec![t]);
    let x = input(0)?;
    let mode = attrs.string("mode").unwrap_or_else(|| "nearest".into());
    if mode != "nearest" {
        return Err(format!("Resize mode {mode} is not supported; only nearest"));
    }
    let rank = x.shape.len();
    // Upsample / Resize-10: (X, scales); Resize-11+: (X, roi, scales, sizes).
    let (scales, sizes) = if op == "Upsample" || inputs.len() == 2 {
        (
            inputs
                .get(1)
                .copied()
                .flatten()
                .map(|t| t.data.clone())
                .or_else(|| attrs.floats("scales").map(|v| v.iter().map(|&s| s as f64).collect())),
            None,
        )
    } else {
        (inputs.get(2).copied().flatten().filter(|t| !t.is_empty()).map(|t| t.data.clone()), ints(3))
    };
    let (shape, scales): (Vec<usize>, Vec<f64>) = match (sizes, scales) {
        (Some(s), _) if s.len() == rank => {
            let shape = crate::tensor::dims(s.iter().map(|&v| v as f64))?;
            let sc = shape.iter().zip(&x.shape).map(|(&o, &i)| o as f64 / i as f64).collect();
            (shape, sc)
        }
        (_, Some(sc)) if sc.len() == rank => {
            (crate::tensor::dims(x.shape.iter().zip(&sc).map(|(&d, &s)| (d as f64 * s).floor()))?, sc)
        }
        _ => return Err("Resize needs scales or sizes for every axis".into()),
    };
    let ctm = attrs.string("coordinate_transformation_mode").unwrap_or_else(|| {
        if op == "Upsample" || inputs.len() == 2 {
            "asymmetric".into()
        } else {
            "half_pixel".into()
        }
    });
    let nearest = attrs.string("nearest_mode").unwrap_or_else(|| {
        if op == "Upsample" || inputs.len() == 2 {
            "floor".into()
        } else {
            "round_prefer_floor".into()
        }
    });
    if !matches!(ctm.as_str(), "asymmetric" | "align_corners" | "pytorch_half_pixel" | "half_pixel") {
        return Err(format!("coordinate_transformation_mode {ctm} is not supported with nearest"));
    }
    if !matches!(nearest.as_str(), "floor" | "ceil" | "round_prefer_ceil" | "round_prefer_floor") {
        return Err(format!("nearest_mode {nearest} is not an ONNX nearest mode"));
    }
    if attrs.ints("axes").is_some_and(|a| {
        a.len() != rank || a.iter().enumerate().any(|(i, &v)| v != i as i64 && v != i as i64 - rank as i64)
    }) {
        return Err("axes other than all of them, in order, are not supported".into());
    }
    if attrs.string("keep_aspect_ratio_policy").is_some_and(|p| p != "stretch") {
        return Err("keep_aspect_ratio_policy other than stretch is not supported".into());
    }
    // These shape only the linear and cubic modes' weights, or tf_crop_and_resize's.
    for unused in ["cubic_coeff_a", "exclude_outside", "extrapolation_value", "antialias"] {
        let _ = attrs.has(unused);
    }
    let maps: Vec<Vec<usize>> = (0..rank)
        .map(|a| {
            let (din, dout, s) = (x.shape[a] as f64, shape[a] as f64, scales[a]);
            (0..shape[a])
                .map(|o| {
                    let o = o as f64;
                    let src = match ctm.as_str() {
                        "asymmetric" => o / s,
                        "align_corners" if dout > 1.0 => o * (din - 1.0) / (dout - 1.0),
                        "align_corners" => 0.0,
                        "pytorch_half_pixel" if dout <= 1.0 => 0.0,
                        _ => (o + 0.5) / s - 0.5,
                    };
                    let i = match nearest.as_str() {
                        "floor" => src.floor(),
                        "ceil" => src.ceil(),
                        "round_prefer_ceil" => (src + 0.5).floor(),
                        _ => (src - 0.5).ceil(),
                    };
                    (i.max(0.0) as usize).min(x.shape[a] - 1)
                })
                .collect()
        })
        .collect();
    one(pick(x, &shape, |idx| Some(idx.iter().enumerate().map(|(a, &i)| maps[a][i]).collect())))
}

/// GatherND and ScatterND with constant indices: slices named by index tuples.
fn gather_scatter_nd(op: &str, inputs: &[Option<&Tensor<f64>>], attrs: &Attrs) -> Result<Vec<Tensor<f64>>> {
    let input = |i: usize| inputs.get(i).copied().flatten().ok_or_else(|| format!("missing input {i}"));
    let one = |t: Tensor<f64>| Ok(vec![t]);
    let (x, index) = (input(0)?, input(1)?);
    let batch_dims = if op == "GatherND" { attrs.int("batch_dims", 0).max(0) as usize } else { 0 };
    if op == "ScatterND" && attrs.string("reduction").is_some_and(|r| r != "none") {
        return Err("only reduction none is supported".into());
    }
    let (rank, q) = (x.shape.len(), index.shape.len());
    let k = index.shape.last().copied().unwrap_or(0);
    if q == 0
        || k == 0
        || batch_dims + k > rank
        || batch_dims >= q
        || x.shape[..batch_dims] != index.shape[..batch_dims]
    {
        return Err(format!("indices {:?} (batch_dims {batch_dims}) do not index data {:?}", index.shape, x.shape));
    }
    // Each index tuple names a slice of x: its flat start and its length.
    let xs = strides(&x.shape);
    let slice: usize = x.shape[batch_dims + k..].iter().product();
    let tuples = index.len() / k;
    let per_batch: usize = index.shape[batch_dims..q - 1].iter().product();
    let starts = (0..tuples)
        .map(|t| {
            let batch = t / per_batch.max(1);
            let mut start = 0;
            // The batch coordinates, then the tuple's.
            let mut rest = batch;
            for a in (0..batch_dims).rev() {
                start += (rest % x.shape[a]) * xs[a];
                rest /= x.shape[a];
            }
            for j in 0..k {
                let dim = x.shape[batch_dims + j] as i64;
                let i = index.data[t * k + j] as i64;
                let i = if i < 0 { i + dim } else { i };
                if !(0..dim).contains(&i) {
                    return Err(format!("index {} is out of range for an axis of {dim}", index.data[t * k + j]));
                }
                start += i as usize * xs[batch_dims + j];
            }
            Ok(start)
        })
        .collect::<Result<Vec<usize>>>()?;
    let mut shape = index.shape[..q - 1].to_vec();
    shape.extend(&x.shape[batch_dims + k..]);
    if op == "GatherND" {
        let data = starts.iter().flat_map(|&s| x.data[s..s + slice].iter().copied()).collect();
        return one(Tensor::new(shape, data));
    }
    let updates = input(2)?;
    if updates.shape != shape {
        return Err(format!("updates {:?} must be {shape:?}", updates.shape));
    }
    let mut data = x.data.clone();
    for (t, &s) in starts.iter().enumerate() {
        data[s..s + slice].copy_from_slice(&updates.data[t * slice..(t + 1) * slice]);
    }
    one(Tensor::new(x.shape.clone(), data))
}

/// GatherElements and ScatterElements with constant indices, along one axis.
fn gather_scatter_elements(op: &str, inputs: &[Option<&Tensor<f64>>], attrs: &Attrs) -> Result<Vec<Tensor<f64>>> {
    let input = |i: usize| inputs.get(i).copied().flatten().ok_or_else(|| format!("missing input {i}"));
    let one = |t: Tensor<f64>| Ok(vec![t]);
    let (x, index) = (input(0)?, input(1)?);
    let rank = x.shape.len();
    let axis = norm(attrs.int("axis", 0), rank)?;
    if index.shape.len() != rank {
        return Err(format!("indices of rank {} for data of rank {rank}", index.shape.len()));
    }
    if op == "ScatterElements" && attrs.string("reduction").is_some_and(|r| r != "none") {
        return Err("only reduction none is supported".into());
    }
    let dim = x.shape[axis] as i64;
    let (xs, is) = (strides(&x.shape), strides(&index.shape));
    // For each element of the indices: the flat position in x it names.
    let targets = (0..index.len())
        .map(|f| {
            let i = index.data[f] as i64;
            let i = if i < 0 { i + dim } else { i };
            if !(0..dim).contains(&i) {
                return Err(format!("index {} is out of range for an axis of {dim}", index.data[f]));
            }
            Ok((0..rank).map(|a| if a == axis { i as usize } else { (f / is[a]) % index.shape[a] } * xs[a]).sum())
        })
        .collect::<Result<Vec<usize>>>()?;
    if op == "GatherElements" {
        return one(Tensor::new(index.shape.clone(), targets.iter().map(|&t| x.data[t]).collect()));
    }
    let updates = input(2)?;
    if updates.shape != index.shape {
        return Err("updates and indices differ in shape".into());
    }
    let mut data = x.data.clone();
    for (f, &t) in targets.iter().enumerate() {
        data[t] = updates.data[f];
    }
    one(Tensor::new(x.shape.clone(), data))
}

/// Pad: constant, reflect, edge or wrap, on any axes (negative pads crop).
fn pad(inputs: &[Option<&Tensor<f64>>], attrs: &Attrs) -> Result<Vec<Tensor<f64>>> {
    let input = |i: usize| inputs.get(i).copied().flatten().ok_or_else(|| format!("missing input {i}"));
    let ints = |i: usize| -> Option<Vec<i64>> { inputs.get(i).copied().flatten().map(to_ints) };
    let one = |t: Tensor<f64>| Ok(vec![t]);
    let x = input(0)?;
    let rank = x.shape.len();
    let pads = ints(1).or_else(|| attrs.ints("pads")).ok_or("pads missing")?;
    let axes: Vec<usize> = match ints(3) {
        Some(a) => a.iter().map(|&a| norm(a, rank)).collect::<Result<_>>()?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(format!("pads {pads:?} must hold two numbers per padded axis"));
    }
    let mut begin = vec![0i64; rank];
    let mut end = vec![0i64; rank];
    for (j, &a) in axes.iter().enumerate() {
        begin[a] = pads[j];
        end[a] = pads[j + axes.len()];
    }
    let mode = attrs.string("mode").unwrap_or_else(|| "constant".into());
    let shape = crate::tensor::dims((0..rank).map(|a| (x.shape[a] as f64 + begin[a] as f64 + end[a] as f64).max(0.0)))?;
    let value = inputs.get(2).copied().flatten().map(|t| t.data.first().copied().unwrap_or(0.0));
    let value = value.unwrap_or(attrs.float("value", 0.0) as f64);
    let mut out = pick(x, &shape, |idx| {
        let mut src = Vec::with_capacity(rank);
        for a in 0..rank {
            let dim = x.shape[a] as i64;
            let i = idx[a] as i64 - begin[a];
            let i = match mode.as_str() {
                _ if (0..dim).contains(&i) => i,
                "reflect" if dim > 1 => {
                    let period = 2 * (dim - 1);
                    let m = i.rem_euclid(period);
                    if m < dim {
                        m
                    } else {
                        period - m
                    }
                }
                "edge" | "reflect" => i.clamp(0, dim - 1),
                "wrap" => i.rem_euclid(dim),
                _ => return None,
            };
            src.push(i as usize);
        }
        Some(src)
    });
    if !["constant", "reflect", "edge", "wrap"].contains(&mode.as_str()) {
        return Err(format!("pad mode {mode} is not an ONNX mode"));
    }
    fill_missing(&mut out, value);
    one(out)
}

/// Output of `shape` whose element at each multi-index is x at `source(index)` (NaN: none).
fn pick(x: &Tensor<f64>, shape: &[usize], source: impl Fn(&[usize]) -> Option<Vec<usize>>) -> Tensor<f64> {
    let (xs, total) = (strides(&x.shape), shape.iter().product::<usize>());
    let mut idx = vec![0; shape.len()];
    let mut data = Vec::with_capacity(total);
    for flat in 0..total {
        let mut rem = flat;
        for a in (0..shape.len()).rev() {
            idx[a] = rem % shape[a];
            rem /= shape[a];
        }
        data.push(match source(&idx) {
            Some(src) => x.data[src.iter().zip(&xs).map(|(i, s)| i * s).sum::<usize>()],
            None => f64::NAN,
        });
    }
    Tensor::new(shape.to_vec(), data)
}

fn fill_missing(t: &mut Tensor<f64>, value: f64) {
    for v in &mut t.data {
        if v.is_nan() {
            *v = value;
        }
    }
}

fn broadcast(x: &Tensor<f64>, shape: &[usize]) -> Tensor<f64> {
    let map = broadcast_index_map(&x.shape, shape);
    Tensor::new(shape.to_vec(), map.iter().map(|&i| x.data[i]).collect())
}

fn to_ints(t: &Tensor<f64>) -> Vec<i64> {
    t.data.iter().map(|&v| v.clamp(i64::MIN as f64, i64::MAX as f64) as i64).collect()
}
