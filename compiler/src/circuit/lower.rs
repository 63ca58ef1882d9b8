//! Lowering: the quantized plan becomes chip instructions on a trace, by the same walk the
//! evaluator takes. The same code runs for keygen (on zeros) and proving (on the input), so both
//! see the same rows.

use super::instance::{InstanceLayout, Public};
use super::shape::CircuitShape;
use super::trace::{Trace, Wire};
use crate::chips::pack::Packing;
use crate::chips::requant::OutOfRange;
use crate::commit::{input_packings, output_packings, packed_len};
use crate::ir::Graph;
use crate::quant::eval::RangeError;
use crate::quant::table::FuncTable;
use crate::quant::walk::{walk, Backend, RowForm};
use crate::quant::{DivSpec, Linear, QuantPlan, Requant};
use crate::settings::{Mode, Visibility};

impl Backend for Trace {
    type V = Wire;

    fn input(&mut self, _node: usize, value: i128, lo: i128, hi: i128) -> Option<Wire> {
        Trace::input(self, value, lo, hi)
    }

    fn linear(&mut self, lin: &Linear, inputs: &[&[Wire]]) -> Vec<Wire> {
        let mut terms = vec![];
        (0..lin.outputs())
            .map(|i| match lin.form(i) {
                RowForm::Affine(t, b) => self.affine(inputs[t.input as usize][t.index as usize], t.weight, b),
                RowForm::Dot(row, b) => {
                    terms.clear();
                    terms.extend(row.iter().map(|t| (inputs[t.input as usize][t.index as usize], t.weight)));
                    self.dot(&terms, b)
                }
            })
            .collect()
    }

    fn mul(&mut self, a: Wire, b: Wire) -> Wire {
        Trace::mul(self, a, b)
    }

    fn max(&mut self, a: Wire, b: Wire, min: bool) -> Wire {
        Trace::max_or_min(self, a, b, min)
    }

    fn requant(&mut self, _node: usize, v: Wire, r: Requant) -> Result<Wire, OutOfRange> {
        Trace::requant(self, v, r)
    }

    fn constant(&mut self, c: i128) -> Wire {
        Trace::constant(self, c)
    }

    fn lookup(
        &mut self,
        _node: usize,
        x: Wire,
        reduce: Requant,
        table: &FuncTable,
        tag: usize,
    ) -> Result<Wire, OutOfRange> {
        // With no shift the lookup's domain is the range check; otherwise rescale first.
        let reduced = if reduce.shift > 0 { Trace::requant(self, x, reduce)? } else { x };
        let out_of_range = OutOfRange { value: self.value(reduced), bits: reduce.bits };
        Trace::lookup(self, reduced, table, tag).ok_or(out_of_range)
    }

    fn sqrt(&mut self, x: Wire, k: i128) -> Result<Wire, i128> {
        let xv = self.value(x);
        Trace::sqrt(self, x, k).ok_or(xv)
    }

    fn div(&mut self, a: Option<Wire>, b: Wire, d: &DivSpec) -> Result<Wire, i128> {
        let bv = self.value(b);
        Trace::div(self, a, b, d.k, d.c).ok_or(bv)
    }
}

/// The circuit's trace for these inputs, its public values exposed as `visibility` says.
pub fn lower(
    graph: &Graph,
    plan: &QuantPlan,
    shape: CircuitShape,
    visibility: &Visibility,
    inputs: &[Vec<i128>],
) -> Result<Trace, RangeError> {
    lower_into(Trace::new(shape), graph, plan, visibility, inputs)
}

/// The trace keygen uses: the same rows and fixed values on zero inputs, whatever values the
/// zeros give (a normalisation of zeros may leave the calibrated ranges; keygen reads no values).
pub fn lower_structure(
    graph: &Graph,
    plan: &QuantPlan,
    shape: CircuitShape,
    visibility: &Visibility,
) -> Result<Trace, RangeError> {
    let zeros: Vec<Vec<i128>> = graph.inputs().map(|(_, n)| vec![0; n.shape.iter().product()]).collect();
    lower_into(Trace::for_structure(shape), graph, plan, visibility, &zeros)
}

