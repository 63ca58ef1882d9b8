//! The float reference calibration measures the integer evaluator's error against: the IR in
//! floating point (the graph the circuit proves, `ir::float_eval`), cross-checked against tract
//! running the ONNX file itself where tract can, and saying where it cannot.

use crate::error::{CompileError, Result};
use crate::ir::float_eval::outputs_float;
use crate::ir::Graph;
use serde::{Deserialize, Serialize};
use tract_onnx::prelude::*;

pub struct FloatModel {
    graph: Graph,
    tract: std::result::Result<TractModel, String>,
}

/// The ONNX file run by tract.
struct TractModel {
    plan: Arc<TypedRunnableModel>,
    input_shapes: Vec<Vec<usize>>,
}

/// What tract said of the float reference on the calibration samples.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossCheck {
    /// tract ran every sample: the largest difference from the IR's outputs.
    Tract { max_difference: f64 },
    /// tract could not load or run the model: why.
    Unavailable { reason: String },
}

impl std::fmt::Display for CrossCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CrossCheck::Tract { max_difference } => write!(f, "tract agrees within {max_difference:.1e}"),
            CrossCheck::Unavailable { reason } => write!(f, "not cross-checked: {reason}"),
        }
    }
}

fn tract_err(e: TractError) -> CompileError {
    CompileError::Plan(format!("tract failed: {e:#}"))
}

/// tract reads a binary ensemble's one column of scores from a two-column layout: give its base
/// value a second (unused) column, as onnxruntime reads one.
fn widen_binary_base_values(proto: &mut tract_onnx::pb::ModelProto) {
    let Some(graph) = proto.graph.as_mut() else { return };
    for node in graph.node.iter_mut().filter(|n| n.domain == "ai.onnx.ml" && n.op_type == "TreeEnsembleClassifier") {
        let labels = node.attribute.iter().find(|a| a.name == "classlabels_int64s").map_or(0, |a| a.ints.len());
        if let Some(base) = node.attribute.iter_mut().find(|a| a.name == "base_values") {
            if labels == 2 && base.floats.len() == 1 {
                base.floats.push(0.0);
            }
        }
    }
}

/// tract has no Scaler: (x - offset) * scale as a Sub and a Mul of constants.
fn expand_scalers(proto: &mut tract_onnx::pb::ModelProto) {
    use tract_onnx::pb::{NodeProto, TensorProto};
    let Some(graph) = proto.graph.as_mut() else { return };
    let mut nodes = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        if !(node.domain == "ai.onnx.ml" && node.op_type == "Scaler") {
            nodes.push(node);
            continue;
        }
        let floats = |name: &str| node.attribute.iter().find(|a| a.name == name).map(|a| a.floats.clone());
        let (offset, scale) =
            (floats("offset").unwrap_or_else(|| vec![0.0]), floats("scale").unwrap_or_else(|| vec![1.0]));
        let (input, output) =
            (node.input.first().cloned().unwrap_or_default(), node.output.first().cloned().unwrap_or_default());
        let constant = |suffix: &str, values: Vec<f32>| TensorProto {
            name: format!("{output}/{suffix}"),
            dims: vec![values.len() as i64],
            data_type: 1, // FLOAT
            float_data: values,
            ..Default::default()
        };
        let (offset, scale) = (constant("offset", offset), constant("scale", scale));
        let centred = format!("{output}/centred");
        nodes.push(NodeProto {
            op_type: "Sub".into(),
            input: vec![input, offset.name.clone()],
            output: vec![centred.clone()],
            ..Default::default()
        });
        nodes.push(NodeProto {
            op_type: "Mul".into(),
            input: vec![centred, scale.name.clone()],
            output: vec![output],
            ..Default::default()
        });
        graph.initializer.extend([offset, scale]);
    }
    graph.node = nodes;
}

/// ZipMap wraps probabilities in dictionaries, which are not tensors: the circuit proves the
/// probabilities, so the reference reads them through an Identity instead.
fn unwrap_zipmaps(proto: &mut tract_onnx::pb::ModelProto) {
    let Some(graph) = proto.graph.as_mut() else { return };
    let mut unwrapped = vec![];
    for node in graph.node.iter_mut().filter(|n| n.domain == "ai.onnx.ml" && n.op_type == "ZipMap") {
        node.op_type = "Identity".into();
        node.domain = String::new();
        node.attribute.clear();
        unwrapped.extend(node.output.iter().cloned());
    }
    for output in graph.output.iter_mut().filter(|o| unwrapped.contains(&o.name)) {
        output.r#type = None;
    }
}

