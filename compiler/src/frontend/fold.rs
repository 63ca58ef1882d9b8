//! Graph passes after translation: fold per-channel affine constants (BatchNormalization, a bias Add,
//! a scale Mul) into the MatMul or Conv before them, then drop no-op and dead nodes.

use crate::ir::{Graph, Node, NodeId, Op};
use crate::tensor::Tensor;

/// The per-channel values of a constant that broadcasts to `out` and varies only along `axis`
/// (`None` when it varies along any other axis).
fn per_channel(c: &Tensor<f64>, out: &[usize], axis: usize) -> Option<Vec<f64>> {
    if c.shape.len() > out.len() {
        return None;
    }
    let offset = out.len() - c.shape.len();
    let varies_elsewhere = c.shape.iter().enumerate().any(|(i, &d)| d != 1 && i + offset != axis);
    if varies_elsewhere {
        return None;
    }
    let channels = out[axis];
    Some((0..channels).map(|ch| if c.len() == 1 { c.data[0] } else { c.data[ch] }).collect())
}

pub fn fold_affine_into_linear(graph: &mut Graph) {
    let readers = graph.reader_counts();
    for id in 0..graph.nodes.len() {
        let (mul, add) = match &graph.nodes[id].op {
            Op::Affine { mul, add } => (mul.clone(), add.clone()),
            _ => continue,
        };
        let producer = graph.nodes[id].inputs[0];
        if readers[producer] != 1 || graph.nodes[producer].shape != graph.nodes[id].shape {
            continue;
        }
        let out = graph.nodes[id].shape.clone();
        let (axis, channels) = match &graph.nodes[producer].op {
            Op::Conv { weight, .. } => (1, weight.shape[0]),
            Op::MatMul { weight, .. } => (out.len() - 1, weight.shape[1]),
            _ => continue,
        };
        let ones = Tensor::new(vec![1], vec![1.0]);
        let zeros = Tensor::new(vec![1], vec![0.0]);
        let (Some(m), Some(a)) = (
            per_channel(mul.as_ref().unwrap_or(&ones), &out, axis),
            per_channel(add.as_ref().unwrap_or(&zeros), &out, axis),
        ) else {
            continue;
        };
        match &mut graph.nodes[producer].op {
            Op::Conv { weight, bias, .. } => {
                let per_out = weight.len() / channels;
                for (i, w) in weight.data.iter_mut().enumerate() {
                    *w *= m[i / per_out];
                }
                let b = bias.take().unwrap_or_else(|| vec![0.0; channels]);
                *bias = Some((0..channels).map(|c| b[c] * m[c] + a[c]).collect());
            }
            Op::MatMul { weight, bias } => {
                for (i, w) in weight.data.iter_mut().enumerate() {
                    *w *= m[i % channels];
                }
                let b = bias.take().unwrap_or_else(|| vec![0.0; channels]);
                *bias = Some((0..channels).map(|c| b[c] * m[c] + a[c]).collect());
            }
            _ => continue,
        }
        // The affine node is now a no-op; `remove_dead_nodes` routes its readers to the producer.
        graph.nodes[id].op = Op::Reshape;
    }
}

/// Route readers around no-op reshapes, drop nodes no output depends on, and renumber.
pub fn remove_dead_nodes(graph: Graph) -> Graph {
    let n = graph.nodes.len();
    // alias[i]: the node whose value node i forwards unchanged.
    let mut alias: Vec<NodeId> = (0..n).collect();
    for (i, node) in graph.nodes.iter().enumerate() {
        if matches!(node.op, Op::Reshape) && graph.nodes[node.inputs[0]].shape == node.shape {
            alias[i] = alias[node.inputs[0]];
        }
    }
    let outputs: Vec<NodeId> = graph.outputs.iter().map(|&o| alias[o]).collect();
    let mut live = vec![false; n];
    for &o in &outputs {
        live[o] = true;
    }
    for i in (0..n).rev() {
        if live[i] {
            for &inp in &graph.nodes[i].inputs {
                live[alias[inp]] = true;
            }
        }
        if matches!(graph.nodes[i].op, Op::Input { .. }) {
            live[i] = true;
        }
    }
    let mut new_id = vec![usize::MAX; n];
    let mut nodes: Vec<Node> = vec![];
    for (i, mut node) in graph.nodes.into_iter().enumerate() {
        if !live[i] || alias[i] != i {
            continue;
        }
        node.inputs = node.inputs.iter().map(|&x| new_id[alias[x]]).collect();
        new_id[i] = nodes.len();
        nodes.push(node);
    }
    let outputs = outputs.iter().map(|&o| new_id[o]).collect();
    Graph { nodes, outputs }
}
