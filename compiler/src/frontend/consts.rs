//! Compile-time evaluation of ops whose inputs are all constants (shape arithmetic, folded weights).

use super::attrs::{load_tensor, Attrs};
use crate::tensor::{broadcast_index_map, broadcast_shape, transpose_index_map, Tensor};

type Result<T> = std::result::Result<T, String>;

pub fn fold(op: &str, inputs: &[Tensor<f64>], attrs: &Attrs) -> Result<Tensor<f64>> {
    let input = |i: usize| inputs.get(i).ok_or_else(|| format!("missing input {i}"));
    match op {
        "Constant" => {
            if let Some(t) = attrs.tensor("value") {
                load_tensor(t, "Constant").map_err(|e| e.to_string())
            } else if let Some(v) = attrs.ints("value_ints") {
                Ok(Tensor::new(vec![v.len()], v.iter().map(|&x| x as f64).collect()))
            } else {
                Err("only Constant with `value` or `value_ints` is supported".into())
            }
        }
        "Identity" | "Dropout" => Ok(input(0)?.clone()),
        "Cast" => {
            let x = input(0)?;
            Ok(match cast_kind(attrs.int("to", 1))? {
                CastKind::Float => x.clone(),
                CastKind::Integer => x.map(|v| v.trunc()),
                CastKind::Bool => x.map(|&v| if v != 0.0 { 1.0 } else { 0.0 }),
            })
        }
        "Add" | "Sub" | "Mul" | "Div" | "Equal" | "Less" | "LessOrEqual" | "Greater" | "GreaterOrEqual" | "And"
        | "Or" | "Xor" | "Mod" | "Pow" => binary(op, input(0)?, input(1)?, attrs),
        "Max" | "Min" if !inputs.is_empty() => {
            let pick = |x: f64, y: f64| if (op == "Max") == (y > x) { y } else { x };
            inputs[1..].iter().try_fold(inputs[0].clone(), |acc, t| {
                let shape = broadcast_shape(&acc.shape, &t.shape).ok_or("shapes do not broadcast")?;
                let (ma, mb) = (broadcast_index_map(&acc.shape, &shape), broadcast_index_map(&t.shape, &shape));
                Ok(Tensor::new(shape, ma.iter().zip(&mb).map(|(&i, &j)| pick(acc.data[i], t.data[j])).collect()))
            })
        }
        "Relu" => Ok(input(0)?.map(|v| v.max(0.0))),
        "Abs" => Ok(input(0)?.map(|v| v.abs())),
        "Neg" => Ok(input(0)?.map(|v| -v)),
        "Sqrt" => Ok(input(0)?.map(|v| v.sqrt())),
        "Reciprocal" => Ok(input(0)?.map(|v| 1.0 / v)),
        "IsNaN" => Ok(input(0)?.map(|v| if v.is_nan() { 1.0 } else { 0.0 })),
        "IsInf" => {
            let (neg, pos) = (attrs.int("detect_negative", 1) != 0, attrs.int("detect_positive", 1) != 0);
            Ok(input(0)?
                .map(|&v| if (v == f64::INFINITY && pos) || (v == f64::NEG_INFINITY && neg) { 1.0 } else { 0.0 }))
        }
        // The indices of the nonzero elements, one row per axis, in row-major order.
        "NonZero" => {
            let x = input(0)?;
            let strides = crate::tensor::strides(&x.shape);
            let hits: Vec<usize> = (0..x.len()).filter(|&i| x.data[i] != 0.0).collect();
            let data = strides
                .iter()
                .zip(&x.shape)
                .flat_map(|(&s, &d)| hits.iter().map(move |&i| ((i / s) % d) as f64))
                .collect();
            Ok(Tensor::new(vec![x.shape.len(), hits.len()], data))
        }
        op @ ("ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd") => reduce(op, inputs, attrs),
        "Not" => Ok(input(0)?.map(|&v| if v == 0.0 { 1.0 } else { 0.0 })),
        "Sign" => Ok(input(0)?.map(|&v| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                0.0
            }
        })),
        "Floor" => Ok(input(0)?.map(|v| v.floor())),
        "Ceil" => Ok(input(0)?.map(|v| v.ceil())),
        "Round" => Ok(input(0)?.map(|v| v.round_ties_even())),
        "ConstantOfShape" => {
            let shape = crate::tensor::dims(input(0)?.data.iter().copied())?;
            let value = match attrs.tensor("value") {
                Some(t) => {
                    load_tensor(t, "ConstantOfShape").map_err(|e| e.to_string())?.data.first().copied().unwrap_or(0.0)
                }
                None => 0.0,
            };
            let n = shape.iter().product();
            Ok(Tensor::new(shape, vec![value; n]))
        }
        "Range" => {
            let (start, limit, delta) = (input(0)?.data[0], input(1)?.data[0], input(2)?.data[0]);
            if delta == 0.0 {
                return Err("Range with a delta of 0".into());
            }
            let n = crate::tensor::dims([((limit - start) / delta).ceil().max(0.0)])?[0];
            Ok(Tensor::new(vec![n], (0..n).map(|i| start + i as f64 * delta).collect()))
        }
        "Unsqueeze" => {
            let x = input(0)?;
            let axes = axes_of(attrs, inputs.get(1))?;
            let rank = x.shape.len() + axes.len();
            let mut axes: Vec<usize> = axes.iter().map(|&a| norm(a, rank)).collect::<Result<_>>()?;
            axes.sort_unstable();
            let mut shape = x.shape.clone();
            for a in axes {
                shape.insert(a, 1);
            }
            Ok(Tensor::new(shape, x.data.clone()))
        }
        "Squeeze" => {
            let x = input(0)?;
            let rank = x.shape.len();
            let axes: Vec<usize> = match axes_of(attrs, inputs.get(1)) {
                Ok(a) if !a.is_empty() => a.iter().map(|&a| norm(a, rank)).collect::<Result<_>>()?,
                _ => (0..rank).filter(|&i| x.shape[i] == 1).collect(),
            };
            let shape = x.shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect();
            Ok(Tensor::new(shape, x.data.clone()))
        }
        "Concat" => concat(inputs, attrs),
        "Gather" => gather(input(0)?, input(1)?, attrs),
        "Reshape" => {
            let (x, target) = (input(0)?, input(1)?);
            Ok(Tensor::new(reshape_target(&x.shape, &target.data, attrs.int("allowzero", 0) != 0)?, x.data.clone()))
        }
        "Flatten" => {
            let x = input(0)?;
            let axis = norm(attrs.int("axis", 1), x.shape.len() + 1)?;
            let shape = vec![x.shape[..axis].iter().product(), x.shape[axis..].iter().product()];
            Ok(Tensor::new(shape, x.data.clone()))
        }
        "Transpose" => {
            let x = input(0)?;
            let perm: Vec<usize> = match attrs.ints("perm") {
                Some(p) => p.iter().map(|&i| i as usize).collect(),
                None => (0..x.shape.len()).rev().collect(),
            };
            let map = transpose_index_map(&x.shape, &perm);
            let shape = perm.iter().map(|&p| x.shape[p]).collect();
            Ok(Tensor::new(shape, map.iter().map(|&i| x.data[i]).collect()))
        }
        other => Err(format!("{other} on constants cannot be folded yet")),
    }
}

