//! Comparison ops. max and min of two activations are one row each (the max chip: the sign of the
//! difference from its range decomposition); with a constant, max(x, c) = c + relu(x - c) and
//! min(x, c) = x - relu(x - c) use the rescale's ReLU. Pooling and reductions gather one window
//! position at a time and fold those slices with pairwise max.

use super::Translator;
use crate::ir::{BinaryKind, NodeId, Op};
use crate::tensor::{strides, Tensor};

impl Translator {
    /// Add an IR node without binding an ONNX name to it.
    pub(super) fn add_node(&mut self, name: &str, op: Op, inputs: Vec<NodeId>, shape: Vec<usize>) -> NodeId {
        let name = self.unique(name.to_string());
        self.nodes.push(crate::ir::Node { name, op, inputs, shape });
        self.nodes.len() - 1
    }

    pub(super) fn relu_node(&mut self, name: &str, x: NodeId) -> NodeId {
        let shape = self.shape(x);
        self.add_node(name, Op::Relu, vec![x], shape)
    }

    fn shift(&mut self, name: &str, x: NodeId, add: f64) -> NodeId {
        self.affine(name, x, None, Some(add))
    }

    pub(super) fn negate(&mut self, name: &str, x: NodeId) -> NodeId {
        self.affine(name, x, Some(Tensor::new(vec![], vec![-1.0])), None)
    }

    /// max(a, b), broadcasting: one max row per element.
    pub(super) fn max2(&mut self, name: &str, a: NodeId, b: NodeId) -> NodeId {
        self.binary_node(&format!("{name}/max"), BinaryKind::Max, a, b)
    }

    /// min(a, b), broadcasting: one min row per element.
    pub(super) fn min2(&mut self, name: &str, a: NodeId, b: NodeId) -> NodeId {
        self.binary_node(&format!("{name}/min"), BinaryKind::Min, a, b)
    }

    /// max(x, c) = c + relu(x - c) for a scalar constant.
    pub(super) fn max_const(&mut self, name: &str, x: NodeId, c: f64) -> NodeId {
        let d = self.shift(&format!("{name}/diff"), x, -c);
        let r = self.relu_node(&format!("{name}/relu"), d);
        self.shift(&format!("{name}/max"), r, c)
    }

    /// min(x, c) = x - relu(x - c) for a scalar constant.
    pub(super) fn min_const(&mut self, name: &str, x: NodeId, c: f64) -> NodeId {
        let d = self.shift(&format!("{name}/diff"), x, -c);
        let r = self.relu_node(&format!("{name}/relu"), d);
        self.binary_node(&format!("{name}/min"), BinaryKind::Sub, x, r)
    }

    /// |x| = max(x, -x).
    pub(super) fn abs(&mut self, name: &str, x: NodeId) -> NodeId {
        let n = self.negate(&format!("{name}/neg"), x);
        self.max2(name, x, n)
    }

    /// The max over windows: `windows[o]` lists the flat input indices output o covers (at least
    /// one each). Slice j takes each window's j-th index (its first where it has fewer).
    pub(super) fn max_over_windows(
        &mut self,
        name: &str,
        x: NodeId,
        windows: &[Vec<usize>],
        shape: Vec<usize>,
    ) -> NodeId {
        let longest = windows.iter().map(|w| w.len()).max().unwrap_or(1);
        let slice = |j: usize| -> Vec<usize> { windows.iter().map(|w| *w.get(j).unwrap_or(&w[0])).collect() };
        let mut acc = self.add_node(
            &format!("{name}/slice0"),
            Op::Gather { indices: slice(0), consts: vec![] },
            vec![x],
            shape.clone(),
        );
        for j in 1..longest {
            let s = self.add_node(
                &format!("{name}/slice{j}"),
                Op::Gather { indices: slice(j), consts: vec![] },
                vec![x],
                shape.clone(),
            );
            acc = self.max2(&format!("{name}/{j}"), acc, s);
        }
        acc
    }
}

/// Windows of a reduction over `axes`: for each output position, the input indices reduced.
pub fn reduce_windows(in_shape: &[usize], axes: &[usize]) -> (Vec<Vec<usize>>, Vec<usize>) {
    let st = strides(in_shape);
    let kept: Vec<usize> = (0..in_shape.len()).filter(|a| !axes.contains(a)).collect();
    let out_count: usize = kept.iter().map(|&a| in_shape[a]).product();
    let red_count: usize = axes.iter().map(|&a| in_shape[a]).product();
    let unravel = |mut i: usize, dims: &[usize]| -> Vec<usize> {
        let mut idx = vec![0; dims.len()];
        for d in (0..dims.len()).rev() {
            idx[d] = i % in_shape[dims[d]];
            i /= in_shape[dims[d]];
        }
        idx
    };
    let windows = (0..out_count)
        .map(|o| {
            let ko = unravel(o, &kept);
            (0..red_count)
                .map(|r| {
                    let ro = unravel(r, axes);
                    kept.iter().zip(&ko).map(|(&a, &i)| i * st[a]).sum::<usize>()
                        + axes.iter().zip(&ro).map(|(&a, &i)| i * st[a]).sum::<usize>()
                })
                .collect()
        })
        .collect();
    let out_shape = kept.iter().map(|&a| in_shape[a]).collect();
    (windows, out_shape)
}
