//! The settings <-> plan round trip, in one place: `plan_settings` builds a plan and the settings
//! that record it; `check_settings_match_plan` rebuilds nothing but checks that settings read
//! from disk describe the circuit their plan gives (a hand-edited or stale settings.json must
//! not give a circuit that silently differs).

use crate::chips::lookup::table_rows;
use crate::circuit::plan::{chips_used, choose_layout_for, range_widths, LaneNeeds, Layout};
use crate::circuit::shape::CircuitShape;
use crate::error::CompileError;
use crate::input_kind;
use crate::ir::Graph;
use crate::quant::{self, InputRange, QuantPlan, RangeBits, Scales};
use crate::settings::{
    InputSpec, LayoutOptions, LookupRecord, Mode, OutputSpec, RescaleRecord, Settings, Visibility, SETTINGS_FORMAT,
};

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

/// A hand-edited or stale settings.json must not give a circuit that silently differs.
pub fn check_settings_match_plan(graph: &Graph, plan: &QuantPlan, s: &Settings) -> std::result::Result<(), String> {
    let shape = s.circuit;
    if !LaneNeeds::of(graph, plan).fit(&shape) {
        return Err("its plan needs more lookup lanes than its circuit has".into());
    }
    if shape.table_rows != table_rows(&plan.tables) {
        return Err("its function table size differs from what its ranges give".into());
    }
    if shape.lookup_bits == 0 || shape.lookup_bits > 24 || shape.lane_bits() > CircuitShape::MAX_LANE_BITS {
        return Err(format!(
            "its {} lookup lanes of {} bits are outside what the circuit allows (at most {} bits in all)",
            shape.lanes(),
            shape.lookup_bits,
            CircuitShape::MAX_LANE_BITS
        ));
    }
    if shape.has_phase2() && !s.random_checks {
        return Err("its circuit has random checks its settings turn off".into());
    }
    if shape.chips != chips_used(plan, &s.visibility, shape.advice, shape.has_phase2()) {
        return Err("its circuit's gates differ from what its plan uses".into());
    }
    if shape.witness_weights != (s.visibility.params == Mode::Hashed) {
        return Err("its circuit's weights are not where its visibility puts them".into());
    }
    let hashing = s.visibility.hashes();
    if shape.poseidon != hashing || (hashing && shape.advice < crate::chips::poseidon::MIN_ADVICE) {
        return Err("its circuit's Poseidon chip does not match its visibility".into());
    }
    if shape.range_widths != range_widths(plan, shape.lookup_bits) {
        return Err("its range table differs from what its rescales give".into());
    }
    // Lanes wider than the plan needs: nothing they let through may overflow either.
    plan.check_capacity(graph, shape.mag_bits()).map_err(|e| e.to_string())?;
    let recorded: Vec<_> = s.rescales.iter().map(|r| (r.node.as_str(), r.requant)).collect();
    let planned: Vec<_> =
        graph.nodes.iter().zip(&plan.nodes).filter_map(|(n, q)| q.requant.map(|r| (n.name.as_str(), r))).collect();
    if recorded != planned || s.lookups != lookup_records(graph, plan) {
        return Err("its rescales differ from what its scales and ranges give; run `zkonnx compile` again".into());
    }
    if shape.range_rows() > shape.table_capacity()
        || shape.table_rows > shape.table_capacity()
        || s.rows > shape.usable_rows()
        || shape.k > 28
    {
        return Err(format!("k = {} is too small for its rows and table", shape.k));
    }
    if shape.advice < CircuitShape::MIN_ADVICE {
        return Err("its circuit shape is invalid".into());
    }
    Ok(())
}
