//! The IR graph: nodes in topological order, each with its op, inputs and output shape.
//! Constants are folded into the ops that use them (weights, biases, broadcast operands), so every
//! node input is an activation: a value the circuit has to prove.

mod architecture;
pub mod float_eval;
mod func;
mod print;

#[cfg(test)]
mod tests;

pub use func::Func;

use crate::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Index of a node in `Graph::nodes`.
pub type NodeId = usize;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// Nodes whose values are the model outputs, in ONNX output order.
    pub outputs: Vec<NodeId>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Node {
    /// The ONNX node name (or output tensor name when the node has none).
    pub name: String,
    pub op: Op,
    pub inputs: Vec<NodeId>,
    pub shape: Vec<usize>,
}

/// What values a model input takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputKind {
    /// A real number (an ONNX float type), quantized at the input scale.
    #[default]
    Real,
    /// An ONNX integer type: whole numbers only. `selects` is the length of the axis it indexes
    /// when it is used as a computed index (a token id into an embedding): ONNX fails outside
    /// [0, selects) or wraps negatives, so the input's range is exactly that.
    Integer { selects: Option<usize> },
}

impl InputKind {
    /// The scale exponent an input of this kind is quantized at: an integer input at 2^0, so
    /// its range check alone proves it whole (at 2^s the prover could give a multiple of 2^-s);
    /// a real input at the activations' scale.
    pub fn scale(&self, activations: u32) -> u32 {
        match self {
            InputKind::Real => activations,
            InputKind::Integer { .. } => 0,
        }
    }

