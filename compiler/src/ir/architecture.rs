//! Whether two graphs are the same architecture: the same nodes, wiring, shapes and op
//! attributes, with only the layers' weights and biases (MatMul, Conv, ConvTranspose) free to
//! differ. That is what one verifying key with hashed params serves.

use super::{Graph, Op};

impl Graph {
    /// `Err` says where `other` first differs from `self`.
    pub fn check_same_architecture(&self, other: &Graph) -> Result<(), String> {
        if self.nodes.len() != other.nodes.len() {
            return Err(format!("it has {} nodes, the compiled model {}", other.nodes.len(), self.nodes.len()));
        }
        if self.outputs != other.outputs {
            return Err("its outputs are other nodes".into());
        }
        for (id, (a, b)) in self.nodes.iter().zip(&other.nodes).enumerate() {
            let at = || format!("node {id} ({} in the compiled model, {} in it)", a.name, b.name);
            if a.inputs != b.inputs {
                return Err(format!("{} reads other inputs", at()));
            }
            if a.shape != b.shape {
                return Err(format!("{} has shape {:?}, not {:?}", at(), b.shape, a.shape));
            }
            let (sa, sb) = (structure(&a.op), structure(&b.op));
            if sa != sb {
                let kind = |op: &Op| op_name(op);
                return Err(if kind(&a.op) != kind(&b.op) {
                    format!("{} is {}, not {}", at(), kind(&b.op), kind(&a.op))
                } else {
                    format!("{} has other attributes or constants", at())
                });
            }
        }
        Ok(())
    }
}

/// An op with its weights and biases zeroed (their shapes kept), as comparable JSON.
fn structure(op: &Op) -> serde_json::Value {
    let mut op = op.clone();
    if let Op::MatMul { weight, bias } | Op::Conv { weight, bias, .. } | Op::ConvTranspose { weight, bias, .. } =
        &mut op
    {
        weight.data.iter_mut().for_each(|w| *w = 0.0);
        bias.iter_mut().flatten().for_each(|b| *b = 0.0);
    }
    serde_json::to_value(&op).unwrap_or_default()
}

/// The op's variant name.
fn op_name(op: &Op) -> String {
    let json = serde_json::to_value(op).unwrap_or_default();
    match json {
        serde_json::Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
        serde_json::Value::String(s) => s,
        _ => "an op".into(),
    }
}
