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
        }
    }

    pub fn eval(&self, x: f64) -> f64 {
        match *self {
            Func::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Func::Tanh => x.tanh(),
            Func::Exp => x.exp(),
            Func::Log => x.ln(),
            Func::Erf => erf(x),
            Func::Gelu => 0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2)),
            Func::GeluTanh => {
                let c = (2.0 / std::f64::consts::PI).sqrt();
                0.5 * x * (1.0 + (c * (x + 0.044715 * x * x * x)).tanh())
            }
            Func::Softplus => {
                // ln(1 + e^x) without overflow for large x.
                x.max(0.0) + (-x.abs()).exp().ln_1p()
            }
            Func::Softsign => x / (1.0 + x.abs()),
            Func::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Func::Selu { alpha, gamma } => gamma * if x > 0.0 { x } else { alpha * x.exp_m1() },
            Func::Celu { alpha } => x.max(0.0) + (alpha * (x / alpha).exp_m1()).min(0.0),
            Func::Sin => x.sin(),
            Func::Cos => x.cos(),
        }
    }
}

/// The error function (the standard library has none; libm's is the musl one, to ~1 ulp).
fn erf(x: f64) -> f64 {
    libm::erf(x)
}