impl FloatModel {
    /// The reference for `graph`, translated from the ONNX file `bytes` whose inputs have these
    /// shapes (batch fixed to 1). tract failing to load it is recorded, not an error.
    pub fn new(graph: Graph, bytes: &[u8], input_shapes: &[Vec<usize>]) -> FloatModel {
        let tract = without_panics(|| TractModel::load(bytes, input_shapes)).and_then(|r| r.map_err(|e| e.to_string()));
        FloatModel { graph, tract }
    }

    /// Run one sample; returns every model output, flattened.
    pub fn run(&self, inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        outputs_float(&self.graph, inputs).map_err(|e| CompileError::Plan(format!("the float reference failed: {e}")))
    }

    /// tract's outputs on the samples against `outputs` (this reference's on them).
    pub fn cross_check(&self, samples: &[Vec<Vec<f64>>], outputs: &[Vec<Vec<f64>>]) -> CrossCheck {
        let tract = match &self.tract {
            Ok(t) => t,
            Err(reason) => return CrossCheck::Unavailable { reason: reason.clone() },
        };
        let mut max_difference = 0.0f64;
        for (sample, ours) in samples.iter().zip(outputs) {
            match without_panics(|| tract.run(sample)).and_then(|r| r.map_err(|e| e.to_string())) {
                Ok(theirs) => {
                    for (a, b) in ours.iter().zip(&theirs) {
                        for (x, y) in a.iter().zip(b) {
                            max_difference = max_difference.max((x - y).abs());
                        }
                    }
                }
                Err(reason) => return CrossCheck::Unavailable { reason },
            }
        }
        CrossCheck::Tract { max_difference }
    }
}

/// `f`, with a panic inside tract (on some models it cannot read, e.g. an opset from the future)
/// turned into the reason: the cross-check is a second opinion, its failure is recorded.
fn without_panics<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    crate::panics::caught(f).map_err(|why| format!("tract panicked: {why}"))
}

/// The element type each model input declares (graph inputs that are not initializers, in
/// order), where it is one the samples can be cast to.
fn declared_types(proto: &tract_onnx::pb::ModelProto) -> Vec<Option<DatumType>> {
    use tract_onnx::pb::type_proto::Value as Type;
    let Some(graph) = &proto.graph else { return vec![] };
    let weights: std::collections::HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let datum = |elem_type: i32| match elem_type {
        1 => Some(f32::datum_type()),
        6 => Some(i32::datum_type()),
        7 => Some(i64::datum_type()),
        9 => Some(bool::datum_type()),
        11 => Some(f64::datum_type()),
        _ => None,
    };
    graph
        .input
        .iter()
        .filter(|i| !weights.contains(i.name.as_str()))
        .map(|i| match i.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(Type::TensorType(t)) => datum(t.elem_type),
            _ => None,
        })
        .collect()
}

impl TractModel {
    /// Each input takes the element type the model declares (an int64 id, a bool mask).
    fn load(bytes: &[u8], input_shapes: &[Vec<usize>]) -> Result<TractModel> {
        let onnx = tract_onnx::onnx();
        let mut proto = onnx.proto_model_for_read(&mut &bytes[..]).map_err(tract_err)?;
        unwrap_zipmaps(&mut proto);
        widen_binary_base_values(&mut proto);
        expand_scalers(&mut proto);
        let declared = declared_types(&proto);
        let mut model = onnx.model_for_proto_model(&proto).map_err(tract_err)?;
        for (i, shape) in input_shapes.iter().enumerate() {
            let dt = declared.get(i).copied().flatten().unwrap_or(f32::datum_type());
            let fact = InferenceFact::dt_shape(dt, shape);
            model = model.with_input_fact(i, fact).map_err(tract_err)?;
        }
        let plan = model.into_optimized().map_err(tract_err)?.into_runnable().map_err(tract_err)?;
        Ok(TractModel { plan, input_shapes: input_shapes.to_vec() })
    }

    fn run(&self, inputs: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
        let tensors = inputs
            .iter()
            .zip(&self.input_shapes)
            .map(|(data, shape)| {
                let data: Vec<f32> = data.iter().map(|&v| v as f32).collect();
                Tensor::from_shape(shape, &data).map_err(tract_err)
            })
            .enumerate()
            .map(|(i, t)| {
                // Fed as the type the plan's input takes (an integer input's i64).
                let dt = self.plan.model().input_fact(i).map_err(tract_err)?.datum_type;
                Ok(t?.cast_to_dt(dt).map_err(tract_err)?.into_owned().into_tvalue())
            })
            .collect::<Result<TVec<TValue>>>()?;
        let outputs = self.plan.run(tensors).map_err(tract_err)?;
        outputs
            .iter()
            .map(|t| {
                let t = t.cast_to::<f32>().map_err(tract_err)?;
                let view = t.to_plain_array_view::<f32>().map_err(tract_err)?;
                Ok(view.iter().map(|&v| v as f64).collect())
            })
            .collect()
    }
}
