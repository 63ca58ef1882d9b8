//! One candidate: the ranges real data takes at these scales, the plan they give, its error
//! against the float model and (when the search needs it) the circuit it lays out.

use super::{ErrorStats, Options, Outcome, Samples, Size, Target};
use crate::circuit::plan::choose_layout_for;
use crate::error::{CompileError, Result};
use crate::ir::Graph;
use crate::quant::eval::{evaluate, evaluate_observed};
use crate::quant::{bit_len, quantize, InputRange, QuantPlan, RangeBits, Scales};
use rayon::prelude::*;

/// Calibrated ranges cover at least |x| < 2^MIN_RANGE_BITS.
const MIN_RANGE_BITS: u32 = 1;

/// What a candidate tells the search, besides its outcome.
pub(super) enum Verdict {
    /// It meets the target (the ranges it measured, to build the settings from).
    Good(RangeBits),
    /// Its error misses the bound, its outputs carry no signal, or the data cannot be
    /// evaluated at these scales (a divisor rounded to 0): finer scales may do.
    TooCoarse,
    /// It overflows the field or the row budget: coarser scales may fit.
    TooLarge,
}

/// Input ranges from the data, widened by the margin; an index input's is its axis, whatever
/// the data.
pub fn input_ranges(graph: &Graph, samples: &Samples, margin: f64) -> Vec<InputRange> {
    graph
        .inputs()
        .enumerate()
        .map(|(i, (_, node))| {
            if let Some(fixed) = crate::fixed_input_range(node) {
                return fixed;
            }
            let all = samples.inputs.iter().flat_map(|s| s[i].iter().copied());
            let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
            let pad = margin * lo.abs().max(hi.abs()).max(1e-3);
            InputRange { min: lo - pad, max: hi + pad }
        })
        .collect()
}

/// A sample quantized, each input at its kind's scale.
fn quantize_inputs(graph: &Graph, sample: &[Vec<f64>], scales: &Scales) -> Vec<Vec<i128>> {
    sample
        .iter()
        .zip(graph.inputs())
        .map(|(x, (_, node))| {
            let s = crate::input_kind(node).scale(scales.input);
            x.iter().map(|&v| quantize(v, s)).collect()
        })
        .collect()
}

/// Per sample, per model output, the dequantized values.
type Outputs = Vec<Vec<Vec<f64>>>;

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
) -> std::result::Result<(RangeBits, Outputs), Verdict> {
    let unbounded = QuantPlan::build_unbounded(graph, scales, ranges).map_err(|_| Verdict::TooLarge)?;
    let per_sample: Vec<(Vec<i128>, Vec<Vec<f64>>)> = samples
        .inputs
        .par_iter()
        .map(|sample| {
            let mut max = vec![0i128; graph.nodes.len()];
            let mut record = |node: usize, y: i128| max[node] = max[node].max(y.abs());
            let values = evaluate_observed(graph, &unbounded, &quantize_inputs(graph, sample, scales), &mut record)
                .map_err(|_| Verdict::TooCoarse)?;
            Ok((max, dequantized_outputs(graph, &unbounded, &values)))
        })
        .collect::<std::result::Result<_, Verdict>>()?;
    let mut max = vec![0i128; graph.nodes.len()];
    let mut outputs = Vec::with_capacity(per_sample.len());
    for (m, out) in per_sample {
        max.iter_mut().zip(m).for_each(|(a, b)| *a = (*a).max(b));
        outputs.push(out);
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

/// Why `error` misses the target, if it does. Outputs that carry no signal are never accepted,
/// whatever the bound.
fn rejection(error: &ErrorStats, opts: &Options) -> Option<String> {
    if let Some(o) = error.outputs.iter().position(|o| o.flat) {
        return Some(format!("output {o} is one value on every sample (no signal)"));
    }
    if opts.target == Target::Accuracy {
        return None;
    }
    if let Some((o, err, bound)) = error.over(opts.max_error) {
        return Some(format!("output {o}: max error {err:.4} over the bound {bound:.4}"));
    }
    (error.top1_agreement() < 1.0)
        .then(|| format!("top-1 class agrees on {:.0}% of samples", 100.0 * error.top1_agreement()))
}

/// Build and measure one candidate: plan with observed ranges, its error, and for one that
/// meets the target's error its layout.
pub(super) fn try_candidate(
    graph: &Graph,
    scales: &Scales,
    ranges: &[InputRange],
    samples: &Samples,
    opts: &Options,
) -> (Outcome, Verdict) {
    let infeasible = |e: CompileError, verdict| (Outcome::Infeasible { reason: e.to_string() }, verdict);
    let (bits, observed) = match observe(graph, scales, ranges, samples, opts.margin) {
        Ok(found) => found,
        Err(verdict) => {
            // Build again for the reason (the search's hot path does not format errors).
            let reason = match QuantPlan::build_unbounded(graph, scales, ranges) {
                Err(e) => e.to_string(),
                Ok(p) => samples
                    .inputs
                    .iter()
                    .find_map(|s| evaluate(graph, &p, &quantize_inputs(graph, s, scales)).err())
                    .map_or_else(String::new, |e| e.to_string()),
            };
            return (Outcome::Infeasible { reason }, verdict);
        }
    };
    let plan = match QuantPlan::build_candidate(graph, scales, ranges, &bits, opts.visibility.weights()) {
        Ok(plan) => plan,
        Err(e) => return infeasible(e, Verdict::TooLarge),
    };
    // Function tables are sized from the ranges (a wider range is a coarser table), so with
    // lookups the outputs are measured again with the ranges chosen.
    let outputs = if plan.tables.is_empty() {
        observed
    } else {
        let measured: Result<Outputs> = samples
            .inputs
            .par_iter()
            .map(|sample| {
                let values = evaluate(graph, &plan, &quantize_inputs(graph, sample, scales))
                    .map_err(|e| CompileError::Plan(e.to_string()))?;
                Ok(dequantized_outputs(graph, &plan, &values))
            })
            .collect();
        match measured {
            Ok(outputs) => outputs,
            Err(e) => return infeasible(e, Verdict::TooCoarse),
        }
    };
    let error = ErrorStats::compare(&outputs, &samples.float_outputs);
    if let Some(reason) = rejection(&error, opts) {
        return (Outcome::Rejected { error: Box::new(error), reason }, Verdict::TooCoarse);
    }
    let layout = match choose_layout_for(graph, &plan, &opts.visibility, opts.max_logrows, opts.layout) {
        Ok(layout) => layout,
        Err(e) => return infeasible(e, Verdict::TooLarge),
    };
    // As `plan_settings` will: no value as wide as the circuit allows may overflow.
    if let Err(e) = plan.check_capacity(graph, layout.shape.mag_bits()) {
        return infeasible(e, Verdict::TooLarge);
    }
    let size = Size {
        k: layout.shape.k,
        rows: layout.rows,
        advice: layout.shape.advice,
        lookup_lanes: layout.shape.lanes(),
        cost: layout.cost,
    };
    (Outcome::Accepted { size, error }, Verdict::Good(bits))
}
