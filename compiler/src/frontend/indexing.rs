//! Indexing by computed values: Gather, GatherElements and GatherND whose indices are
//! activations, and OneHot. Position j along the indexed axis is selected by the boolean idx == j, proven like
//! every comparison, so a selection is one-hot for an index in [0, V) and never trusted. The
//! selected values are then a product with the one-hot vector: a MatMul when the data is a
//! constant table indexed on axis 0 (embeddings), products of activations otherwise. An index
//! outside [0, V) selects nothing (zeros), where ONNX wraps negatives or fails.

use super::{Attrs, Ctx, Translator, Value};
use crate::error::Result;
use crate::ir::{BinaryKind, InputKind, NodeId, Op};
use crate::tensor::{strides, Tensor};

/// The longest axis a computed index selects from: each position costs one equality test (about
/// 12 rows per index).
const MAX_SELECTED: usize = 4096;

/// GatherND / ScatterND index tuples: `m` coordinates each, `tuples` of them (`per_batch` per
/// batch), selecting among `v` slices of `post` elements.
pub(super) struct NdIndices {
    pub m: usize,
    pub v: usize,
    pub tuples: usize,
    pub per_batch: usize,
    pub post: usize,
}

fn scalar(v: f64) -> Tensor<f64> {
    Tensor::new(vec![], vec![v])
}

