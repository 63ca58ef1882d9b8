//! ScatterElements and ScatterND whose indices are activations. The updates are applied one
//! after another, in ONNX's order: out <- out + hit (update - out), where hit is 1 at the
//! position the update's index selects (a one-hot of proven equality tests, as in indexing.rs)
//! and 0 elsewhere. A later update to the same position wins, as in onnxruntime (ONNX leaves
//! duplicates undefined); an index outside the axis hits nothing.

use super::indexing::NdIndices;
use super::{Attrs, Ctx, Translator, Value};
use crate::error::Result;
use crate::ir::{BinaryKind, NodeId, Op};
use crate::tensor::strides;

/// Updates x positions: each costs a product and two sums per output element it may reach.
const MAX_UPDATE_CELLS: usize = 1 << 20;

/// One update step: per output element, the one-hot cell that hits it and the update read
/// there, or None where this step cannot reach it.
type Step = Vec<Option<(usize, usize)>>;

impl Translator {
    pub(super) fn scatter_by_value(&mut self, ctx: &Ctx, attrs: &Attrs, out: &str) -> Result<()> {
        if attrs.string("reduction").is_some_and(|r| r != "none") {
            return Err(ctx.err("only reduction none is supported with computed indices"));
        }
        let data = self.input(ctx, 0)?;
        let idx = self.act_input(ctx, 1)?;
        let updates = self.input(ctx, 2)?;
        let shape_of = |t: &Self, v: &Value| match v {
            Value::Const(c) => c.shape.clone(),
            Value::Act(id) => t.shape(*id),
        };
        let (data_shape, update_shape) = (shape_of(self, &data), shape_of(self, &updates));
        let index_shape = self.shape(idx);
        let name = ctx.name.clone();
        let (one_hot, steps) = if ctx.node.op_type == "ScatterND" {
            let nd = self.nd_indices(ctx, &data_shape, &index_shape, 0)?;
            let mut expected = index_shape[..index_shape.len() - 1].to_vec();
            expected.extend(&data_shape[nd.m..]);
            if update_shape != expected {
                return Err(ctx.err(format!("updates {update_shape:?} must be {expected:?}")));
            }
            let one_hot = self
                .joint_one_hot(&name, idx, nd.tuples, &data_shape[..nd.m])
                .ok_or_else(|| ctx.err("index tuples of no coordinates"))?;
            (one_hot, nd_steps(&nd))
        } else {
            let axis = super::normalize_axis(attrs.int("axis", 0), data_shape.len())
                .ok_or_else(|| ctx.err(format!("axis out of range for data of rank {}", data_shape.len())))?;
            if index_shape.len() != data_shape.len()
                || update_shape != index_shape
                || index_shape.iter().zip(&data_shape).any(|(&i, &d)| i > d)
            {
                return Err(ctx.err(format!(
                    "indices {index_shape:?} and updates {update_shape:?} do not fit data {data_shape:?}"
                )));
            }
            let v = data_shape[axis];
            let one_hot = self.one_hot_by_axis(&name, idx, v).map_err(|e| ctx.err(e))?;
            (one_hot, element_steps(&data_shape, &index_shape, axis))
        };
        let cells = steps.len() * data_shape.iter().product::<usize>();
        if cells > MAX_UPDATE_CELLS {
            return Err(ctx.err(format!(
                "{} updates over {data_shape:?} ({cells} cells); up to {MAX_UPDATE_CELLS} are supported",
                steps.len()
            )));
        }
        let y = self.apply_updates(&name, one_hot, data, updates, &steps);
        self.env.insert(out.to_string(), Value::Act(y));
        Ok(())
    }

    /// out <- out + hit (update - out), step by step.
    fn apply_updates(&mut self, name: &str, one_hot: NodeId, data: Value, updates: Value, steps: &[Step]) -> NodeId {
        let hot_len: usize = self.shape(one_hot).iter().product();
        let mut out = self.activation(&format!("{name}/data"), data);
        let updates = self.activation(&format!("{name}/updates"), updates);
        let shape = self.shape(out);
        for (s, step) in steps.iter().enumerate() {
            // Where the step reaches nothing, hit reads the constant 0 after the one-hot.
            let hits = step.iter().map(|c| c.map_or(hot_len, |(h, _)| h)).collect();
            let hit = Op::Gather { indices: hits, consts: vec![0.0] };
            let hit = self.add_node(&format!("{name}/step{s}/hit"), hit, vec![one_hot], shape.clone());
            self.booleans.insert(hit);
            let reads = step.iter().map(|c| c.map_or(0, |(_, u)| u)).collect();
            let update = Op::Gather { indices: reads, consts: vec![] };
            let update = self.add_node(&format!("{name}/step{s}/update"), update, vec![updates], shape.clone());
            let change = self.binary_node(&format!("{name}/step{s}/change"), BinaryKind::Sub, update, out);
            let applied = self.binary_node(&format!("{name}/step{s}/applied"), BinaryKind::Mul, hit, change);
            let label = if s + 1 == steps.len() { name.to_string() } else { format!("{name}/step{s}") };
            out = self.binary_node(&label, BinaryKind::Add, out, applied);
        }
        out
    }
}

/// ScatterND: tuple t writes updates[t, x] to slice position (j, x) where its one-hot is 1.
fn nd_steps(nd: &NdIndices) -> Vec<Step> {
    (0..nd.tuples)
        .map(|t| (0..nd.v).flat_map(|j| (0..nd.post).map(move |x| Some((t * nd.v + j, t * nd.post + x)))).collect())
        .collect()
}

/// ScatterElements along `axis`: step t applies the updates at axis coordinate t; output
/// element c is reached by the update at c with its axis coordinate set to t, if the indices
/// extend that far.
fn element_steps(data_shape: &[usize], index_shape: &[usize], axis: usize) -> Vec<Step> {
    let (ds, is) = (strides(data_shape), strides(index_shape));
    let v = data_shape[axis];
    let n: usize = data_shape.iter().product();
    (0..index_shape[axis])
        .map(|t| {
            (0..n)
                .map(|o| {
                    let coords: Vec<usize> = (0..data_shape.len()).map(|a| o / ds[a] % data_shape[a]).collect();
                    let inside = coords.iter().zip(index_shape).enumerate().all(|(a, (&c, &i))| a == axis || c < i);
                    inside.then(|| {
                        let p: usize =
                            coords.iter().enumerate().map(|(a, &c)| if a == axis { t } else { c } * is[a]).sum();
                        (p * v + coords[axis], p)
                    })
                })
                .collect()
        })
        .collect()
}
