//! The layout planner: picks the advice width, k and lookup bits for a plan by counting the rows
//! each width needs and estimating the prover's work for it.

use super::lower::commitment_rows;
use super::shape::{range_widths_of, Chip, ChipSet, CircuitShape};
use crate::chips::lookup::table_rows;
use crate::chips::{freivalds, param_dot};
use crate::error::{CompileError, Result};
use crate::ir::Graph;
use crate::quant::params::Weights;
use crate::quant::{bit_len, Linear, QOp, QuantPlan, Requant};
use crate::settings::{LayoutGoal, LayoutOptions, Mode, Stacking, Visibility};

/// Widths the planner tries.
const ADVICE_CHOICES: std::ops::RangeInclusive<usize> = CircuitShape::MIN_ADVICE..=CircuitShape::MAX_ADVICE;

#[derive(Clone, Debug)]
pub struct Layout {
    pub shape: CircuitShape,
    pub rows: usize,
    pub cost: f64,
}

/// Work per committed column that does not shrink with k: its commitment and openings, in the
/// proof and in verification. It keeps small circuits from buying a smaller k with many columns.
const COLUMN_OVERHEAD: f64 = 4096.0;

/// The prover's main cost, committed polynomials × rows: advice and limb columns, three per lookup
/// (permuted input, permuted table, product), and the permutation's products (three columns each
/// at this gate degree); plus a fixed overhead per column.
pub fn cost(shape: &CircuitShape) -> f64 {
    let advice = shape.advice_columns() + shape.phase2_columns();
    let columns = advice + shape.lane_columns() + 3 * shape.lane_columns() + (advice + 1).div_ceil(3);
    ((1u64 << shape.k) as f64 + COLUMN_OVERHEAD) * columns as f64
}

/// Rows the lowering takes with `advice` columns, counted without building the trace: a dot of n
/// terms takes ceil(n / (advice - 1)) rows, affine ops pack advice / 2 to a row and products
/// advice / 3, every requant takes one; with `freivalds`, the layers a random check proves
/// better take its rows. (`lower`'s tests check the count against real traces.)
pub fn count_rows(graph: &Graph, plan: &QuantPlan, advice: usize, freivalds: bool) -> usize {
    let (mut rows, mut affines, mut products) = (0usize, 0usize, 0usize);
    if plan.weights == Weights::Witness {
        // The params commitment's first element, the weights' scale (a constant wire).
        affines += 1;
    }
    let mut one = false;
    for (node, q) in graph.nodes.iter().zip(&plan.nodes) {
        let outputs: usize = node.shape.iter().product();
        match &q.op {
            // Witnessed weights: a range-check row for each, then a dot of (x, w) pairs per output,
            // with the bias as the pair (b, 1).
            QOp::Linear(lin @ Linear { params: Some(p), .. }) => {
                rows += p.tensors().map(|t| t.values.len()).sum::<usize>();
                let bias = p.bias.is_some() as usize;
                one |= bias == 1;
                rows +=
                    lin.row_lengths().iter().map(|&(len, n)| n * param_dot::rows(len + bias, advice)).sum::<usize>();
            }
            QOp::Linear(lin @ Linear { product: Some(p), .. }) if freivalds && freivalds::prefers(lin, advice) => {
                rows += freivalds::rows(p, advice);
                one |= p.bias.iter().any(|&b| b != 0);
            }
            QOp::Linear(lin) => {
                let (dots, single) = lin.dot_layout(advice);
                (rows, affines) = (rows + dots, affines + single);
            }
            QOp::Mul { .. } => products += outputs,
            QOp::Max { .. } => rows += outputs,
            QOp::Copy { consts, .. } => affines += consts.len(),
            // A split exp: rescale, dot row, two lookups, product, rescale.
            QOp::Lookup { split: Some(_), .. } => {
                rows += 5 * outputs;
                products += outputs;
            }
            QOp::Lookup { reduce, .. } => rows += outputs * if reduce.shift > 0 { 2 } else { 1 },
            QOp::Div(_) | QOp::Sqrt { .. } => rows += 2 * outputs,
            // The range check of [lo, hi].
            QOp::Input { .. } => rows += outputs,
        }
        if q.requant.is_some() {
            rows += outputs;
        }
    }
    // The constant wire 1 of the biases.
    affines += one as usize;
    rows + affines.div_ceil(advice / 2) + products.div_ceil(advice / 3)
}

