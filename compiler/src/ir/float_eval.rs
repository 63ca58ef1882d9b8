//! The IR evaluated in floating point: the graph the circuit proves, before quantization. It is
//! calibration's float reference (tract, running the ONNX file itself, cross-checks it where it
//! can), so calibration works on every model zkonnx compiles.

use super::{BinaryKind, Graph, Op, RoundMode};
use crate::tensor::{broadcast_index_map, pool_windows, transpose_index_map};

/// Every node's values for these inputs (one flat list per model input), in graph order.
pub fn evaluate_float(graph: &Graph, inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, String> {
    let mut values: Vec<Vec<f64>> = Vec::with_capacity(graph.nodes.len());
    for node in &graph.nodes {
        let arg = |i: usize| -> &[f64] { &values[node.inputs[i]] };
        let in_shape = |i: usize| graph.nodes[node.inputs[i]].shape.as_slice();
        let total: usize = node.shape.iter().product();
        let map = |i: usize| broadcast_index_map(in_shape(i), &node.shape);
        let y: Vec<f64> = match &node.op {
            Op::Input { index, .. } => {
                let x = inputs.get(*index).ok_or_else(|| format!("no value for model input {index}"))?;
                if x.len() != total {
                    return Err(format!("model input {index} has {} values, not {total}", x.len()));
                }
                x.clone()
            }
            Op::MatMul { weight, bias } | Op::Conv { weight, bias, .. } | Op::ConvTranspose { weight, bias, .. } => {
                let (offsets, terms, bias_of_row) = crate::quant::layer_terms(node, in_shape(0))
                    .ok_or_else(|| format!("node {}: no layer geometry", node.name))?;
                let x = arg(0);
                (0..bias_of_row.len())
                    .map(|r| {
                        let sum: f64 = terms[offsets[r] as usize..offsets[r + 1] as usize]
                            .iter()
                            .map(|&(i, w)| x[i as usize] * weight.data[w as usize])
                            .sum();
                        sum + bias.as_ref().map_or(0.0, |b| b[bias_of_row[r] as usize])
                    })
                    .collect()
            }
            Op::AvgPool { kernel, strides, pads, dilations, count_include_pad } => {
                let x = arg(0);
                pool_windows(in_shape(0), &node.shape, *kernel, *strides, *pads, *dilations)
                    .iter()
                    .map(|w| {
                        let count = if *count_include_pad { kernel[0] * kernel[1] } else { w.len() };
                        w.iter().map(|&i| x[i]).sum::<f64>() / count.max(1) as f64
                    })
                    .collect()
            }
            Op::Affine { mul, add } => {
                let (x, xm) = (arg(0), map(0));
                let at = |t: &Option<crate::tensor::Tensor<f64>>, default: f64| -> Vec<f64> {
                    match t {
                        Some(t) => broadcast_index_map(&t.shape, &node.shape).iter().map(|&i| t.data[i]).collect(),
                        None => vec![default; total],
                    }
                };
                let (m, a) = (at(mul, 1.0), at(add, 0.0));
                (0..total).map(|i| x[xm[i]] * m[i] + a[i]).collect()
            }
            Op::Binary { kind } => {
                let (a, b, am, bm) = (arg(0), arg(1), map(0), map(1));
                (0..total)
                    .map(|i| {
                        let (u, v) = (a[am[i]], b[bm[i]]);
                        match kind {
                            BinaryKind::Add => u + v,
                            BinaryKind::Sub => u - v,
                            BinaryKind::Mul => u * v,
                            BinaryKind::Max => u.max(v),
                            BinaryKind::Min => u.min(v),
                        }
                    })
                    .collect()
            }
            Op::Relu => arg(0).iter().map(|&v| v.max(0.0)).collect(),
            Op::Reshape => arg(0).to_vec(),
            Op::Transpose { perm } => {
                let x = arg(0);
                transpose_index_map(in_shape(0), perm).iter().map(|&i| x[i]).collect()
            }
            Op::Gather { indices, consts } => {
                let all: Vec<f64> =
                    node.inputs.iter().flat_map(|&i| values[i].iter().copied()).chain(consts.iter().copied()).collect();
                indices
                    .iter()
                    .map(|&i| all.get(i).copied().ok_or_else(|| format!("node {}: index {i} out of range", node.name)))
                    .collect::<Result<_, _>>()?
            }
            Op::Sqrt => arg(0).iter().map(|&v| v.max(0.0).sqrt()).collect(),
            Op::Step => arg(0).iter().map(|&v| if v >= 0.0 { 1.0 } else { 0.0 }).collect(),
            Op::SplitMargin { thresholds, at_most } => {
                let n = thresholds.len().max(1);
                arg(0)
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| {
                        let t = thresholds.get(i % n).copied().unwrap_or(0.0);
                        if at_most.get(i % n).copied().unwrap_or(true) {
                            v - t
                        } else {
                            t - v
                        }
                    })
                    .collect()
            }
            Op::Func { f } => arg(0).iter().map(|&v| f.eval(v)).collect(),
            Op::Div { .. } => match node.inputs.len() {
                1 => arg(0).iter().map(|&v| 1.0 / v).collect(),
                _ => {
                    let (a, b, am, bm) = (arg(0), arg(1), map(0), map(1));
                    (0..total).map(|i| a[am[i]] / b[bm[i]]).collect()
                }
            },
            Op::Products { a, b } => {
                let (x, y) = (arg(0), arg(1));
                a.iter().zip(b).map(|(&i, &j)| x[i] * y[j]).collect()
            }
            Op::Reduce { windows, mean } => {
                let x = arg(0);
                windows
                    .iter()
                    .map(|w| {
                        let sum: f64 = w.iter().map(|&i| x[i]).sum();
                        if *mean {
                            sum / w.len().max(1) as f64
                        } else {
                            sum
                        }
                    })
                    .collect()
            }
            // ONNX's Round takes ties to even.
            Op::Round { mode } => arg(0)
                .iter()
                .map(|&v| match mode {
                    RoundMode::Floor => v.floor(),
                    RoundMode::Ceil => v.ceil(),
                    RoundMode::Nearest => v.round_ties_even(),
                })
                .collect(),
        };
        if y.len() != total {
            return Err(format!("node {}: {} values for shape {:?}", node.name, y.len(), node.shape));
        }
        values.push(y);
    }
    Ok(values)
}

/// The model outputs, flattened.
pub fn outputs_float(graph: &Graph, inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, String> {
    let values = evaluate_float(graph, inputs)?;
    Ok(graph.outputs.iter().map(|&o| values[o].clone()).collect())
}
