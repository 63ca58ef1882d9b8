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
                Op::Conv { weight, bias, strides, pads, dilations } => write!(
                    f,
                    " weight{:?} bias={} strides={strides:?} pads={pads:?} dilations={dilations:?}",
                    weight.shape,
                    bias.is_some()
                )?,
                Op::Affine { mul, add } => {
                    write!(f, " mul={:?} add={:?}", mul.as_ref().map(|t| &t.shape), add.as_ref().map(|t| &t.shape))?
                }
                Op::AvgPool { kernel, strides, pads, count_include_pad } => write!(
                    f,
                    " kernel={kernel:?} strides={strides:?} pads={pads:?} count_include_pad={count_include_pad}"
                )?,
                Op::Transpose { perm } => write!(f, " perm={perm:?}")?,
                Op::Gather { indices } => write!(f, " n={}", indices.len())?,
                Op::Input { index } => write!(f, " index={index}")?,
                Op::Binary { .. } | Op::Relu | Op::Reshape => {}
            }
            writeln!(f, "  # {}", node.name)?;
        }
        let outs: Vec<String> = self.outputs.iter().map(|i| format!("%{i}")).collect();
        writeln!(f, "outputs: {}", outs.join(", "))
    }
}
