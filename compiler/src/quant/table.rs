//! Function tables: a `Func` sampled on a range-reduced integer domain. The evaluator reads values
//! from here and the circuit's lookup table is filled from here, so both agree by construction.

use crate::ir::Func;

/// A domain this wide is never materialised: the plan that observes values for calibration.
const UNBOUNDED: i128 = 1 << 60;

/// Outputs are clamped to this many bits above their scale (exp of a large input, log of 0).
const OUTPUT_HEADROOM_BITS: u32 = 24;

#[derive(Clone, Debug, PartialEq)]
pub struct FuncTable {
    pub func: Func,
    /// An entry x stands for the real number x * 2^in_exp.
    pub in_exp: i32,
    /// Outputs are round(f(x) * 2^out_scale).
    pub out_scale: u32,
    /// The domain: -bound..=bound.
    pub bound: i128,
}

impl FuncTable {
    /// f at entry x, or None outside the domain.
    pub fn value(&self, x: i128) -> Option<i128> {
        if x.abs() > self.bound {
            return None;
        }
        let step = crate::quant::pow2(self.in_exp);
        // Entry 0 stands for [-step/2, step/2): for Log and negative powers (not finite at 0)
        // entries <= 0 take the value at a quarter step, inside that interval.
        let xf = match self.func {
            Func::Log if x <= 0 => 0.25 * step,
            Func::Pow { exponent } if exponent < 0.0 && x <= 0 => 0.25 * step,
            _ => x as f64 * step,
        };
        let limit = crate::quant::pow2((self.out_scale + OUTPUT_HEADROOM_BITS) as i32);
        let y = (self.func.eval(xf) * crate::quant::pow2(self.out_scale as i32)).round();
        Some(if y.is_nan() { 0 } else { y.clamp(-limit, limit) as i128 })
    }

    pub fn rows(&self) -> usize {
        (2 * self.bound + 1) as usize
    }

    /// Every (x, f(x)) of the domain, in order.
    pub fn entries(&self) -> impl Iterator<Item = (i128, i128)> + '_ {
        (-self.bound..=self.bound).map(|x| (x, self.value(x).unwrap_or(0)))
    }

    /// The largest |f(x)| over the domain (the output bound downstream ops plan with).
    pub fn max_abs(&self) -> i128 {
        if self.bound >= UNBOUNDED {
            // An unbounded table (observation): bound by the clamp.
            return 1i128 << (self.out_scale + OUTPUT_HEADROOM_BITS);
        }
        self.entries().map(|(_, y)| y.abs()).max().unwrap_or(0)
    }
}
