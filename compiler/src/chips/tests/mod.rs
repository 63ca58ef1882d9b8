//! Each chip: its semantics against the real function, an honest witness passing MockProver,
//! and each way of tampering with the witness failing it.

mod affine;
mod div;
mod dot;
mod freivalds;
mod input;
mod lookup;
mod max;
mod mul;
mod pack;
mod param_dot;
mod poseidon;
mod requant;
mod sqrt;
pub(crate) mod testing;
