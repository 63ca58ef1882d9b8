//! Lowering: the quantized plan becomes chip instructions on a trace, by the same walk the
//! evaluator takes. The same code runs for keygen (on zeros) and proving (on the input), so both
//! see the same rows.

use super::instance::{InstanceLayout, Public};
use super::shape::CircuitShape;
use super::trace::{Trace, Wire};
use crate::chips::pack::Packing;
use crate::chips::requant::OutOfRange;
use crate::commit::{input_packings, output_packings, packed_len, param_packings};
use crate::ir::Graph;
use crate::quant::eval::RangeError;
use crate::quant::params::{LinearParams, ParamTensor};
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
        if let Some(p) = &lin.params {
            return witnessed_linear(self, lin, p, inputs);
        }
        if let Some(prod) = lin.product.as_ref().filter(|_| self.uses_freivalds(lin)) {
            // Y as the evaluator computes it; the random check proves it.
            let y: Vec<i128> = (0..lin.outputs())
                .map(|i| {
                    let terms =
                        lin.row(i).iter().map(|t| (self.value(inputs[t.input as usize][t.index as usize]), t.weight));
                    crate::chips::dot::dot(terms, lin.bias[i])
                })
                .collect();
            return self.freivalds(prod, inputs[0], &y);
        }
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

impl Trace {
    /// Whether this trace proves the layer by a random check (the planner's choice for its shape).
    fn uses_freivalds(&self, lin: &Linear) -> bool {
        self.shape.has_phase2() && crate::chips::freivalds::prefers(lin, self.shape.advice)
    }
}

/// A layer with witnessed weights: each weight and bias a range-checked wire (recorded for the
/// params commitment), each output a dot of (input, weight) pairs with the bias paired with 1.
fn witnessed_linear(t: &mut Trace, lin: &Linear, p: &LinearParams, inputs: &[&[Wire]]) -> Vec<Wire> {
    let mut wires = |tensor: &ParamTensor| -> Vec<Wire> {
        let range = tensor.range();
        tensor.values.iter().map(|&v| t.param(v, range)).collect()
    };
    let weights = wires(&p.weight);
    let biases = p.bias.as_ref().map(&mut wires);
    t.params.extend(weights.iter().chain(biases.iter().flatten()));
    let one = biases.as_ref().map(|_| t.one());
    (0..lin.outputs())
        .map(|i| {
            let start = lin.offsets[i] as usize;
            let mut pairs: Vec<(Wire, Wire)> = lin
                .row(i)
                .iter()
                .zip(&p.weight_of_term[start..])
                .map(|(term, &w)| (inputs[term.input as usize][term.index as usize], weights[w as usize]))
                .collect();
            if let (Some(b), Some(one)) = (&biases, one) {
                pairs.push((b[p.bias_of_row[i] as usize], one));
            }
            t.param_dot(&pairs)
        })
        .collect()
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
            Public::ParamsHash => vec![commit_params(&mut t, plan)],
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

/// The params commitment (`commit::params_commitment`) of the weights the walk wired.
fn commit_params(t: &mut Trace, plan: &QuantPlan) -> Wire {
    let mut message = vec![t.constant(plan.param_scale as i128)];
    let wires = t.params.clone();
    let mut start = 0;
    for ((_, tensor), p) in plan.param_tensors().zip(param_packings(plan)) {
        let end = start + tensor.values.len();
        message.extend(t.pack(&wires[start..end], p));
        start = end;
    }
    t.poseidon(&message)
}

/// Rows the commitments of a visibility take with `advice` columns.
pub fn commitment_rows(graph: &Graph, plan: &QuantPlan, visibility: &Visibility, advice: usize) -> usize {
    // Packing rows, then the hash of the packed elements and of `header` elements before them.
    let rows = |lens: &[usize], packings: &[Packing], header: usize| {
        let pack: usize = lens.iter().zip(packings).map(|(&n, p)| p.rows(n, advice)).sum();
        pack + crate::chips::poseidon::poseidon_rows(header + packed_len(lens, packings))
    };
    let mut total = 0;
    if visibility.input == Mode::Hashed {
        total += rows(&graph.element_counts(&graph.input_ids()), &input_packings(graph, plan), 0);
    }
    if visibility.output == Mode::Hashed {
        total += rows(&graph.element_counts(&graph.outputs), &output_packings(graph, plan), 0);
    }
    if visibility.params == Mode::Hashed {
        // The header is the weights' scale (its constant is counted with the affine rows).
        let lens: Vec<usize> = plan.param_tensors().map(|(_, t)| t.values.len()).collect();
        total += rows(&lens, &param_packings(plan), 1);
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
