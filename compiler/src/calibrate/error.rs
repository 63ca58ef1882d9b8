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

impl ErrorStats {
    /// `quantized` and `float` hold, per sample, per output, the flattened values.
    pub fn compare(quantized: &[Vec<Vec<f64>>], float: &[Vec<Vec<f64>>]) -> ErrorStats {
        let n_outputs = float.first().map_or(0, |s| s.len());
        let outputs: Vec<OutputError> = (0..n_outputs)
            .map(|o| {
                let (mut sum_abs, mut max_abs, mut sum_ref, mut count, mut agree) = (0.0, 0.0f64, 0.0, 0usize, 0usize);
                for (q, f) in quantized.iter().zip(float) {
                    for (a, b) in q[o].iter().zip(&f[o]) {
                        let e = (a - b).abs();
                        sum_abs += e;
                        max_abs = max_abs.max(e);
                        sum_ref += b.abs();
                        count += 1;
                    }
                    agree += (argmax(&q[o]) == argmax(&f[o])) as usize;
                }
                let multi = float.first().is_some_and(|s| s[o].len() > 1);
                OutputError {
                    mean_abs: sum_abs / count.max(1) as f64,
                    max_abs,
                    mean_rel: sum_abs / sum_ref.max(f64::MIN_POSITIVE),
                    top1_agreement: multi.then(|| agree as f64 / quantized.len().max(1) as f64),
                }
            })
            .collect();
        let max_abs = outputs.iter().map(|o| o.max_abs).fold(0.0, f64::max);
        ErrorStats { outputs, max_abs }
    }

    /// The worst top-1 agreement over the outputs (1 when no output is a class vector).
    pub fn top1_agreement(&self) -> f64 {
        self.outputs.iter().filter_map(|o| o.top1_agreement).fold(1.0, f64::min)
    }
}