/// The arithmetic chips the lowering of a plan uses (with the commitments of a visibility), with
/// `advice` columns and, if `freivalds`, random checks where they take fewer rows.
pub fn chips_used(plan: &QuantPlan, visibility: &Visibility, advice: usize, freivalds: bool) -> ChipSet {
    let mut set = ChipSet::none().with(Chip::Input);
    // Commitments pack on the dot gate (a params commitment of no weights packs nothing); the
    // params commitment's scale is a constant.
    let packs_params = visibility.params == Mode::Hashed && plan.param_tensors().next().is_some();
    if visibility.input == Mode::Hashed || visibility.output == Mode::Hashed || packs_params {
        set = set.with(Chip::Dot);
    }
    if plan.weights == Weights::Witness {
        set = set.with(Chip::Affine);
    }
    if requant_rows(plan).next().is_some() {
        set = set.with(Chip::Requant);
    }
    for q in &plan.nodes {
        set = match &q.op {
            QOp::Linear(Linear { params: Some(p), .. }) if p.bias.is_some() => set.with(Chip::Affine),
            QOp::Linear(Linear { params: Some(_), .. }) => set,
            QOp::Linear(lin @ Linear { product: Some(p), .. }) if freivalds && freivalds::prefers(lin, advice) => {
                let set = set.with(Chip::Freivalds);
                // The constant 1 the biases' fold reads.
                if p.bias.iter().any(|&b| b != 0) {
                    set.with(Chip::Affine)
                } else {
                    set
                }
            }
            QOp::Linear(lin) => lin.row_lengths().iter().fold(set, |s, &(len, _)| match len {
                1 => s.with(Chip::Affine),
                _ => s.with(Chip::Dot),
            }),
            QOp::Mul { .. } => set.with(Chip::Mul),
            QOp::Max { .. } => set.with(Chip::Max),
            QOp::Copy { consts, .. } if !consts.is_empty() => set.with(Chip::Affine),
            // A split exp: a dot row, a product.
            QOp::Lookup { split: Some(_), .. } => set.with(Chip::Dot).with(Chip::Mul),
            QOp::Div(_) => set.with(Chip::Div),
            QOp::Sqrt { .. } => set.with(Chip::Sqrt),
            QOp::Input { .. } | QOp::Copy { .. } | QOp::Lookup { .. } => set,
        };
    }
    set
}

/// Whether some layer of the plan is proven in fewer rows by a random check with `advice` columns.
pub fn plan_prefers_freivalds(plan: &QuantPlan, advice: usize) -> bool {
    plan.nodes.iter().any(|q| matches!(&q.op, QOp::Linear(lin) if freivalds::prefers(lin, advice)))
}

/// What the lookup lanes must hold for a plan: every rescale's shift (remainder lanes), every
/// range-checked magnitude (magnitude lanes), and the remainders of divisions and roots (all lanes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneNeeds {
    pub shift_bits: u32,
    pub mag_bits: u32,
    pub lane_bits: u32,
}

/// Every requant row a plan lays out: each node's rescale, and a lookup's range reduction and a
/// split exp's product rescale.
pub fn requant_rows(plan: &QuantPlan) -> impl Iterator<Item = Requant> + '_ {
    let reduces = plan.nodes.iter().flat_map(|n| match n.op {
        QOp::Lookup { reduce, split, .. } if reduce.shift > 0 => vec![Some(reduce), split.map(|s| s.out)],
        _ => vec![],
    });
    plan.nodes.iter().filter_map(|n| n.requant).chain(reduces.flatten())
}