/// A reduction of a constant: axes from the attribute (before opset 18) or input 1.
fn reduce(op: &str, inputs: &[Tensor<f64>], attrs: &Attrs) -> Result<Tensor<f64>> {
    let x = inputs.first().ok_or("missing input 0")?;
    let rank = x.shape.len();
    let axes = axes_of(attrs, inputs.get(1)).unwrap_or_default();
    let axes: Vec<usize> = match axes.is_empty() {
        true if attrs.int("noop_with_empty_axes", 0) != 0 => return Ok(x.clone()),
        true => (0..rank).collect(),
        false => axes.iter().map(|&a| norm(a, rank)).collect::<Result<_>>()?,
    };
    let keepdims = attrs.int("keepdims", 1) != 0;
    let kept: Vec<usize> = (0..rank).map(|a| if axes.contains(&a) { 1 } else { x.shape[a] }).collect();
    let (from, to) = (crate::tensor::strides(&x.shape), crate::tensor::strides(&kept));
    let mut groups: Vec<Vec<f64>> = vec![vec![]; kept.iter().product()];
    for (i, &v) in x.data.iter().enumerate() {
        let o: usize = (0..rank).map(|a| if axes.contains(&a) { 0 } else { (i / from[a]) % x.shape[a] * to[a] }).sum();
        groups[o].push(v);
    }
    let data = groups
        .iter()
        .map(|g| match op {
            "ReduceSum" => g.iter().sum(),
            "ReduceMean" => g.iter().sum::<f64>() / g.len().max(1) as f64,
            "ReduceMax" => g.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            "ReduceMin" => g.iter().copied().fold(f64::INFINITY, f64::min),
            _ => g.iter().product(),
        })
        .collect();
    let shape = if keepdims { kept } else { (0..rank).filter(|a| !axes.contains(a)).map(|a| x.shape[a]).collect() };
    Ok(Tensor::new(shape, data))
}

