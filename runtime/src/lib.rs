//! zkonnx runtime: artifact files, SRS, keys, witness, prove and verify.

pub mod aggregate;
pub mod calibrate;
pub mod chain;
pub mod error;
pub mod evm;
pub mod files;
pub mod keys;
pub mod memory;
pub mod model;
pub mod proof;
pub mod segmented;
pub mod srs;
pub mod transcript;
pub mod witness;
pub mod workflow;

pub use error::{Result, RuntimeError};
pub use model::{ArtifactDir, Model};
