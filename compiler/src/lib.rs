//! zkonnx compiler: ONNX -> IR -> fixed-point plan -> Halo2 circuit layout.

pub mod chips;
pub mod circuit;
pub mod error;
pub mod frontend;
pub mod ir;
pub mod quant;
pub mod tensor;

pub use error::CompileError;
