//! ONNX element types of the graph's values, as far as integer semantics needs them: the IR holds
//! every value as a fixed-point number, so where ONNX computes on integers (a Div of int64s
//! truncates, a Cast of 2.7 to int32 is 2) the translation must add the truncation itself.

use super::attrs::Attrs;
use super::{Ctx, Translator, Value};
use crate::ir::{NodeId, Op, RoundMode};
use std::collections::HashMap;
use tract_onnx::pb::{self, NodeProto};

const BOOL: i32 = 9;

/// Whether an ONNX data type is an integer type (not bool, not a float).
pub(super) fn is_integer(t: i32) -> bool {
    matches!(t, 2..=7 | 12 | 13)
}

/// The element type of every value name whose type is known: the graph's inputs, outputs,
/// initializers and value_info (exporters write these), then each node's outputs as they are
/// translated (`infer`).
#[derive(Default)]
pub(super) struct ElemTypes(HashMap<String, i32>);

impl ElemTypes {
    pub(super) fn of_graph(graph: &pb::GraphProto) -> Self {
        use pb::type_proto::Value as Type;
        let mut types = HashMap::new();
        for v in graph.input.iter().chain(&graph.output).chain(&graph.value_info) {
            if let Some(Type::TensorType(t)) = v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
                types.insert(v.name.clone(), t.elem_type);
            }
        }
        for init in &graph.initializer {
            types.insert(init.name.clone(), init.data_type);
        }
        ElemTypes(types)
    }

    pub(super) fn get(&self, name: &str) -> Option<i32> {
        self.0.get(name).copied()
    }

    /// Record the types of a node's outputs that the graph does not state: ONNX's type rules
    /// for the ops whose output type is not their first input's.
    pub(super) fn infer(&mut self, node: &NodeProto, attrs: &Attrs) {
        let first_input = node.input.iter().filter_map(|i| self.get(i)).next();
        for (k, out) in node.output.iter().enumerate() {
            if out.is_empty() || self.0.contains_key(out) {
                continue;
            }
            let t = match (node.op_type.as_str(), k) {
                ("Cast", _) => Some(attrs.int("to", 1) as i32),
                ("Constant", _) => attrs.tensor("value").map(|t| t.data_type).or(Some(1)),
                ("Shape" | "Size" | "NonZero" | "ArgMax" | "ArgMin", _) | ("TopK", 1) => Some(7),
                // ai.onnx.ml classifiers' labels: int64 (string labels are refused).
                ("TreeEnsembleClassifier" | "LinearClassifier", 0) => Some(7),
                (
                    "Equal" | "Less" | "LessOrEqual" | "Greater" | "GreaterOrEqual" | "And" | "Or" | "Xor" | "Not"
                    | "IsNaN" | "IsInf",
                    _,
                ) => Some(BOOL),
                ("Where", _) => node.input.get(1).and_then(|i| self.get(i)),
                _ => first_input,
            };
            if let Some(t) = t {
                self.0.insert(out.clone(), t);
            }
        }
    }
}

impl Translator {
    /// ONNX's integer results of a node just translated: a Div whose type is an integer type
    /// truncates its quotient toward zero, and so does a Cast from a float type to an integer
    /// one. The IR computed the exact quotient or copied the value; truncate it here.
    pub(super) fn integer_semantics(&mut self, ctx: &Ctx, attrs: &Attrs) {
        let node = ctx.node;
        self.types.infer(node, attrs);
        let Some(out) = node.output.first() else { return };
        let out_integer = self.types.get(out).is_some_and(is_integer);
        let in_type = node.input.first().and_then(|i| self.types.get(i));
        let truncates = match node.op_type.as_str() {
            "Div" => out_integer,
            // From a float (or unknown) type; integer and bool inputs are whole already.
            "Cast" => out_integer && !in_type.is_some_and(|t| is_integer(t) || t == BOOL),
            _ => false,
        };
        match (truncates, self.env.get(out).cloned()) {
            (true, Some(Value::Act(y))) => {
                let t = self.truncate(&format!("{}/trunc", ctx.name), y);
                self.env.insert(out.clone(), Value::Act(t));
            }
            // Shape arithmetic folded at compile time divides int64s too.
            (true, Some(Value::Const(c))) => {
                self.env.insert(out.clone(), Value::Const(c.map(|v| v.trunc())));
            }
            _ => {}
        }
    }

    /// trunc(y) = floor(relu(y)) - floor(relu(-y)): each floor a rescale to scale 0 whose
    /// remainder is range checked.
    fn truncate(&mut self, name: &str, y: NodeId) -> NodeId {
        let shape = self.shape(y);
        let floor = |t: &mut Self, part: &str, x: NodeId| {
            let r = t.add_node(&format!("{name}/{part}"), Op::Relu, vec![x], shape.clone());
            t.add_node(&format!("{name}/{part}/floor"), Op::Round { mode: RoundMode::Floor }, vec![r], shape.clone())
        };
        let up = floor(self, "pos", y);
        let minus = self.negate(&format!("{name}/minus"), y);
        let down = floor(self, "neg", minus);
        self.binary_node(name, crate::ir::BinaryKind::Sub, up, down)
    }
}
