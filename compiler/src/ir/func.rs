//! The elementwise functions computed by table lookup, and their float definitions (the tables
//! are filled from these).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Func {
    Sigmoid,
    Tanh,
    Exp,
    /// Natural log; at x <= 0 the table holds log(step / 4) (see `FuncTable::value`).
    Log,
    Erf,
    /// GELU, exact (erf) form.
    Gelu,
    /// GELU, tanh approximation.
    GeluTanh,
    Softplus,
    Softsign,
    Elu {
        alpha: f64,
    },
    Selu {
        alpha: f64,
        gamma: f64,
    },
    Celu {
        alpha: f64,
    },
    Sin,
    Cos,
    Atan,
    Tan,
    /// Asin and Acos clamp x to [-1, 1] (ONNX gives NaN outside; no table can hold it).
    Asin,
    Acos,
    Sinh,
    Cosh,
    Asinh,
    /// Acosh clamps x to [1, inf), Atanh to +-(1 - 2^-12) (NaN and infinities have no table entry).
    Acosh,
    Atanh,
    /// x tanh(softplus(x)).
    Mish,
    /// x^p for a constant p that is not a whole number or a half (those are products, roots and
    /// divisions); for x < 0 the table holds 0 (p > 0) or, like Log, the value at a quarter step
    /// (p < 0), where ONNX gives NaN.
    Pow {
        exponent: f64,
    },
}

impl Func {
    pub fn name(&self) -> &'static str {
        match self {
            Func::Sigmoid => "Sigmoid",
            Func::Tanh => "Tanh",
            Func::Exp => "Exp",
            Func::Log => "Log",
            Func::Erf => "Erf",
            Func::Gelu => "Gelu",
            Func::GeluTanh => "GeluTanh",
            Func::Softplus => "Softplus",
            Func::Softsign => "Softsign",
            Func::Elu { .. } => "Elu",
            Func::Selu { .. } => "Selu",
            Func::Celu { .. } => "Celu",
            Func::Sin => "Sin",
            Func::Cos => "Cos",
            Func::Atan => "Atan",
            Func::Tan => "Tan",
            Func::Asin => "Asin",
            Func::Acos => "Acos",
            Func::Sinh => "Sinh",
            Func::Cosh => "Cosh",
            Func::Asinh => "Asinh",
            Func::Acosh => "Acosh",
            Func::Atanh => "Atanh",
            Func::Mish => "Mish",
            Func::Pow { .. } => "Pow",
        }
    }

    /// f(x), computed with the `libm` crate (a port of musl's) rather than the platform's math
    /// library, so the tables keygen fixes and gen-witness reads agree on every machine.
    pub fn eval(&self, x: f64) -> f64 {
        match *self {
            Func::Sigmoid => 1.0 / (1.0 + libm::exp(-x)),
            Func::Tanh => libm::tanh(x),
            Func::Exp => libm::exp(x),
            Func::Log => libm::log(x),
            Func::Erf => erf(x),
            Func::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
            Func::GeluTanh => {
                let c = libm::sqrt(2.0 / std::f64::consts::PI);
                0.5 * x * (1.0 + libm::tanh(c * (x + 0.044715 * x * x * x)))
            }
            Func::Softplus => {
                // ln(1 + e^x) without overflow for large x.
                x.max(0.0) + libm::log1p(libm::exp(-x.abs()))
            }
            Func::Softsign => x / (1.0 + x.abs()),
            Func::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * libm::expm1(x)
                }
            }
            Func::Selu { alpha, gamma } => gamma * if x > 0.0 { x } else { alpha * libm::expm1(x) },
            Func::Celu { alpha } => x.max(0.0) + (alpha * libm::expm1(x / alpha)).min(0.0),
            Func::Sin => libm::sin(x),
            Func::Cos => libm::cos(x),
            Func::Atan => libm::atan(x),
            Func::Tan => libm::tan(x),
            Func::Asin => libm::asin(x.clamp(-1.0, 1.0)),
            Func::Acos => libm::acos(x.clamp(-1.0, 1.0)),
            Func::Sinh => libm::sinh(x),
            Func::Cosh => libm::cosh(x),
            Func::Asinh => libm::asinh(x),
            Func::Acosh => libm::acosh(x.max(1.0)),
            Func::Atanh => {
                let edge = 1.0 - 1.0 / 4096.0;
                libm::atanh(x.clamp(-edge, edge))
            }
            Func::Mish => x * libm::tanh(Func::Softplus.eval(x)),
            Func::Pow { exponent } => libm::pow(x.max(0.0), exponent),
        }
    }
}

/// The error function (the standard library has none).
fn erf(x: f64) -> f64 {
    libm::erf(x)
}
