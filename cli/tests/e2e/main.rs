//! The whole pipeline through the `zkonnx` binary, and the ways it must refuse bad input: one test
//! binary (one build, one SRS cache), a module per theme.

mod chain;
mod common;
mod evm;
mod proving;
mod refusals;
mod segments;
mod sklearn;
mod visibility;
