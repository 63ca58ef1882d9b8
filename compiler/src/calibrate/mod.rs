//! Calibration: measure what real data does to the model, then search the settings (scales,
//! ranges, and through the planner the columns, lookup bits and k) for a target.
//!
//! For a candidate pair of scales the integer evaluator runs on every sample without range
//! limits; every rescale's range is set from the largest value seen, widened by a margin; the plan
//! with those ranges is measured against the float model and laid out (cost, k). The search
//! (`search`) walks the boundary of the good candidates instead of trying every pair. Every
//! candidate tried is kept in the report with its cost and error, or why it was rejected.

mod candidate;
mod error;
mod search;

pub use candidate::input_ranges;
pub use error::{ErrorBound, ErrorStats, OutputError};

use crate::error::{CompileError, Result};
use crate::ir::Graph;
use crate::quant::{QuantPlan, Scales};
use crate::settings::Settings;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The cheapest proof whose error stays within the bound and whose top-1 class agrees.
    Resources,
    /// The smallest error that fits the row budget.
    Accuracy,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub target: Target,
    pub max_logrows: u32,
    /// The largest output error the `resources` target accepts.
    pub max_error: ErrorBound,
    /// Ranges are widened by this fraction of the largest magnitude seen.
    pub margin: f64,
    /// Scale exponents tried for inputs/activations and for weights.
    pub scales: std::ops::RangeInclusive<u32>,
    /// Function table sizes tried (2^bits entries), for models with lookups.
    pub table_bits: Vec<u32>,
    /// The visibility the settings keep.
    pub visibility: crate::settings::Visibility,
    /// The layout goal (and random checks) the settings keep.
    pub layout: crate::settings::LayoutOptions,
    /// How many candidates may be built at once (each holds a plan and every sample's values in
    /// memory: the caller sizes this from `candidate_bytes` and the memory it has).
    pub parallel: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: Target::Resources,
            max_logrows: 22,
            max_error: ErrorBound::default(),
            margin: 0.5,
            scales: 4..=16,
            table_bits: vec![8, 10, 12, 14, 16],
            visibility: Default::default(),
            layout: Default::default(),
            parallel: 2,
        }
    }
}

/// The calibration data: per sample, per model input, the flattened values; and the float
/// model's outputs for each sample.
pub struct Samples {
    pub inputs: Vec<Vec<Vec<f64>>>,
    pub float_outputs: Vec<Vec<Vec<f64>>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Candidate {
    pub scales: Scales,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Accepted {
        #[serde(flatten)]
        size: Size,
        error: ErrorStats,
    },
    /// Measured, but it misses the target's bound (its circuit is not laid out: the search
    /// does not need its size).
    Rejected { error: Box<ErrorStats>, reason: String },
    /// Could not be built at all, or too large for the row budget or the field.
    Infeasible { reason: String },
}

/// The circuit a candidate lays out.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Size {
    pub k: u32,
    pub rows: usize,
    pub advice: usize,
    pub lookup_lanes: usize,
    /// Estimated prover work (committed columns × 2^k).
    pub cost: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub target: Target,
    pub samples: usize,
    pub max_logrows: u32,
    /// The error bound the `resources` target used.
    pub max_error: ErrorBound,
    pub margin: f64,
    pub chosen: Option<Scales>,
    pub error: Option<ErrorStats>,
    /// What tract, running the ONNX file, said of the float reference (the IR in floating point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<crate::reference::CrossCheck>,
    /// Every candidate tried, in the order the search tried them.
    pub candidates: Vec<Candidate>,
}

/// Roughly the memory one candidate holds while it is built and measured: its plan (every
/// term of every sum, and the products' copies) and every node's values on every sample.
pub fn candidate_bytes(graph: &Graph, samples: &Samples) -> u64 {
    let terms = crate::quant::planned_terms(graph) as u64;
    let values: u64 = graph.nodes.iter().map(|n| n.shape.iter().product::<usize>() as u64).sum();
    terms * 32 + values * 16 * samples.inputs.len() as u64
}

/// Search the scales for the target. Returns the chosen settings and plan, and the report.
/// `progress(total)` is called once per candidate tried, `total` the most the search may try.
pub fn calibrate(
    graph: &Graph,
    model_sha256: &str,
    samples: &Samples,
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Settings, QuantPlan, Report)> {
    if samples.inputs.is_empty() {
        return Err(CompileError::Plan("the calibration data holds no samples".into()));
    }
    let ranges = input_ranges(graph, samples, opts.margin);
    let found = search::search(graph, &ranges, samples, opts, progress);
    let mut report = Report {
        target: opts.target,
        samples: samples.inputs.len(),
        max_logrows: opts.max_logrows,
        max_error: opts.max_error,
        margin: opts.margin,
        chosen: None,
        error: None,
        reference: None,
        candidates: found.tried,
    };
    let Some((index, bits)) = found.best else {
        return Err(CompileError::Plan(no_candidate_message(&report)));
    };
    let scales = report.candidates[index].scales.clone();
    let (settings, plan) = crate::plan_settings(
        graph,
        model_sha256,
        scales.clone(),
        ranges,
        &bits,
        opts.visibility.clone(),
        opts.layout,
        opts.max_logrows,
    )?;
    if let Outcome::Accepted { error, .. } = &report.candidates[index].outcome {
        report.error = Some(error.clone());
    }
    report.chosen = Some(scales);
    Ok((settings, plan, report))
}

/// Why nothing was chosen, and what to do about it.
fn no_candidate_message(report: &Report) -> String {
    let best = report
        .candidates
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::Rejected { error, reason } => Some((c, error.max_abs, reason)),
            _ => None,
        })
        .min_by(|a, b| a.1.total_cmp(&b.1));
    match best {
        Some((c, err, reason)) => format!(
            "no settings keep the error within {} with top-1 agreement; the most accurate (scales 2^{}/2^{}) has max error {err:.4} \
             and was rejected: {reason}; give a larger --max-error (absolute) or --max-rel-error, or use --target accuracy",
            report.max_error, c.scales.input, c.scales.param
        ),
        None => {
            let reason = report
                .candidates
                .iter()
                .find_map(|c| match &c.outcome {
                    Outcome::Infeasible { reason } => Some(reason.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            if reason.contains("rows") {
                format!("no scales give a circuit within 2^{} rows ({reason}); raise --max-logrows", report.max_logrows)
            } else {
                format!("no scales work for this model and data: {reason}")
            }
        }
    }
}

#[cfg(test)]
mod tests;
