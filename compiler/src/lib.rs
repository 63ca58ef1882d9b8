//! zkonnx compiler: ONNX -> IR -> fixed-point plan -> Halo2 circuit layout.

pub mod calibrate;
pub(crate) mod chips;
pub(crate) mod circuit;
pub mod commit;
pub mod error;
pub mod field;
pub mod frontend;
pub mod ir;
pub mod panics;
pub mod quant;
pub mod reference;
mod roundtrip;
pub mod segment;
pub mod settings;
pub mod tensor;

pub use error::CompileError;
pub use roundtrip::{check_settings_match_plan, lookup_records, plan_settings};

// The circuit as the runtime builds, keys and proves it: the face the runtime, the CLI and the
// Python package use. `chips` and `circuit` are crate-private: their insides change freely.
pub use circuit::instance::{InstanceLayout, Public};
pub use circuit::lower::{instance_layout, lower, lower_structure};
pub use circuit::plan::{estimate_keygen_memory, estimate_mock_memory, estimate_prove_memory, estimate_trace_memory};
pub use circuit::shape::CircuitShape;
pub use circuit::trace::Trace;
pub use circuit::{KeyDigest, ZkCircuit};

use ir::Graph;
use quant::{InputRange, Scales};

/// Default scales: 2^8 for activations and weights, function tables of 2^10 entries.
pub const DEFAULT_SCALES: Scales = Scales { input: 8, param: 8, table_bits: quant::DEFAULT_TABLE_BITS };
/// The largest input magnitude calibration accepts: with scales up to 2^16 every value and its
/// products stay far inside the field.
pub const MAX_INPUT_ABS: f64 = 1e9;

/// Default input range until calibration measures one.
pub const DEFAULT_INPUT_RANGE: InputRange = InputRange { min: -8.0, max: 8.0 };

/// The kind of a model input node (`Real` for anything that is not an input).
pub fn input_kind(node: &ir::Node) -> ir::InputKind {
    match node.op {
        ir::Op::Input { kind, .. } => kind,
        _ => ir::InputKind::Real,
    }
}

/// An input's range fixed by the model itself: an index input's [0, V - 1].
pub fn fixed_input_range(node: &ir::Node) -> Option<InputRange> {
    input_kind(node).index_range().map(|(min, max)| InputRange { min, max })
}

/// The input ranges until calibration measures them: an index input's own, ±8 for the others.
pub fn default_input_ranges(graph: &Graph) -> Vec<InputRange> {
    graph.inputs().map(|(_, n)| fixed_input_range(n).unwrap_or(DEFAULT_INPUT_RANGE)).collect()
}
