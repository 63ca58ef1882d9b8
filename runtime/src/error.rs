//! Runtime errors: one line each, saying what is wrong and what to do.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Compile(#[from] compiler::CompileError),
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("{path} is not a valid {what}: {reason}")]
    Corrupt { path: String, what: &'static str, reason: String },
    #[error("{path} belongs to another model or settings ({reason}){}", setup_hint(reason))]
    Mismatch { path: String, reason: String },
    #[error("bad input: {0}")]
    Input(String),
    #[error(transparent)]
    Range(#[from] compiler::quant::eval::RangeError),
    #[error("the proof is invalid: {0}")]
    InvalidProof(String),
    #[error("{0}")]
    Other(String),
}

/// The fix for a mismatch whose reason does not name its own.
fn setup_hint(reason: &str) -> &'static str {
    if reason.contains("run `zkonnx") {
        ""
    } else {
        "; run `zkonnx setup` again for this artifact folder"
    }
}

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

pub(crate) fn read_err(path: &std::path::Path, e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Read { path: path.display().to_string(), reason: e.to_string() }
}
