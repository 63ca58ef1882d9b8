//! Calibration: measure what real data does to the model, then search the settings (scales,
//! ranges, and through the planner the columns, lookup bits and k) for a target.
//!
//! For each candidate pair of scales the integer evaluator runs on every sample without range
//! limits; every rescale's range is set from the largest value seen, widened by a margin; the plan
//! with those ranges is laid out (cost, k) and run again to measure its error against the float
//! model. Every candidate is kept in the report with its cost and error, or why it was rejected.

mod error;

pub use error::{ErrorBound, ErrorStats, OutputError};

use crate::circuit::plan::choose_layout_for;
use crate::error::{CompileError, Result};
use crate::ir::Graph;
use crate::quant::eval::{evaluate, evaluate_observed};
use crate::quant::{bit_len, quantize, InputRange, QuantPlan, RangeBits, Scales};
use crate::settings::Settings;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Calibrated ranges cover at least |x| < 2^MIN_RANGE_BITS.
const MIN_RANGE_BITS: u32 = 1;

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
    Accepted(Measured),
    /// Measured, but it misses the target's bound.
    Rejected {
        measured: Box<Measured>,
        reason: String,
    },
    /// Could not be built at all.
    Infeasible {
        reason: String,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measured {
    pub k: u32,
    pub rows: usize,
    pub advice: usize,
    pub lookup_lanes: usize,
    /// Estimated prover work (committed columns × 2^k).
    pub cost: f64,
    pub error: ErrorStats,
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
    pub candidates: Vec<Candidate>,
}

/// Input ranges from the data, widened by the margin.
pub fn input_ranges(samples: &Samples, margin: f64) -> Vec<InputRange> {
    let n_inputs = samples.inputs.first().map_or(0, |s| s.len());
    (0..n_inputs)
        .map(|i| {
            let all = samples.inputs.iter().flat_map(|s| s[i].iter().copied());
            let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
            let pad = margin * lo.abs().max(hi.abs()).max(1e-3);
            InputRange { min: lo - pad, max: hi + pad }
        })
        .collect()
}

fn quantize_inputs(sample: &[Vec<f64>], scale: u32) -> Vec<Vec<i128>> {
    sample.iter().map(|x| x.iter().map(|&v| quantize(v, scale)).collect()).collect()
}

/// One evaluation pass over the samples without range limits: the range bits of every rescale
/// and lookup input (the largest |y| seen, before any ReLU, widened by the margin) and the model
/// outputs. Range bits of rescales only decide which values are refused, never the values, so
/// without lookups these outputs are the ones the plan with the chosen bits gives too.
fn observe(
    graph: &Graph,
    scales: &Scales,
    ranges: &[InputRange],
    samples: &Samples,
    margin: f64,
) -> Result<(RangeBits, Vec<Vec<Vec<f64>>>)> {
    let unbounded = QuantPlan::build_unbounded(graph, scales, ranges)?;
    let mut max = vec![0i128; graph.nodes.len()];
    let mut outputs = Vec::with_capacity(samples.inputs.len());
    for sample in &samples.inputs {
        let mut record = |node: usize, y: i128| max[node] = max[node].max(y.abs());
        let values = evaluate_observed(graph, &unbounded, &quantize_inputs(sample, scales.input), &mut record)
            .map_err(|e| CompileError::Plan(e.to_string()))?;
        outputs.push(dequantized_outputs(graph, &unbounded, &values));
    }
    let degrees = input_degrees(graph, &unbounded);
    let bits = graph
        .nodes
        .iter()
        .zip(&unbounded.nodes)
        .enumerate()
        .filter(|(_, (_, q))| q.requant.is_some() || matches!(q.op, crate::quant::QOp::Lookup { .. }))
        .map(|(id, (node, _))| {
            // An input larger by the margin moves a product of two activations by its square.
            let widened = (max[id] as f64 * (1.0 + margin).powi(degrees[id] as i32)).ceil() as u128;
            // Every range covers at least ±2 (real units): a value that was near 0 on every
            // sample (a difference inside a max, say) can be larger on the next input, and a wider
            // range check costs nothing at this size.
            (node.name.clone(), bit_len(widened).max(scales.input + MIN_RANGE_BITS))
        })
        .collect();
    Ok((bits, outputs))
}

/// How each node's value grows with the inputs' magnitude (polynomial degree, capped at 3): 2 for
/// a product of two activations, 1 after a lookup or a rescaled division (bounded functions).
fn input_degrees(graph: &Graph, plan: &QuantPlan) -> Vec<u32> {
    use crate::quant::QOp;
    let mut deg: Vec<u32> = Vec::with_capacity(graph.nodes.len());
    for (node, q) in graph.nodes.iter().zip(&plan.nodes) {
        let of = |i: usize| deg[node.inputs[i]];
        let d = match &q.op {
            QOp::Input { .. } | QOp::Lookup { .. } | QOp::Div(_) => 1,
            QOp::Mul { .. } => of(0) + of(1),
            _ => (0..node.inputs.len()).map(of).max().unwrap_or(1),
        };
        deg.push(d.clamp(1, 3));
    }
    deg
}

fn dequantized_outputs(graph: &Graph, plan: &QuantPlan, values: &[Vec<i128>]) -> Vec<Vec<f64>> {
    graph
        .outputs
        .iter()
        .map(|&o| {
            let unit = (plan.nodes[o].scale as f64).exp2();
            values[o].iter().map(|&v| v as f64 / unit).collect()
        })
        .collect()
}

/// A candidate built: its ranges and measurements (not its plan: a large model's plan is
/// gigabytes, and only the chosen candidate's is built again).
type Built = (RangeBits, Measured);

/// One candidate, fully built: plan with observed ranges, layout, error.
fn try_candidate(
    graph: &Graph,
    scales: &Scales,
    ranges: &[InputRange],
    samples: &Samples,
    opts: &Options,
) -> Result<Built> {
    let (bits, observed) = observe(graph, scales, ranges, samples, opts.margin)?;
    let plan = QuantPlan::build(graph, scales, ranges, &bits, opts.visibility.weights())?;
    // Function tables are sized from the ranges (a wider range is a coarser table), so with
    // lookups the outputs are measured again with the ranges chosen.
    let outputs = if plan.tables.is_empty() {
        observed
    } else {
        samples
            .inputs
            .iter()
            .map(|sample| {
                let values = evaluate(graph, &plan, &quantize_inputs(sample, scales.input))
                    .map_err(|e| CompileError::Plan(e.to_string()))?;
                Ok(dequantized_outputs(graph, &plan, &values))
            })
            .collect::<Result<Vec<_>>>()?
    };
    let layout = choose_layout_for(graph, &plan, &opts.visibility, opts.max_logrows, opts.layout)?;
    // As `plan_settings` will: no value as wide as the circuit allows may overflow.
    plan.check_capacity(graph, layout.shape.mag_bits())?;
    let error = ErrorStats::compare(&outputs, &samples.float_outputs);
    let measured = Measured {
        k: layout.shape.k,
        rows: layout.rows,
        advice: layout.shape.advice,
        lookup_lanes: layout.shape.lanes(),
        cost: layout.cost,
        error,
    };
    Ok((bits, measured))
}

/// Search the scales for the target. Returns the chosen settings and plan, and the report.
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
    let ranges = input_ranges(samples, opts.margin);
    // Table sizes are searched only when the model has function tables.
    let has_tables = graph.nodes.iter().any(|n| matches!(n.op, crate::ir::Op::Func { .. }));
    let table_bits: Vec<u32> =
        if has_tables { opts.table_bits.clone() } else { vec![crate::quant::DEFAULT_TABLE_BITS] };
    let grid: Vec<Scales> = opts
        .scales
        .clone()
        .flat_map(|i| opts.scales.clone().map(move |p| (i, p)))
        .flat_map(|(i, p)| table_bits.iter().map(move |&t| Scales { input: i, param: p, table_bits: t }))
        .collect();
    let total = grid.len() as u64;
    let results: Vec<(Scales, Result<Built>)> = grid
        .into_par_iter()
        .map(|scales| {
            let r = try_candidate(graph, &scales, &ranges, samples, opts);
            progress(total);
            (scales, r)
        })
        .collect();

    let mut candidates = vec![];
    let mut best: Option<(usize, RangeBits)> = None;
    let better = |a: &Measured, b: &Measured| match opts.target {
        Target::Resources => (a.cost, a.k, a.error.max_abs) < (b.cost, b.k, b.error.max_abs),
        Target::Accuracy => (a.error.max_abs, a.cost) < (b.error.max_abs, b.cost),
    };
    for (scales, result) in results {
        let outcome = match result {
            Err(e) => Outcome::Infeasible { reason: e.to_string() },
            Ok((bits, measured)) => {
                // Outputs that carry no signal are never accepted, whatever the bound.
                let flat = measured.error.outputs.iter().position(|o| o.flat);
                let rejection = match (opts.target, measured.error.over(opts.max_error), flat) {
                    (_, _, Some(o)) => Some(format!("output {o} is one value on every sample (no signal)")),
                    (Target::Resources, Some((o, err, bound)), _) => {
                        Some(format!("output {o}: max error {err:.4} over the bound {bound:.4}"))
                    }
                    (Target::Resources, _, _) if measured.error.top1_agreement() < 1.0 => Some(format!(
                        "top-1 class agrees on {:.0}% of samples",
                        100.0 * measured.error.top1_agreement()
                    )),
                    _ => None,
                };
                match rejection {
                    Some(reason) => Outcome::Rejected { measured: Box::new(measured), reason },
                    None => {
                        let is_better = match &best {
                            None => true,
                            Some((i, _)) => match &candidates.get(*i) {
                                Some(Candidate { outcome: Outcome::Accepted(b), .. }) => better(&measured, b),
                                _ => true,
                            },
                        };
                        if is_better {
                            best = Some((candidates.len(), bits));
                        }
                        Outcome::Accepted(measured)
                    }
                }
            }
        };
        candidates.push(Candidate { scales, outcome });
    }

    let mut report = Report {
        target: opts.target,
        samples: samples.inputs.len(),
        max_logrows: opts.max_logrows,
        max_error: opts.max_error,
        margin: opts.margin,
        chosen: None,
        error: None,
        reference: None,
        candidates,
    };
    let Some((index, bits)) = best else {
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
    if let Outcome::Accepted(m) = &report.candidates[index].outcome {
        report.error = Some(m.error.clone());
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
            Outcome::Rejected { measured, reason } => Some((c, measured.error.max_abs, reason)),
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
