//! zkonnx compiler: ONNX -> IR -> fixed-point plan -> Halo2 circuit layout.

pub mod calibrate;
pub mod chips;
pub mod circuit;
pub mod commit;
pub mod error;
pub mod field;
pub mod frontend;
pub mod ir;
pub mod panics;
pub mod quant;
pub mod reference;
pub mod segment;
pub mod settings;
pub mod tensor;

pub use error::CompileError;

use circuit::plan::{choose_layout_for, Layout};
use ir::Graph;
use quant::{InputRange, QuantPlan, RangeBits, Scales};
use settings::{
    InputSpec, LayoutOptions, LookupRecord, OutputSpec, RescaleRecord, Settings, Visibility, SETTINGS_FORMAT,
};

/// Default scales: 2^8 for activations and weights, function tables of 2^10 entries.
pub const DEFAULT_SCALES: Scales = Scales { input: 8, param: 8, table_bits: quant::DEFAULT_TABLE_BITS };
/// The largest input magnitude calibration accepts: with scales up to 2^16 every value and its
/// products stay far inside the field.
pub const MAX_INPUT_ABS: f64 = 1e9;

/// Default input range until calibration measures one.
pub const DEFAULT_INPUT_RANGE: InputRange = InputRange { min: -8.0, max: 8.0 };

/// The kind of a model input node (`Real` for anything that is not an input).
pub fn input_kind(node: &ir::Node) -> ir::InputKind {
    match node.op {
        ir::Op::Input { kind, .. } => kind,
        _ => ir::InputKind::Real,
    }
}

/// An input's range fixed by the model itself: an index input's [0, V - 1].
pub fn fixed_input_range(node: &ir::Node) -> Option<InputRange> {
    input_kind(node).index_range().map(|(min, max)| InputRange { min, max })
}

/// The input ranges until calibration measures them: an index input's own, ±8 for the others.
pub fn default_input_ranges(graph: &Graph) -> Vec<InputRange> {
    graph.inputs().map(|(_, n)| fixed_input_range(n).unwrap_or(DEFAULT_INPUT_RANGE)).collect()
}

/// Build the plan and layout for `graph` with the given scales and input ranges, and the settings
/// that record them.
pub fn plan_settings(
    graph: &Graph,
    model_sha256: &str,
    scales: Scales,
    ranges: Vec<InputRange>,
    bits: &RangeBits,
    visibility: Visibility,
    layout: LayoutOptions,
    max_k: u32,
) -> Result<(Settings, QuantPlan), CompileError> {
    let plan = QuantPlan::build(graph, &scales, &ranges, bits, visibility.weights())?;
    let Layout { shape, rows, .. } = choose_layout_for(graph, &plan, &visibility, max_k, layout)?;
    // The circuit lets a rescaled value reach 2^mag_bits, wider than the plan's ranges: check that
    // no value so wide could overflow either.
    plan.check_capacity(graph, shape.mag_bits())?;
    let inputs = graph
        .inputs()
        .zip(ranges)
        .map(|((_, n), range)| InputSpec { name: n.name.clone(), shape: n.shape.clone(), range, kind: input_kind(n) })
        .collect();
    let outputs = graph
        .outputs
        .iter()
        .map(|&o| OutputSpec {
            name: graph.nodes[o].name.clone(),
            shape: graph.nodes[o].shape.clone(),
            scale: plan.nodes[o].scale,
        })
        .collect();
    let rescales = graph
        .nodes
        .iter()
        .zip(&plan.nodes)
        .filter_map(|(n, q)| q.requant.map(|requant| RescaleRecord { node: n.name.clone(), requant }))
        .collect();
    let lookups = lookup_records(graph, &plan);
    let settings = Settings {
        format: SETTINGS_FORMAT.into(),
        model_sha256: model_sha256.into(),
        visibility,
        layout: layout.goal,
        random_checks: layout.random_checks,
        scales,
        inputs,
        outputs,
        rescales,
        lookups,
        circuit: shape,
        rows,
        segments: None,
    };
    Ok((settings, plan))
}

/// The settings' record of every lookup of a plan.
pub fn lookup_records(graph: &Graph, plan: &QuantPlan) -> Vec<LookupRecord> {
    graph
        .nodes
        .iter()
        .zip(&plan.nodes)
        .filter_map(|(n, q)| match &q.op {
            quant::QOp::Lookup { reduce, table, input_bits, .. } => Some(LookupRecord {
                node: n.name.clone(),
                func: plan.tables[*table].func.name().to_string(),
                input_bits: *input_bits,
                shift: reduce.shift,
                domain: plan.tables[*table].bound,
            }),
            _ => None,
        })
        .collect()
}
