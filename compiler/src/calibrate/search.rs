//! The search over scales: a walk along the boundary of the good candidates, not the whole grid.
//!
//! Finer scales (larger exponents) lower the error and raise the cost, so on the grid of
//! (input scale, weight scale) the candidates within the error bound are an upper set and those
//! that fit the row budget a lower set. The cheapest candidate within the bound lies on the
//! lower edge of the first; the most accurate one that fits on the upper edge of the second.
//! A staircase walk traces either edge in at most |inputs| + |weights| steps (26 where the full
//! grid is 169), once per table size (in parallel). For `resources`, a short climb from the best
//! then takes finer scales while the cost stays the same (more accuracy for free).

use super::candidate::{try_candidate, Verdict};
use super::{Candidate, Options, Outcome, Samples, Target};
use crate::ir::Graph;
use crate::quant::{InputRange, RangeBits, Scales};
use rayon::prelude::*;

/// What the search found: every candidate tried, and the best (its index and ranges).
pub(super) struct Found {
    pub tried: Vec<Candidate>,
    pub best: Option<(usize, RangeBits)>,
}

/// Which way the walk goes after a candidate.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    /// A finer input scale.
    Finer,
    /// A coarser weight scale.
    Cheaper,
}

fn step(target: Target, verdict: &Verdict) -> Step {
    match (target, verdict) {
        (_, Verdict::TooLarge) | (Target::Resources, Verdict::Good(_)) => Step::Cheaper,
        (_, Verdict::TooCoarse) | (Target::Accuracy, Verdict::Good(_)) => Step::Finer,
    }
}

/// Whether `a` beats `b` for the target.
fn better(target: Target, a: &Outcome, b: &Outcome) -> bool {
    match (a, b) {
        (Outcome::Accepted { size: sa, error: ea }, Outcome::Accepted { size: sb, error: eb }) => match target {
            Target::Resources => (sa.cost, sa.k, ea.max_abs) < (sb.cost, sb.k, eb.max_abs),
            Target::Accuracy => (ea.max_abs, sa.cost) < (eb.max_abs, sb.cost),
        },
        (Outcome::Accepted { .. }, _) => true,
        _ => false,
    }
}

type Tried = Vec<(Candidate, Verdict)>;

/// Try one candidate.
type Probe<'a> = dyn Fn(Scales) -> (Candidate, Verdict) + Sync + 'a;

