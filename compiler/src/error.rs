//! Compile-time errors. Each displays as one line that says what is wrong and how to fix it.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CompileError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a valid ONNX model: {reason}")]
    NotOnnx { path: String, reason: String },
    #[error("unsupported ONNX ops: {}; `zkonnx ops` lists the supported ones", list_unsupported(.0))]
    Unsupported(Vec<UnsupportedOp>),
    #[error("node {node} ({op}): {reason}")]
    Node { node: String, op: String, reason: String },
    #[error("{0}")]
    Plan(String),
    /// A value's static bound passes what the field holds without wrapping: lower scales or
    /// narrower input ranges (what calibration measures) shrink it.
    #[error(
        "node {node} could overflow the field (values up to 2^{bits}); lower the scales or narrow the input range"
    )]
    Overflow { node: String, bits: u32 },
}

#[derive(Debug, Clone)]
pub struct UnsupportedOp {
    pub op: String,
    pub node: String,
}

fn list_unsupported(ops: &[UnsupportedOp]) -> String {
    ops.iter().map(|u| format!("{} (node {})", u.op, u.node)).collect::<Vec<_>>().join(", ")
}

pub type Result<T, E = CompileError> = std::result::Result<T, E>;