fn axes_of(attrs: &Attrs, input: Option<&Tensor<f64>>) -> Result<Vec<i64>> {
    match (attrs.ints("axes"), input) {
        (Some(a), _) => Ok(a),
        (None, Some(t)) => Ok(t.data.iter().map(|&v| v as i64).collect()),
        (None, None) => Err("axes are missing".into()),
    }
}

pub(super) fn norm(axis: i64, rank: usize) -> Result<usize> {
    super::normalize_axis(axis, rank).ok_or_else(|| format!("axis {axis} out of range for rank {rank}"))
}

/// The shape a Reshape produces: 0 keeps the input dimension, -1 takes what is left.
/// Reshape's output shape: 0 copies the input's dimension (unless `allowzero`, where it is an
/// empty axis, which zkonnx refuses), -1 is inferred.
pub fn reshape_target(input: &[usize], target: &[f64], allowzero: bool) -> Result<Vec<usize>> {
    if allowzero && target.contains(&0.0) {
        return Err("allowzero=1 with a 0 in the target shape makes an empty tensor".into());
    }
    let total: usize = input.iter().product();
    let mut shape = vec![];
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t as i64 {
            0 => shape.push(*input.get(i).ok_or("0 in the target shape past the input rank")?),
            -1 if infer.is_none() => {
                infer = Some(i);
                shape.push(1);
            }
            d if d > 0 => shape.push(d as usize),
            d => return Err(format!("invalid dimension {d} in the target shape")),
        }
    }
    let mut shape = crate::tensor::bounded(shape)?;
    let known: usize = shape.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {input:?} to {target:?}"));
        }
        shape[i] = total / known;
    }
    if shape.iter().product::<usize>() != total {
        return Err(format!("cannot reshape {input:?} ({total} values) to {shape:?}"));
    }
    Ok(shape)
}

/// What a Cast does to a value, by the type it casts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CastKind {
    /// float, double, float16, bfloat16: the value (half precision rounds below any scale's
    /// quantization step that matters here).
    Float,
    /// Any integer type: truncation toward zero (ONNX's Cast; integer_div in EZKL's examples
    /// relies on it).
    Integer,
    /// bool: 1 where the value is not 0.
    Bool,
}