/// The instance layout of a model under a visibility.
pub fn instance_layout(graph: &Graph, visibility: &Visibility) -> InstanceLayout {
    let len = |ids: &[usize]| graph.element_counts(ids).iter().sum();
    InstanceLayout::new(visibility, len(&graph.input_ids()), len(&graph.outputs))
}

fn lower_into(
    mut t: Trace,
    graph: &Graph,
    plan: &QuantPlan,
    visibility: &Visibility,
    inputs: &[Vec<i128>],
) -> Result<Trace, RangeError> {
    t.tables = plan.tables.clone();
    let wires = walk(graph, plan, inputs, &mut t)?;
    t.model_outputs = graph.outputs.iter().flat_map(|&o| wires[o].iter().copied()).collect();
    let inputs = graph.input_ids();
    let tensors = |nodes: &[usize]| -> Vec<Vec<Wire>> { nodes.iter().map(|&i| wires[i].clone()).collect() };
    for part in instance_layout(graph, visibility).parts() {
        let public = match part {
            Public::Inputs => tensors(&inputs).concat(),
            Public::Outputs => tensors(&graph.outputs).concat(),
            Public::InputHash => vec![commit(&mut t, &tensors(&inputs), &input_packings(graph, plan))],
            Public::OutputHash => vec![commit(&mut t, &tensors(&graph.outputs), &output_packings(graph, plan))],
        };
        for w in public {
            t.expose(w);
        }
    }
    Ok(t)
}

/// The commitment of these tensors (`commit::commitment`), in the circuit: pack, then hash.
fn commit(t: &mut Trace, tensors: &[Vec<Wire>], packings: &[Packing]) -> Wire {
    let packed: Vec<Wire> = tensors.iter().zip(packings).flat_map(|(w, &p)| t.pack(w, p)).collect();
    t.poseidon(&packed)
}

/// Rows the commitments of a visibility take with `advice` columns.
pub fn commitment_rows(graph: &Graph, plan: &QuantPlan, visibility: &Visibility, advice: usize) -> usize {
    let rows = |ids: &[usize], packings: Vec<Packing>| {
        let lens = graph.element_counts(ids);
        let pack: usize = lens.iter().zip(&packings).map(|(&n, p)| p.rows(n, advice)).sum();
        pack + crate::chips::poseidon::poseidon_rows(packed_len(&lens, &packings))
    };
    let mut total = 0;
    if visibility.input == Mode::Hashed {
        total += rows(&graph.input_ids(), input_packings(graph, plan));
    }
    if visibility.output == Mode::Hashed {
        total += rows(&graph.outputs, output_packings(graph, plan));
    }
    total
}

/// The trace a prover who ignores the ranges would write: the same rows and the real values,
/// none refused (tests show the circuit refuses what the evaluator would).
#[cfg(test)]
pub(crate) fn lower_unchecked(
    graph: &Graph,
    plan: &QuantPlan,
    shape: CircuitShape,
    inputs: &[Vec<i128>],
) -> Result<Trace, RangeError> {
    let mut t = Trace::new(shape);
    t.checked = false;
    lower_into(t, graph, plan, &Visibility::default(), inputs)
}

/// The trace and the wires of every node (tests compare them with the evaluator).
#[cfg(test)]
pub(crate) fn lower_with_wires(
    graph: &Graph,
    plan: &QuantPlan,
    shape: CircuitShape,
    inputs: &[Vec<i128>],
) -> Result<(Trace, Vec<Vec<Wire>>), RangeError> {
    let mut t = Trace::new(shape);
    t.tables = plan.tables.clone();
    let wires = walk(graph, plan, inputs, &mut t)?;
    Ok((t, wires))
}
