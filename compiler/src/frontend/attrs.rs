//! Reading ONNX node attributes and constant tensors.

use crate::error::{CompileError, Result};
use tract_onnx::pb::{AttributeProto, NodeProto, TensorProto};

/// A node's attributes. Each one the translation asks for is marked read: an attribute nobody
/// read is one whose meaning the circuit would ignore, and `unread` lets the caller refuse it.
pub struct Attrs<'a> {
    node: &'a NodeProto,
    read: std::cell::RefCell<Vec<bool>>,
}

impl<'a> Attrs<'a> {
    pub fn new(node: &'a NodeProto) -> Self {
        Attrs { node, read: std::cell::RefCell::new(vec![false; node.attribute.len()]) }
    }

    fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        let i = self.node.attribute.iter().position(|a| a.name == name)?;
        self.read.borrow_mut()[i] = true;
        Some(&self.node.attribute[i])
    }

    /// Whether the node sets this attribute.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The attributes no translation step has read, each with its value as ONNX prints it.
    pub fn unread(&self) -> Vec<&'a AttributeProto> {
        let read = self.read.borrow();
        self.node.attribute.iter().zip(read.iter()).filter(|(_, r)| !**r).map(|(a, _)| a).collect()
    }

    pub fn int(&self, name: &str, default: i64) -> i64 {
        self.get(name).map(|a| a.i).unwrap_or(default)
    }

    pub fn float(&self, name: &str, default: f32) -> f32 {
        self.get(name).map(|a| a.f).unwrap_or(default)
    }

    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.get(name).map(|a| a.ints.clone())
    }

    pub fn floats(&self, name: &str) -> Option<Vec<f32>> {
        self.get(name).map(|a| a.floats.clone())
    }

    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
    }

    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    pub fn tensor(&self, name: &str) -> Option<&'a TensorProto> {
        self.get(name).and_then(|a| a.t.as_ref())
    }
}

/// Load a TensorProto (any numeric type, raw or typed data) as f64.
pub fn load_tensor(proto: &TensorProto, node: &str) -> Result<crate::tensor::Tensor<f64>> {
    use tract_onnx::prelude::*;
    let fail = |e: TractError| CompileError::Node {
        node: node.to_string(),
        op: "constant".into(),
        reason: format!("cannot read tensor {:?}: {e}", proto.name),
    };
    let onnx = tract_onnx::onnx();
    let tensor = tract_onnx::tensor::load_tensor(&*onnx.provider, proto, None).map_err(fail)?;
    let shape = tensor.shape().to_vec();
    let as_f64 = tensor.cast_to::<f64>().map_err(fail)?;
    let data = as_f64.to_plain_array_view::<f64>().map_err(fail)?.iter().copied().collect();
    Ok(crate::tensor::Tensor::new(shape, data))
}