    /// The range an index input's values must lie in, [0, selects - 1]; None for any other.
    pub fn index_range(&self) -> Option<(f64, f64)> {
        match *self {
            InputKind::Integer { selects: Some(v) } => Some((0.0, v.saturating_sub(1) as f64)),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Op {
    /// The model input with this index.
    Input {
        index: usize,
        /// Absent in circuits compiled before integer inputs: real.
        #[serde(default)]
        kind: InputKind,
    },
    /// `y[.., n] = sum_k x[.., k] * weight[k, n] + bias[n]` (Gemm, MatMul with a constant).
    MatMul {
        weight: Tensor<f64>,
        bias: Option<Vec<f64>>,
    },
    /// 2-D convolution, NCHW (1-D is 2-D with height 1). `weight` is `[out, in / group, kh, kw]`;
    /// pads are `[top, left, bottom, right]`.
    Conv {
        weight: Tensor<f64>,
        bias: Option<Vec<f64>>,
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
        group: usize,
    },
    /// 2-D transposed convolution, NCHW, group 1. `weight` is `[in, out, kh, kw]`; input pixel
    /// (y, x) adds weight * x to output (y * stride - pad_top + ky * dilation, ...).
    ConvTranspose {
        weight: Tensor<f64>,
        bias: Option<Vec<f64>>,
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
    },
    /// `x * mul + add` with constants that broadcast to the output (Add/Sub/Mul with a constant,
    /// an unfolded BatchNormalization).
    Affine {
        mul: Option<Tensor<f64>>,
        add: Option<Tensor<f64>>,
    },
    /// Elementwise op of two activations, numpy broadcasting.
    Binary {
        kind: BinaryKind,
    },
    Relu,
    /// Average pooling over NCHW; with `count_include_pad` false the border windows divide by the
    /// number of elements they really cover.
    AvgPool {
        kernel: [usize; 2],
        strides: [usize; 2],
        pads: [usize; 4],
        dilations: [usize; 2],
        count_include_pad: bool,
    },
    /// The output is the input with another shape (Reshape, Flatten).
    Reshape,
    Transpose {
        perm: Vec<usize>,
    },
    /// Output element i is element `indices[i]` of the concatenation of every input (flat)
    /// followed by `consts`: slices, concatenation, padding, broadcasting, window slices of
    /// pooling. Moves cells, proves nothing.
    Gather {
        indices: Vec<usize>,
        consts: Vec<f64>,
    },
    /// Square root, elementwise (inputs must not be negative).
    Sqrt,
    /// 1 where the input is 0 and 0 where it is negative, as an integer (output scale 2^0). Only
    /// for inputs that are never positive (x - max(x)): ArgMax is built from it.
    Step,
    /// The margin of a split test, elementwise, with `thresholds[i % n]` and `at_most[i % n]` along
    /// the flattened input: `x - floor(t)` where `at_most` (the test x <= t), `ceil(t) - x`
    /// otherwise (x >= t), t taken at x's scale. It is <= 0 exactly when the test holds on the
    /// quantized value, as it does on the float that value stands for (no rounding of t can flip
    /// it); tree splits are Step(-relu) of it.
    SplitMargin {
        thresholds: Vec<f64>,
        at_most: Vec<bool>,
    },
    /// A function of one activation, elementwise, by table lookup.
    Func {
        f: Func,
    },
    /// `a / b` elementwise with numpy broadcasting (inputs a, b); with one input, `1 / x`.
    /// Divisors must be positive. `max`: a bound on |a / b| the frontend knows (softmax: 1).
    Div {
        max: Option<f64>,
    },
    /// Output i is `in0[a[i]] * in1[b[i]]` at the sum of the two scales, not rescaled: the
    /// products of a MatMul of two activations, summed by a `Reduce` after it.
    Products {
        a: Vec<usize>,
        b: Vec<usize>,
    },
    /// Output i is the sum (or mean) of the input elements `windows[i]` (flat).
    Reduce {
        windows: Vec<Vec<usize>>,
        mean: bool,
    },
    /// To a whole number (an integer at scale 0): floor, ceiling, or nearest with ties up.
    Round {
        mode: RoundMode,
    },
}

impl Op {
    /// The op's constant numbers (weights, biases, affine factors, gathered constants,
    /// thresholds): what quantization turns into integers.
    pub fn constants(&self) -> Vec<&[f64]> {
        match self {
            Op::MatMul { weight, bias } | Op::Conv { weight, bias, .. } | Op::ConvTranspose { weight, bias, .. } => {
                [Some(&weight.data[..]), bias.as_deref()].into_iter().flatten().collect()
            }
            Op::Affine { mul, add } => [mul, add].into_iter().flatten().map(|t| &t.data[..]).collect(),
            Op::Gather { consts, .. } => vec![consts],
            Op::SplitMargin { thresholds, .. } => vec![thresholds],
            _ => vec![],
        }
    }
}

/// The largest constant magnitude a model may hold: quantized at any scale the planner uses
/// (up to 2^16) it stays an exact 64-bit integer with room for the products after it.
pub const MAX_CONSTANT_ABS: f64 = (1u64 << 40) as f64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoundMode {
    Floor,
    Ceil,
    /// Nearest, ties toward +infinity (ONNX Round breaks ties to even).
    Nearest,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryKind {
    Add,
    Sub,
    Mul,
    Max,
    Min,
}

impl Op {
    /// Short name for dumps and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Input { .. } => "Input",
            Op::MatMul { .. } => "MatMul",
            Op::Conv { .. } => "Conv",
            Op::ConvTranspose { .. } => "ConvTranspose",
            Op::Affine { .. } => "Affine",
            Op::Binary { kind: BinaryKind::Add } => "Add",
            Op::Binary { kind: BinaryKind::Sub } => "Sub",
            Op::Binary { kind: BinaryKind::Mul } => "Mul",
            Op::Binary { kind: BinaryKind::Max } => "Max",
            Op::Binary { kind: BinaryKind::Min } => "Min",
            Op::Relu => "Relu",
            Op::AvgPool { .. } => "AvgPool",
            Op::Reshape => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Gather { .. } => "Gather",
            Op::Func { f } => f.name(),
            Op::Div { .. } => "Div",
            Op::Step => "Step",
            Op::SplitMargin { .. } => "SplitMargin",
            Op::Sqrt => "Sqrt",
            Op::Products { .. } => "Products",
            Op::Reduce { mean: false, .. } => "ReduceSum",
            Op::Reduce { mean: true, .. } => "ReduceMean",
            Op::Round { mode: RoundMode::Floor } => "Floor",
            Op::Round { mode: RoundMode::Ceil } => "Ceil",
            Op::Round { mode: RoundMode::Nearest } => "Round",
        }
    }
}

impl Graph {
    /// Every constant is a finite number of at most `MAX_CONSTANT_ABS`: what quantization can
    /// hold exactly. Refused naming the node otherwise (a weight of 2^56 once wrapped to 0).
    pub fn check_constants(&self) -> Result<(), crate::CompileError> {
        for node in &self.nodes {
            let bad = node.op.constants().into_iter().flatten().copied().find(|x| !(x.abs() <= MAX_CONSTANT_ABS));
            if let Some(x) = bad {
                return Err(crate::CompileError::Plan(format!(
                    "node {}: a constant is {x}; constants must be finite and at most 2^40 in magnitude",
                    node.name
                )));
            }
        }
        Ok(())
    }

    /// The graph is one the frontend could have written (a hand-edited circuit.json may not
    /// be): nodes in topological order, inputs numbered 0..n once each, at least one output, and
    /// constants quantization can hold.
    pub fn check_structure(&self) -> Result<(), String> {
        if self.outputs.is_empty() {
            return Err("it has no outputs".into());
        }
        if let Some(&o) = self.outputs.iter().find(|&&o| o >= self.nodes.len()) {
            return Err(format!("output {o} names no node (there are {})", self.nodes.len()));
        }
        for (id, node) in self.nodes.iter().enumerate() {
            if let Some(&i) = node.inputs.iter().find(|&&i| i >= id) {
                return Err(format!("node {} reads node {i}, which does not come before it", node.name));
            }
        }
        let mut indices: Vec<usize> = self
            .inputs()
            .filter_map(|(_, n)| if let Op::Input { index, .. } = n.op { Some(index) } else { None })
            .collect();
        indices.sort_unstable();
        if indices.iter().enumerate().any(|(i, &j)| i != j) {
            return Err(format!("its model inputs are numbered {indices:?}, not 0 to {}", indices.len()));
        }
        self.check_constants().map_err(|e| e.to_string())
    }

    pub fn inputs(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes.iter().enumerate().filter(|(_, n)| matches!(n.op, Op::Input { .. }))
    }

    /// The ids of the model inputs, in order.
    pub fn input_ids(&self) -> Vec<NodeId> {
        self.inputs().map(|(i, _)| i).collect()
    }

    /// The element counts of these nodes' outputs.
    pub fn element_counts(&self, ids: &[NodeId]) -> Vec<usize> {
        ids.iter().map(|&i| self.nodes[i].shape.iter().product()).collect()
    }

    /// How many nodes read each node's output (model outputs count as a reader).
    pub fn reader_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.nodes.len()];
        for node in &self.nodes {
            for &i in &node.inputs {
                counts[i] += 1;
            }
        }
        for &o in &self.outputs {
            counts[o] += 1;
        }
        counts
    }
}