/// The kind of a Cast's `to` (TensorProto.DataType), or why it is refused.
pub fn cast_kind(to: i64) -> std::result::Result<CastKind, String> {
    match to {
        1 | 10 | 11 | 16 => Ok(CastKind::Float),
        2..=7 | 12 | 13 => Ok(CastKind::Integer),
        9 => Ok(CastKind::Bool),
        8 => Err("Cast to string is not supported".into()),
        t @ (14 | 15 | 17..=23) => {
            Err(format!("Cast to data type {t} (complex, 8-bit float or 4-bit types) is not supported"))
        }
        t => Err(format!("Cast to {t}, which is not an ONNX data type")),
    }
}

/// A broadcast binary op of two constants (comparisons and logic give 1 or 0).
fn binary(op: &str, a: &Tensor<f64>, b: &Tensor<f64>, attrs: &Attrs) -> Result<Tensor<f64>> {
    let shape = broadcast_shape(&a.shape, &b.shape).ok_or("shapes do not broadcast")?;
    let (ma, mb) = (broadcast_index_map(&a.shape, &shape), broadcast_index_map(&b.shape, &shape));
    let truth = |c: bool| if c { 1.0 } else { 0.0 };
    let f = |x: f64, y: f64| match op {
        "Add" => x + y,
        "Sub" => x - y,
        "Mul" => x * y,
        "Equal" => truth(x == y),
        "Less" => truth(x < y),
        "Greater" => truth(x > y),
        "LessOrEqual" => truth(x <= y),
        "GreaterOrEqual" => truth(x >= y),
        "And" => truth(x != 0.0 && y != 0.0),
        "Or" => truth(x != 0.0 || y != 0.0),
        "Xor" => truth((x != 0.0) != (y != 0.0)),
        // fmod=1: the sign of the dividend (C fmod); otherwise the sign of the divisor.
        "Mod" if attrs.int("fmod", 0) != 0 => x % y,
        "Mod" => x - y * (x / y).floor(),
        "Pow" => x.powf(y),
        _ => x / y,
    };
    let data = ma.iter().zip(&mb).map(|(&i, &j)| f(a.data[i], b.data[j])).collect();
    Ok(Tensor::new(shape, data))
}

/// Concat along an axis.
fn concat(inputs: &[Tensor<f64>], attrs: &Attrs) -> Result<Tensor<f64>> {
    let input = |i: usize| inputs.get(i).ok_or_else(|| format!("missing input {i}"));
    let rank = input(0)?.shape.len();
    let axis = norm(attrs.int("axis", 0), rank)?;
    let outer: usize = input(0)?.shape[..axis].iter().product();
    let mut shape = input(0)?.shape.clone();
    shape[axis] = inputs.iter().map(|t| t.shape.get(axis).copied().unwrap_or(0)).sum();
    let mut data = Vec::with_capacity(shape.iter().product());
    for o in 0..outer {
        for t in inputs {
            let block: usize = t.shape[axis..].iter().product();
            data.extend_from_slice(&t.data[o * block..(o + 1) * block]);
        }
    }
    Ok(Tensor::new(shape, data))
}

/// Gather along an axis (a negative index counts from the end).
fn gather(x: &Tensor<f64>, idx: &Tensor<f64>, attrs: &Attrs) -> Result<Tensor<f64>> {
    let axis = norm(attrs.int("axis", 0), x.shape.len())?;
    let (outer, dim) = (x.shape[..axis].iter().product::<usize>(), x.shape[axis]);
    let inner: usize = x.shape[axis + 1..].iter().product();
    let mut shape = x.shape[..axis].to_vec();
    shape.extend_from_slice(&idx.shape);
    shape.extend_from_slice(&x.shape[axis + 1..]);
    let mut data = vec![];
    for o in 0..outer {
        for &i in &idx.data {
            let i = if i < 0.0 { i + dim as f64 } else { i } as usize;
            if i >= dim {
                return Err(format!("index {i} out of range for axis of size {dim}"));
            }
            data.extend_from_slice(&x.data[(o * dim + i) * inner..(o * dim + i + 1) * inner]);
        }
    }
    Ok(Tensor::new(shape, data))
}