/// The range table's widths for a plan at `lookup_bits`: the partial lanes of every requant's
/// remainder (its shift) and magnitude (its range bits).
pub fn range_widths(plan: &QuantPlan, lookup_bits: u32) -> u32 {
    range_widths_of(lookup_bits, requant_rows(plan).flat_map(|r| [r.shift, r.bits]))
}

impl LaneNeeds {
    pub fn of(graph: &Graph, plan: &QuantPlan) -> LaneNeeds {
        let (mut shift_bits, mag_bits) = requant_rows(plan).fold((0, 1), |(s, b), r| (s.max(r.shift), b.max(r.bits)));
        let bound = |i: usize| plan.nodes[i].bound;
        let (mut mag_bits, mut lane_bits) = (mag_bits, 0);
        for (n, q) in graph.nodes.iter().zip(&plan.nodes) {
            match q.op {
                // A max row writes |a - b| in the magnitude lanes.
                QOp::Max { .. } => mag_bits = mag_bits.max(bit_len((bound(n.inputs[0]) + bound(n.inputs[1])) as u128)),
                // Remainder and slack of a division hold 2b for its divisor b; of a root, 2s.
                QOp::Div(_) => {
                    lane_bits = lane_bits.max(bit_len(2 * bound(n.inputs[n.inputs.len() - 1]).max(1) as u128))
                }
                QOp::Sqrt { .. } => lane_bits = lane_bits.max(bit_len(2 * q.bound.max(1) as u128)),
                // An input's distances to both ends of its range, one in each group of lanes.
                QOp::Input { lo, hi, .. } => {
                    let w = bit_len((hi - lo) as u128);
                    (shift_bits, mag_bits) = (shift_bits.max(w), mag_bits.max(w));
                }
                // A witnessed weight's range check is the input chip's row over its width.
                QOp::Linear(Linear { params: Some(ref p), .. }) => {
                    let w = p.tensors().map(|t| t.bits).max().unwrap_or(0);
                    (shift_bits, mag_bits) = (shift_bits.max(w), mag_bits.max(w));
                }
                _ => {}
            }
        }
        LaneNeeds { shift_bits, mag_bits, lane_bits }
    }

    /// Whether a circuit shape holds them.
    pub fn fit(&self, shape: &CircuitShape) -> bool {
        shape.rem_bits() >= self.shift_bits && shape.mag_bits() >= self.mag_bits && shape.lane_bits() >= self.lane_bits
    }
}

/// The layout that proves fastest (the default options; tests plan with it).
#[cfg(test)]
pub fn choose_layout(graph: &Graph, plan: &QuantPlan, visibility: &Visibility, max_k: u32) -> Result<Layout> {
    choose_layout_for(graph, plan, visibility, max_k, LayoutOptions::default())
}

/// A layout family the planner tries: advice width, random checks, stacked rows.
struct Candidate {
    advice: usize,
    random: bool,
    stacked: bool,
}

