//! TopK on activations: K rounds of "the first maximum", each proven as ArgMax is (a max, a 0/1
//! step per element, first-index selection). After a round the chosen element is set below the
//! row's minimum (x + onehot (min - 1 - x)), so the next round's maximum is among the rest; ties
//! come out lowest index first, as ONNX orders them. The smallest K are the largest of -x.

use super::compare::reduce_windows;
use super::{Attrs, Ctx, Translator};
use crate::error::Result;
use crate::ir::{BinaryKind, NodeId, Op};
use crate::tensor::Tensor;

impl Translator {
    pub(super) fn top_k(&mut self, ctx: &Ctx, attrs: &Attrs) -> Result<()> {
        let x = self.act_input(ctx, 0)?;
        let xs = self.shape(x);
        let k = match self.optional_const(ctx, 1)? {
            Some(t) if t.len() == 1 => t.data[0] as i64,
            Some(_) => return Err(ctx.err("K must hold one value")),
            None => attrs.int("k", -1), // opset 1
        };
        let axis =
            super::normalize_axis(attrs.int("axis", -1), xs.len()).ok_or_else(|| ctx.err("axis out of range"))?;
        let n = xs[axis];
        if k < 1 || k as usize > n {
            return Err(ctx.err(format!("K = {k} is outside 1..={n}, the length of axis {axis}")));
        }
        let k = k as usize;
        let largest = attrs.int("largest", 1) != 0;
        // sorted=0 leaves the order to the implementation: sorted order is one of them.
        let _ = attrs.int("sorted", 1);
        let name = ctx.name.clone();
        let mut current = if largest { x } else { self.negate(&format!("{name}/negated"), x) };
        let (windows, _) = reduce_windows(&xs, &[axis]);
        let kept: Vec<usize> = (0..xs.len()).map(|a| if a == axis { 1 } else { xs[a] }).collect();
        let positions: Vec<f64> = (0..n).map(|j| j as f64).collect();
        let mut pshape = vec![1; xs.len() - axis];
        pshape[0] = n;
        // min - 1: strictly below every element, a chosen element's new value.
        let floor = if k > 1 {
            let negated = self.negate(&format!("{name}/for_min"), current);
            let max_of_negated = self.max_over_windows(&format!("{name}/min"), negated, &windows, kept.clone());
            Some(self.affine(
                &format!("{name}/floor"),
                max_of_negated,
                Some(Tensor::new(vec![], vec![-1.0])),
                Some(-1.0),
            ))
        } else {
            None
        };
        let (mut values, mut indices) = (vec![], vec![]);
        for round in 0..k {
            let r = format!("{name}/round{round}");
            let (one_hot, max) = self.one_hot_and_max(&r, current, axis, false);
            values.push(max);
            let weighted = self.affine(
                &format!("{r}/weighted"),
                one_hot,
                Some(Tensor::new(pshape.clone(), positions.clone())),
                None,
            );
            let op = Op::Reduce { windows: windows.clone(), mean: false };
            indices.push(self.add_node(&format!("{r}/index"), op, vec![weighted], kept.clone()));
            if let (Some(floor), true) = (floor, round + 1 < k) {
                // current + one_hot (floor - current).
                let gap = self.binary_node(&format!("{r}/gap"), BinaryKind::Sub, floor, current);
                let drop = self.binary_node(&format!("{r}/drop"), BinaryKind::Mul, one_hot, gap);
                current = self.binary_node(&format!("{r}/rest"), BinaryKind::Add, current, drop);
            }
        }
        let mut shape = xs.clone();
        shape[axis] = k;
        let stacked = |t: &mut Self, label: String, parts: Vec<NodeId>| -> NodeId {
            // Output (outer, i, inner) is element (outer, inner) of round i's result.
            let inner: usize = xs[axis + 1..].iter().product();
            let outer: usize = xs[..axis].iter().product();
            let per_round = outer * inner;
            let order = (0..outer)
                .flat_map(|o| (0..k).flat_map(move |i| (0..inner).map(move |j| i * per_round + o * inner + j)))
                .collect();
            t.add_node(&label, Op::Gather { indices: order, consts: vec![] }, parts, shape.clone())
        };
        let mut top = stacked(self, name.clone(), values);
        if !largest {
            top = self.negate(&format!("{name}/smallest"), top);
        }
        let positions = stacked(self, format!("{name}:1"), indices);
        for (slot, id) in [(0, top), (1, positions)] {
            if let Some(out) = ctx.node.output.get(slot).filter(|o| !o.is_empty()) {
                self.env.insert(out.clone(), super::Value::Act(id));
            }
        }
        Ok(())
    }
}
