//! A stable text dump of the IR (`zkonnx inspect`, snapshot tests).

use super::{Graph, Op};
use std::fmt;

impl fmt::Display for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (id, node) in self.nodes.iter().enumerate() {
            let inputs: Vec<String> = node.inputs.iter().map(|i| format!("%{i}")).collect();
            write!(f, "%{id} = {}({}) {:?}", node.op.kind(), inputs.join(", "), node.shape)?;
            match &node.op {
                Op::MatMul { weight, bias } => write!(f, " weight{:?} bias={}", weight.shape, bias.is_some())?,
                Op::Conv { weight, bias, strides, pads, dilations, group } => write!(
                    f,
                    " weight{:?} bias={} strides={strides:?} pads={pads:?} dilations={dilations:?}{}",
                    weight.shape,
                    bias.is_some(),
                    if *group > 1 { format!(" group={group}") } else { String::new() }
                )?,
                Op::ConvTranspose { weight, bias, strides, pads, dilations } => write!(
                    f,
                    " weight{:?} bias={} strides={strides:?} pads={pads:?} dilations={dilations:?}",
                    weight.shape,
                    bias.is_some()
                )?,
                Op::Affine { mul, add } => {
                    write!(f, " mul={:?} add={:?}", mul.as_ref().map(|t| &t.shape), add.as_ref().map(|t| &t.shape))?
                }
                Op::AvgPool { kernel, strides, pads, count_include_pad, .. } => write!(
                    f,
                    " kernel={kernel:?} strides={strides:?} pads={pads:?} count_include_pad={count_include_pad}"
                )?,
                Op::Transpose { perm } => write!(f, " perm={perm:?}")?,
                Op::Gather { indices, consts } => write!(f, " n={} consts={}", indices.len(), consts.len())?,
                Op::Products { a, .. } => write!(f, " n={}", a.len())?,
                Op::Reduce { windows, .. } => write!(f, " window={}", windows.first().map_or(0, |w| w.len()))?,
                Op::Func { f: func } => write!(f, " {func:?}")?,
                Op::Input { index, kind } => write!(f, " index={index} {kind:?}")?,
                Op::SplitMargin { thresholds, .. } => write!(f, " n={}", thresholds.len())?,
                Op::Div { max } => {
                    if let Some(m) = max {
                        write!(f, " max={m}")?
                    }
                }
                Op::Binary { .. } | Op::Relu | Op::Reshape | Op::Step | Op::Sqrt | Op::Round { .. } => {}
            }
            writeln!(f, "  # {}", node.name)?;
        }
        let outs: Vec<String> = self.outputs.iter().map(|i| format!("%{i}")).collect();
        writeln!(f, "outputs: {}", outs.join(", "))
    }
}