impl Translator {
    /// Gather (axis-wise: out[pre, i, post] = data[pre, idx_i, post]) or GatherElements
    /// (out[p] = data[p with its axis coordinate idx_p]) with computed indices.
    pub(super) fn gather_by_value(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let elements = ctx.node.op_type == "GatherElements";
        let data = self.input(ctx, 0)?;
        let idx = self.act_input(ctx, 1)?;
        let data_shape = match &data {
            Value::Const(t) => t.shape.clone(),
            Value::Act(id) => self.shape(*id),
        };
        let axis = super::normalize_axis(attrs.int("axis", 0), data_shape.len())
            .ok_or_else(|| ctx.err(format!("axis out of range for data of rank {}", data_shape.len())))?;
        let v = data_shape[axis];
        if v == 0 || v > MAX_SELECTED {
            return Err(ctx.err(format!(
                "an axis of {v} selected by computed indices; up to {MAX_SELECTED} are supported (one equality \
                 test per position)"
            )));
        }
        let index_shape = self.shape(idx);
        let name = ctx.name.clone();
        if elements && index_shape.len() != data_shape.len() {
            return Err(ctx.err(format!(
                "indices of rank {} for data of rank {}",
                index_shape.len(),
                data_shape.len()
            )));
        }
        if elements && index_shape.iter().zip(&data_shape).enumerate().any(|(a, (&i, &d))| a != axis && i > d) {
            return Err(ctx.err(format!("indices {index_shape:?} reach outside data {data_shape:?}")));
        }
        let n: usize = index_shape.iter().product();
        self.note_index_input(idx, v);
        let one_hot = self.one_hot_of(&name, idx, v);
        let y = match data {
            Value::Const(table) if axis == 0 && !elements => {
                let rest: Vec<usize> = table.shape[1..].to_vec();
                let d: usize = rest.iter().product();
                let weight = Tensor::new(vec![v, d], table.data.clone());
                let op = Op::MatMul { weight, bias: None };
                let picked = self.add_node(&format!("{name}/rows"), op, vec![one_hot], vec![n, d]);
                let shape: Vec<usize> = index_shape.iter().chain(&rest).copied().collect();
                self.add_node(&name, Op::Reshape, vec![picked], shape)
            }
            data => {
                let ds = strides(&data_shape);
                // For each output element: the data position at index 0 along the axis, and the
                // index element selecting it.
                let (shape, targets): (Vec<usize>, Vec<(usize, usize)>) = if elements {
                    let is = strides(&index_shape);
                    let t = (0..n)
                        .map(|f| {
                            let base = (0..index_shape.len())
                                .filter(|&a| a != axis)
                                .map(|a| (f / is[a]) % index_shape[a] * ds[a])
                                .sum();
                            (base, f)
                        })
                        .collect();
                    (index_shape.clone(), t)
                } else {
                    let (pre, post): (usize, usize) =
                        (data_shape[..axis].iter().product(), data_shape[axis + 1..].iter().product());
                    let t = (0..pre)
                        .flat_map(|p| (0..n).flat_map(move |i| (0..post).map(move |q| (p * v * post + q, i))))
                        .collect();
                    let shape = data_shape[..axis].iter().chain(&index_shape).chain(&data_shape[axis + 1..]).copied();
                    (shape.collect(), t)
                };
                self.select(&name, one_hot, data, &targets, v, ds[axis], shape)
            }
        };
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// GatherND with computed indices: each index tuple (its last axis, m long) picks a slice of
    /// the data after `batch_dims`, by the joint one-hot of its m coordinates.
    pub(super) fn gather_nd_by_value(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let data = self.input(ctx, 0)?;
        let idx = self.act_input(ctx, 1)?;
        let data_shape = match &data {
            Value::Const(t) => t.shape.clone(),
            Value::Act(id) => self.shape(*id),
        };
        let index_shape = self.shape(idx);
        let b = attrs.int("batch_dims", 0).max(0) as usize;
        let nd = self.nd_indices(ctx, &data_shape, &index_shape, b)?;
        let name = ctx.name.clone();
        let one_hot = self
            .joint_one_hot(&name, idx, nd.tuples, &data_shape[b..b + nd.m])
            .ok_or_else(|| ctx.err("index tuples of no coordinates"))?;
        let mut shape = index_shape[..index_shape.len() - 1].to_vec();
        shape.extend(&data_shape[b + nd.m..]);
        let y = match data {
            Value::Const(table) if b == 0 => {
                let weight = Tensor::new(vec![nd.v, nd.post], table.data.clone());
                let op = Op::MatMul { weight, bias: None };
                let picked = self.add_node(&format!("{name}/rows"), op, vec![one_hot], vec![nd.tuples, nd.post]);
                self.add_node(&name, Op::Reshape, vec![picked], shape)
            }
            data => {
                // Tuple t of batch t / per_batch reads that batch's block of v x post.
                let targets: Vec<(usize, usize)> = (0..nd.tuples)
                    .flat_map(|t| (0..nd.post).map(move |q| ((t / nd.per_batch) * nd.v * nd.post + q, t)))
                    .collect();
                self.select(&name, one_hot, data, &targets, nd.v, nd.post, shape)
            }
        };
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// The geometry of GatherND / ScatterND indices over data (ONNX's checks, at compile time).
    pub(super) fn nd_indices(
        &self,
        ctx: &Ctx,
        data_shape: &[usize],
        index_shape: &[usize],
        b: usize,
    ) -> Result<NdIndices> {
        let (rank, q) = (data_shape.len(), index_shape.len());
        let m = index_shape.last().copied().unwrap_or(0);
        if q == 0 || m == 0 || b + m > rank || b >= q || data_shape[..b] != index_shape[..b] {
            return Err(ctx.err(format!("indices {index_shape:?} (batch_dims {b}) do not index data {data_shape:?}")));
        }
        let v: usize = data_shape[b..b + m].iter().product();
        if v == 0 || v > MAX_SELECTED {
            return Err(ctx.err(format!(
                "index tuples select among {v} slices; up to {MAX_SELECTED} are supported (one product per slice)"
            )));
        }
        Ok(NdIndices {
            m,
            v,
            tuples: index_shape[..q - 1].iter().product(),
            per_batch: index_shape[b..q - 1].iter().product::<usize>().max(1),
            post: data_shape[b + m..].iter().product(),
        })
    }

    /// The one-hot matrix [tuples, prod(dims)] of index tuples (idx flat, `dims.len()` values per
    /// tuple): the product of each coordinate's one-hot, so a tuple with any coordinate out of
    /// range selects nothing (a flat index could alias another slice). None for tuples of no
    /// coordinates.
    pub(super) fn joint_one_hot(&mut self, name: &str, idx: NodeId, tuples: usize, dims: &[usize]) -> Option<NodeId> {
        let m = dims.len();
        let mut joint: Option<(NodeId, usize)> = None;
        for (k, &d) in dims.iter().enumerate() {
            let coordinate = if m == 1 {
                self.note_index_input(idx, d);
                idx
            } else {
                let indices = (0..tuples).map(|t| t * m + k).collect();
                self.add_node(
                    &format!("{name}/coordinate{k}"),
                    Op::Gather { indices, consts: vec![] },
                    vec![idx],
                    vec![tuples],
                )
            };
            let hot = self.one_hot_of(&format!("{name}/c{k}"), coordinate, d);
            joint = Some(match joint {
                None => (hot, d),
                Some((j, w)) => {
                    // joint'[t, u d + x] = joint[t, u] * hot[t, x]
                    let cells = |f: &dyn Fn(usize, usize, usize) -> usize| -> Vec<usize> {
                        (0..tuples)
                            .flat_map(|t| (0..w).flat_map(move |u| (0..d).map(move |x| (t, u, x))))
                            .map(|(t, u, x)| f(t, u, x))
                            .collect()
                    };
                    let shape = vec![tuples, w * d];
                    let left = Op::Gather { indices: cells(&|t, u, _| t * w + u), consts: vec![] };
                    let left = self.add_node(&format!("{name}/joint{k}/left"), left, vec![j], shape.clone());
                    let right = Op::Gather { indices: cells(&|t, _, x| t * d + x), consts: vec![] };
                    let right = self.add_node(&format!("{name}/joint{k}/right"), right, vec![hot], shape);
                    let p = self.binary_node(&format!("{name}/joint{k}"), BinaryKind::Mul, left, right);
                    self.booleans.insert(p);
                    (p, w * d)
                }
            });
        }
        joint.map(|(j, _)| j)
    }

    /// The one-hot [n, v] of the n values of `idx`, each selecting a position along an axis of v.
    pub(super) fn one_hot_by_axis(&mut self, name: &str, idx: NodeId, v: usize) -> std::result::Result<NodeId, String> {
        if v == 0 || v > MAX_SELECTED {
            return Err(format!(
                "an axis of {v} selected by computed indices; up to {MAX_SELECTED} are supported (one equality \
                 test per position)"
            ));
        }
        self.note_index_input(idx, v);
        Ok(self.one_hot_of(name, idx, v))
    }

    /// Output element o is sum_j one_hot[i_o, j] * data[base_o + j * stride] for `targets[o]` =
    /// (base_o, i_o): products of activations, then sums of `v`.
    #[allow(clippy::too_many_arguments)]
    fn select(
        &mut self,
        name: &str,
        one_hot: NodeId,
        data: Value,
        targets: &[(usize, usize)],
        v: usize,
        stride: usize,
        shape: Vec<usize>,
    ) -> NodeId {
        let data = self.activation(&format!("{name}/data"), data);
        let (mut a, mut b) = (vec![], vec![]);
        for &(base, i) in targets {
            for j in 0..v {
                a.push(i * v + j);
                b.push(base + j * stride);
            }
        }
        let pshape = vec![targets.len(), v];
        let p = self.add_node(&format!("{name}/products"), Op::Products { a, b }, vec![one_hot, data], pshape);
        let windows = (0..targets.len()).map(|o| (o * v..(o + 1) * v).collect()).collect();
        self.add_node(name, Op::Reduce { windows, mean: false }, vec![p], shape)
    }

    /// idx + V where idx < 0 (one comparison per index), as ONNX reads a negative index; `idx`
    /// itself when it is an index input, whose range is [0, V) already.
    fn wrapped(&mut self, name: &str, idx: NodeId, v: usize) -> NodeId {
        if crate::input_kind(&self.nodes[self.reshaped_from(idx)]).index_range().is_some() {
            return idx;
        }
        // idx + 1 <= 0 exactly when a whole idx is negative.
        let up = self.affine(&format!("{name}/idx_plus_1"), idx, None, Some(1.0));
        let negative = self.step_of(&format!("{name}/negative"), up);
        let shift = self.affine(&format!("{name}/wrap"), negative, Some(scalar(v as f64)), None);
        self.binary_node(&format!("{name}/wrapped"), BinaryKind::Add, idx, shift)
    }

    /// The node `id` reshapes (through any chain of reshapes), or `id` itself.
    fn reshaped_from(&self, mut id: NodeId) -> NodeId {
        while matches!(self.nodes[id].op, Op::Reshape) && self.nodes[id].inputs.len() == 1 {
            id = self.nodes[id].inputs[0];
        }
        id
    }

    /// An integer model input used (through reshapes) as an index into an axis of `v`: its
    /// range is [0, v) (the narrowest, if it indexes several axes).
    fn note_index_input(&mut self, idx: NodeId, v: usize) {
        let id = self.reshaped_from(idx);
        if let Op::Input { kind: InputKind::Integer { selects }, .. } = &mut self.nodes[id].op {
            *selects = Some(selects.map_or(v, |s| s.min(v)));
        }
    }

    /// The one-hot matrix [n, V] of the n values of `idx`: element (i, j) is idx_i == j, or
    /// idx_i == j - V (ONNX counts a negative index from the end); all zero for a value outside
    /// [-V, V) or between whole numbers.
    fn one_hot_of(&mut self, name: &str, idx: NodeId, v: usize) -> NodeId {
        let n: usize = self.shape(idx).iter().product();
        let idx = self.wrapped(name, idx, v);
        let selects: Vec<NodeId> = (0..v)
            .map(|j| self.equal(&format!("{name}/is{j}"), Value::Act(idx), Value::Const(scalar(j as f64))))
            .collect();
        let indices = (0..n).flat_map(|i| (0..v).map(move |j| j * n + i)).collect();
        let one_hot =
            self.add_node(&format!("{name}/one_hot"), Op::Gather { indices, consts: vec![] }, selects, vec![n, v]);
        self.booleans.insert(one_hot);
        one_hot
    }

    /// OneHot of computed indices (depth and values constant): off + (on - off) one_hot, its
    /// class axis moved to `axis`. A negative index counts from the end, as in ONNX.
    pub(super) fn one_hot(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        let idx = self.act_input(ctx, 0)?;
        let index_shape = self.shape(idx);
        let depth = self.const_input(ctx, 1)?.data.first().copied().ok_or_else(|| ctx.err("depth is empty"))?;
        let values = self.const_input(ctx, 2)?;
        let [off, on] = values.data[..] else { return Err(ctx.err("values must hold [off, on]")) };
        let rank = index_shape.len();
        let axis = super::normalize_axis(attrs.int("axis", -1), rank + 1)
            .ok_or_else(|| ctx.err(format!("axis out of range for indices of rank {rank}")))?;
        let v = depth as usize;
        if depth < 1.0 || v > MAX_SELECTED {
            return Err(ctx.err(format!("depth {depth}; 1 to {MAX_SELECTED} are supported (one equality test each)")));
        }
        let name = ctx.name.clone();
        let one_hot = self.one_hot_of(&name, idx, v);
        let scaled = self.affine(&format!("{name}/values"), one_hot, Some(scalar(on - off)), Some(off));
        let shape: Vec<usize> = index_shape.iter().copied().chain([v]).collect();
        let y = if axis == rank {
            self.add_node(&name, Op::Reshape, vec![scaled], shape)
        } else {
            // The classes (last) go to `axis`: output dim d reads input dim perm[d].
            let last = self.add_node(&format!("{name}/last_axis"), Op::Reshape, vec![scaled], shape.clone());
            let perm: Vec<usize> = (0..axis).chain([rank]).chain(axis..rank).collect();
            let moved: Vec<usize> = perm.iter().map(|&d| shape[d]).collect();
            self.add_node(&name, Op::Transpose { perm }, vec![last], moved)
        };
        if off == 0.0 && on == 1.0 {
            self.booleans.insert(y);
        }
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }
}