/// The layout that best meets `goal`: for the prover, the least estimated proving work; for an
/// EVM verifier, the fewest commitments that fit in 2^max_k rows: stacked rows of the narrowest
/// width that fits, else the fewest advice columns (then the least work), with random checks only
/// where nothing fits without them.
pub fn choose_layout_for(
    graph: &Graph,
    plan: &QuantPlan,
    visibility: &Visibility,
    max_k: u32,
    options: LayoutOptions,
) -> Result<Layout> {
    let goal = options.goal;
    let random_checks = |advice| options.random_checks && plan_prefers_freivalds(plan, advice);
    // The Poseidon chip needs six advice columns.
    let hashing = visibility.hashes();
    let min_advice = if hashing { crate::chips::poseidon::MIN_ADVICE } else { CircuitShape::MIN_ADVICE };
    let LaneNeeds { shift_bits: max_shift, mag_bits: max_bits, lane_bits: div_bits } = LaneNeeds::of(graph, plan);
    let table_rows = table_rows(&plan.tables);
    // The instance column holds at most every input and output element.
    let outputs: usize =
        graph.element_counts(&graph.outputs).iter().chain(&graph.element_counts(&graph.input_ids())).sum();
    let widths: Vec<u32> = (0..=20).map(|l| if l == 0 { 0 } else { range_widths(plan, l) }).collect();
    let mut best: Option<Layout> = None;
    // For the prover, every width with and without random checks. For an EVM verifier, stacked
    // rows first (the fewest commitments: one advice, fixed, lane and width column; no random
    // checks, whose second-phase columns and challenge cost the verifier more than they save),
    // then the fewest columns, with random checks only where nothing fits without them (LeNet:
    // 545k gas with them, 459k without).
    let candidates: Vec<Candidate> = match goal {
        LayoutGoal::Prover => ADVICE_CHOICES
            .flat_map(|advice| [false, true].map(|random| Candidate { advice, random, stacked: false }))
            .collect(),
        LayoutGoal::Evm => [(false, true), (false, false), (true, false)]
            .into_iter()
            .flat_map(|(random, stacked)| ADVICE_CHOICES.map(move |advice| Candidate { advice, random, stacked }))
            .collect(),
    };
    for Candidate { advice, random, stacked } in candidates {
        let allowed = match options.stacking {
            Stacking::Never => !stacked,
            Stacking::First => true,
            Stacking::Only => stacked,
        };
        if advice < min_advice || advice > options.max_advice || random && !random_checks(advice) || !allowed {
            continue;
        }
        let chips = chips_used(plan, visibility, advice, random);
        let rows = count_rows(graph, plan, advice, random) + commitment_rows(graph, plan, visibility, advice);
        // Stacked, a trace row takes at least advice + 1 circuit rows (more with many lanes).
        let least_stride = if stacked { advice + 1 } else { 1 };
        let min_k = ((rows + CircuitShape::RESERVED_ROWS) * least_stride)
            .max(outputs + CircuitShape::RESERVED_ROWS)
            .max(table_rows + CircuitShape::RESERVED_ROWS)
            .next_power_of_two()
            .trailing_zeros()
            .max(6);
        for k in min_k..=(min_k + 2).min(max_k) {
            // The widest limbs cost the fewest lanes, but their range table (2^lookup_bits rows and
            // the partial widths') must fit in 2^k: try the few widest that fit.
            let widest = (k - 1).min(max_shift.max(max_bits)).clamp(1, 20);
            for lookup_bits in (widest.saturating_sub(3).max(1)..=widest).rev() {
                let range_widths = widths[lookup_bits as usize];
                let rem_lanes = max_shift.div_ceil(lookup_bits) as usize;
                let div_lanes = div_bits.div_ceil(lookup_bits) as usize;
                let mag_lanes = (max_bits.div_ceil(lookup_bits) as usize).max(div_lanes.saturating_sub(rem_lanes));
                let shape = CircuitShape {
                    k,
                    lookup_bits,
                    advice,
                    rem_lanes,
                    mag_lanes,
                    table_rows,
                    range_widths,
                    poseidon: hashing,
                    witness_weights: plan.weights == Weights::Witness,
                    chips,
                    stacked,
                };
                if shape.range_rows() > shape.table_capacity()
                    || rows > shape.usable_rows()
                    || shape.lane_bits() > CircuitShape::MAX_LANE_BITS
                {
                    continue;
                }
                let layout = Layout { shape, rows, cost: cost(&shape) };
                if best.as_ref().is_none_or(|b| layout.cost < b.cost) {
                    best = Some(layout);
                }
            }
        }
        if goal == LayoutGoal::Evm && best.as_ref().is_some_and(|b| b.shape.k <= max_k) {
            break;
        }
    }
    match best {
        Some(l) if l.shape.k <= max_k => Ok(l),
        _ => Err(CompileError::Plan(format!(
            "the circuit needs more than 2^{max_k} rows; lower the scales or use a smaller model"
        ))),
    }
}