pub(super) fn search(
    graph: &Graph,
    ranges: &[InputRange],
    samples: &Samples,
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Found {
    // Table sizes are searched only when the model has function tables.
    let has_tables = graph.nodes.iter().any(|n| matches!(n.op, crate::ir::Op::Func { .. }));
    let table_bits: Vec<u32> =
        if has_tables { opts.table_bits.clone() } else { vec![crate::quant::DEFAULT_TABLE_BITS] };
    let axis: Vec<u32> = opts.scales.clone().collect();
    let climb = if opts.target == Target::Resources { 2 * axis.len() } else { 0 };
    let total = (table_bits.len() * 2 * axis.len() + climb) as u64;
    let probe = |scales: Scales| {
        let (outcome, verdict) = try_candidate(graph, &scales, ranges, samples, opts);
        progress(total);
        (Candidate { scales, outcome }, verdict)
    };
    let walk = |t: u32| staircase(&axis, t, opts.target, &probe);
    // One walk per table size; as many at once as memory allows.
    let walks: Vec<Tried> = match rayon::ThreadPoolBuilder::new().num_threads(opts.parallel.max(1)).build() {
        Ok(pool) if opts.parallel > 1 => pool.install(|| table_bits.par_iter().map(|&t| walk(t)).collect()),
        _ => table_bits.iter().map(|&t| walk(t)).collect(),
    };
    let mut tried: Tried = walks.into_iter().flatten().collect();
    let best_of = |tried: &Tried| {
        (0..tried.len()).filter(|&i| matches!(tried[i].1, Verdict::Good(_))).reduce(|a, b| {
            if better(opts.target, &tried[b].0.outcome, &tried[a].0.outcome) {
                b
            } else {
                a
            }
        })
    };
    if opts.target == Target::Resources {
        // Climb from the best while a finer neighbour costs no more.
        let mut budget = climb;
        while let Some(at) = best_of(&tried) {
            let s = tried[at].0.scales.clone();
            let next = |d: (u32, u32)| Scales { input: s.input + d.0, param: s.param + d.1, table_bits: s.table_bits };
            let fresh: Vec<Scales> = [next((1, 0)), next((0, 1))]
                .into_iter()
                .filter(|n| opts.scales.contains(&n.input) && opts.scales.contains(&n.param))
                .filter(|n| !tried.iter().any(|(c, _)| c.scales == *n))
                .collect();
            if fresh.is_empty() || budget < fresh.len() {
                break;
            }
            budget -= fresh.len();
            tried.extend(fresh.into_iter().map(&probe));
            if best_of(&tried) == Some(at) {
                break;
            }
        }
    }
    let best = best_of(&tried);
    let mut bits = None;
    let candidates = tried
        .into_iter()
        .enumerate()
        .map(|(i, (c, verdict))| {
            if let (true, Verdict::Good(b)) = (Some(i) == best, verdict) {
                bits = Some((i, b));
            }
            c
        })
        .collect();
    Found { tried: candidates, best: bits }
}

/// The staircase walk for table size `t`: from the coarsest input and finest weight scale, step
/// as each candidate says until either axis runs out. Where the walk would take many single
/// steps it bisects instead (for `resources`): along the first row, at the finest weights, for
/// the coarsest input scale that is not too coarse; and down a column of good candidates for the
/// lowest good weight scale: about log2(13) candidates each, not one per scale.
///
/// A row below the finest weights that stops improving ends the walk: when finer input scales no
/// longer lower the error at this weight scale (twice in a row, by less than `STALE`), the weights
/// limit it, and the rest of the row costs more for nothing.
fn staircase(axis: &[u32], t: u32, target: Target, probe: &Probe) -> Tried {
    const STALE: f64 = 0.95;
    let n = axis.len();
    let mut tried: Tried = vec![];
    // The candidate at input index i and weight index p, tried once: its index in `tried`.
    let fetch = |tried: &mut Tried, i: usize, p: usize| {
        let scales = Scales { input: axis[i], param: axis[p], table_bits: t };
        match tried.iter().position(|(c, _)| c.scales == scales) {
            Some(k) => k,
            None => {
                tried.push(probe(scales));
                tried.len() - 1
            }
        }
    };
    let good = |v: &Verdict| matches!(v, Verdict::Good(_));
    // Bisect for the first index in lo..hi where `ok` holds (hi if none), assuming it holds
    // from some index on.
    let bisect = |tried: &mut Tried,
                  (mut lo, mut hi): (usize, usize),
                  at: &dyn Fn(usize) -> (usize, usize),
                  ok: &dyn Fn(&Verdict) -> bool| {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (i, p) = at(mid);
            let k = fetch(tried, i, p);
            if ok(&tried[k].1) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        hi
    };
    // `p` is one past the weight scale to try next.
    let (mut i, mut p) = (0usize, n);
    if target == Target::Resources {
        i = bisect(&mut tried, (0, n), &|i| (i, n - 1), &|v| !matches!(v, Verdict::TooCoarse));
    }
    let (mut row_error, mut stale) = (None::<f64>, 0);
    while i < n && p > 0 {
        let k = fetch(&mut tried, i, p - 1);
        let (candidate, verdict) = &tried[k];
        // At the finest weight scale the weights limit nothing: only rows below it go stale.
        if let (Outcome::Rejected { error, .. }, true) = (&candidate.outcome, p < n) {
            stale = if row_error.is_some_and(|e| error.max_abs > STALE * e) { stale + 1 } else { 0 };
            row_error = Some(error.max_abs);
        }
        if target == Target::Resources && good(verdict) {
            // Good at p - 1: the lowest good weight scale of this column, then one finer input,
            // one weight scale below it.
            let column = i;
            let lowest = bisect(&mut tried, (0, p - 1), &|p| (column, p), &good);
            (i, p) = (i + 1, lowest);
            (row_error, stale) = (None, 0);
            continue;
        }
        match step(target, verdict) {
            Step::Finer => i += 1,
            Step::Cheaper => {
                p -= 1;
                (row_error, stale) = (None, 0);
            }
        }
        if stale >= 2 {
            break;
        }
    }
    tried
}
