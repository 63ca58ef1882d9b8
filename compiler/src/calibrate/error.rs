//! Quantization error of the integer model against the float model.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputError {
    pub mean_abs: f64,
    pub max_abs: f64,
    /// Sum of absolute errors over the sum of absolute float values.
    pub mean_rel: f64,
    /// Fraction of samples whose argmax agrees (outputs of more than one element).
    pub top1_agreement: Option<f64>,
    /// The largest |float value| of the output over the samples (what a relative bound scales).
    pub max_float: f64,
    /// Whether the quantized output carries no signal: one value everywhere while the float
    /// output varies.
    pub flat: bool,
}

/// The largest output error the `resources` target accepts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorBound {
    /// A fraction of each output's largest |float value| on the calibration data (the default,
    /// 1%: the error stays small next to what the model outputs, whatever their size).
    Relative(f64),
    /// The same absolute error for every output (`--max-error`).
    Absolute(f64),
}

impl Default for ErrorBound {
    fn default() -> Self {
        ErrorBound::Relative(0.01)
    }
}

impl ErrorBound {
    /// The bound on one output's max absolute error.
    pub fn of(&self, output: &OutputError) -> f64 {
        match *self {
            ErrorBound::Relative(r) => r * output.max_float,
            ErrorBound::Absolute(a) => a,
        }
    }
}

impl std::fmt::Display for ErrorBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErrorBound::Relative(r) => write!(f, "{}% of each output's largest |value|", r * 100.0),
            ErrorBound::Absolute(a) => write!(f, "{a}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorStats {
    pub outputs: Vec<OutputError>,
    /// The largest absolute error over every output and sample.
    pub max_abs: f64,
}

fn argmax(v: &[f64]) -> Option<usize> {
    v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i)
}

/// Whether the quantized output's top class is a top class of the float one: a tie in the
/// reference (copies of one value, equal up to float rounding) is not a disagreement.
fn picks_a_top_class(quantized: &[f64], float: &[f64]) -> bool {
    match (argmax(quantized), argmax(float)) {
        (Some(q), Some(f)) => float[q] >= float[f] - 1e-9 * float[f].abs().max(1.0),
        (q, f) => q == f,
    }
}

impl ErrorStats {
    /// `quantized` and `float` hold, per sample, per output, the flattened values.
    pub fn compare(quantized: &[Vec<Vec<f64>>], float: &[Vec<Vec<f64>>]) -> ErrorStats {
        let n_outputs = float.first().map_or(0, |s| s.len());
        let outputs: Vec<OutputError> = (0..n_outputs)
            .map(|o| {
                let (mut sum_abs, mut max_abs, mut sum_ref, mut count, mut agree) = (0.0, 0.0f64, 0.0, 0usize, 0usize);
                let (mut q_range, mut f_range) =
                    ((f64::INFINITY, f64::NEG_INFINITY), (f64::INFINITY, f64::NEG_INFINITY));
                let widen = |r: (f64, f64), v: f64| (r.0.min(v), r.1.max(v));
                for (q, f) in quantized.iter().zip(float) {
                    for (a, b) in q[o].iter().zip(&f[o]) {
                        let e = (a - b).abs();
                        sum_abs += e;
                        max_abs = max_abs.max(e);
                        sum_ref += b.abs();
                        count += 1;
                        (q_range, f_range) = (widen(q_range, *a), widen(f_range, *b));
                    }
                    agree += picks_a_top_class(&q[o], &f[o]) as usize;
                }
                let multi = float.first().is_some_and(|s| s[o].len() > 1);
                OutputError {
                    mean_abs: sum_abs / count.max(1) as f64,
                    max_abs,
                    mean_rel: sum_abs / sum_ref.max(f64::MIN_POSITIVE),
                    top1_agreement: multi.then(|| agree as f64 / quantized.len().max(1) as f64),
                    max_float: f_range.0.abs().max(f_range.1.abs()).max(0.0),
                    flat: q_range.0 == q_range.1 && f_range.0 < f_range.1,
                }
            })
            .collect();
        let max_abs = outputs.iter().map(|o| o.max_abs).fold(0.0, f64::max);
        ErrorStats { outputs, max_abs }
    }

    /// The first output whose error exceeds its bound, with the error and the bound.
    pub fn over(&self, bound: ErrorBound) -> Option<(usize, f64, f64)> {
        self.outputs.iter().enumerate().find_map(|(i, o)| {
            let b = bound.of(o);
            (o.max_abs > b).then_some((i, o.max_abs, b))
        })
    }

    /// The worst top-1 agreement over the outputs (1 when no output is a class vector).
    pub fn top1_agreement(&self) -> f64 {
        self.outputs.iter().filter_map(|o| o.top1_agreement).fold(1.0, f64::min)
    }
}