/// Estimated peak memory of a MockProver run, in bytes: every cell as a tagged field element, the
/// permutation's mapping of every equality cell, and each lookup's table as a set of rows; twice
/// that, which covers the measured peaks (LeNet: 46 MB at k=13 with 10 advice columns, estimated
/// 57; 75 MB at k=15 with 4, estimated 119).
pub fn estimate_mock_memory(shape: &CircuitShape) -> u64 {
    let (advice, lanes) = (shape.advice_columns(), shape.lane_columns());
    let cells = advice + 2 * lanes + shape.fixed_column_count() + 2 + 8;
    let lookups = lanes + (shape.table_rows > 0) as usize;
    20 * (1 << 20) + 2 * (1u64 << shape.k) * (48 * cells + 32 * (advice + 1) + 160 * lookups) as u64
}

/// What halo2-axiom holds per row, in bytes (32-byte field elements), by step.
struct RowBytes {
    /// The proving key: fixed and permutation polynomials, values and coefficients, and the first,
    /// last and active-row Lagrange polynomials on the extended domain (4n: what dominates a
    /// stacked circuit's few columns).
    key: u64,
    /// Keygen's assembly: fixed cells as assigned values, the copy constraints' mappings.
    keygen: u64,
    /// Proving: the witness (assigned, then values and coefficients), the lookups' permuted and
    /// product columns, the permutation's products, one extended coset of every column while the
    /// quotient is evaluated, and the quotient's parts.
    prover: u64,
    /// Our trace.
    trace: u64,
}

impl RowBytes {
    fn of(shape: &CircuitShape) -> RowBytes {
        let tables = shape.table_rows > 0;
        // Gate columns, lane widths, ~3 compressed selectors, the range table's 2, the function table's 3.
        let lanes = shape.lane_columns();
        let fixed = (shape.fixed_column_count() + lanes + 3 + 2 + 3 * tables as usize) as u64;
        let equality = (shape.advice_columns() + shape.phase2_columns() + 1) as u64;
        let advice = (shape.advice_columns() + lanes + shape.phase2_columns()) as u64;
        let lookups = (lanes + tables as usize) as u64;
        RowBytes {
            key: 64 * (fixed + equality) + 96 + 384,
            keygen: 72 * fixed + 48 * equality,
            prover: 136 * advice + 192 * lookups + 64 * equality.div_ceil(3) + 32 * (fixed + advice + 1) + 256,
            // Per trace row, which stacked spans `stride` rows.
            trace: ((4 * shape.advice + 16 * shape.fixed_columns() + 9 * shape.lanes() + 4 * shape.phase2_columns())
                / shape.stride()) as u64,
        }
    }
}

/// Estimated peak memory of lowering one witness to our trace (no halo2 structures), in bytes.
pub fn estimate_trace_memory(shape: &CircuitShape) -> u64 {
    (64 << 20) + (1u64 << shape.k) * RowBytes::of(shape).trace * 5 / 4
}

/// Estimated peak memory of keygen, in bytes: per row what halo2-axiom and the trace hold
/// (`RowBytes`), with a quarter's margin for the model's own plan; measured 110 MB for the
/// reduced reference CNN (k = 13, estimated 117), 13.9 GB for the full one (k = 21, 14.5) and
/// 318 MB for LeNet stacked (k = 17, 326).
pub fn estimate_keygen_memory(shape: &CircuitShape) -> u64 {
    let r = RowBytes::of(shape);
    (64 << 20) + (1u64 << shape.k) * (r.key + r.keygen + r.trace) * 5 / 4
}

/// Estimated peak memory of proving, in bytes (`RowBytes`, 5% margin): measured 79 MB for the
/// reduced reference CNN (estimated 128), 16.8 GB for the full reference CNN (17.7) and 346 MB
/// for LeNet stacked (k = 17, 350).
pub fn estimate_prove_memory(shape: &CircuitShape) -> u64 {
    let r = RowBytes::of(shape);
    (64 << 20) + (1u64 << shape.k) * (r.key + r.prover + r.trace) * 21 / 20
}
