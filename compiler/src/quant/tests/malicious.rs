//! A malicious prover against whole models: the lowering run with one step replaced by an attack
//! whose rows keep every gate and copy, so only the range checks can refuse it.

use super::{plan_for, testdata};
use crate::chips::div::divide;
use crate::chips::fe;
use crate::chips::requant::OutOfRange;
use crate::chips::tests::testing::{assert_rejected_by_lookup, half};
use crate::circuit::plan::choose_layout;
use crate::circuit::trace::{Trace, Wire};
use crate::quant::params::Weights;
use crate::quant::table::FuncTable;
use crate::quant::walk::{walk, Backend};
use crate::quant::{eval::evaluate, quantize, DivSpec, Linear, Requant};
use std::collections::HashMap;

/// Every division whose quotient was rounded up reports it one lower: q' = q - 1/2 in the
/// division's rows (r + b, slack b - 1 - r), and the range check after it reads y = q - 1 with a
/// remainder of 1/2. Everything downstream computes on q - 1.
struct RoundDown {
    t: Trace,
    lowered: HashMap<Wire, i128>,
}

impl Backend for RoundDown {
    type V = Wire;

    fn input(&mut self, node: usize, value: i128, lo: i128, hi: i128) -> Option<Wire> {
        Backend::input(&mut self.t, node, value, lo, hi)
    }
    fn linear(&mut self, lin: &Linear, inputs: &[&[Wire]]) -> Vec<Wire> {
        Backend::linear(&mut self.t, lin, inputs)
    }
    fn mul(&mut self, a: Wire, b: Wire) -> Wire {
        Backend::mul(&mut self.t, a, b)
    }
    fn max(&mut self, a: Wire, b: Wire, min: bool) -> Wire {
        Backend::max(&mut self.t, a, b, min)
    }
    fn constant(&mut self, c: i128) -> Wire {
        Backend::constant(&mut self.t, c)
    }
    fn lookup(&mut self, node: usize, x: Wire, r: Requant, table: &FuncTable, tag: usize) -> Result<Wire, OutOfRange> {
        Backend::lookup(&mut self.t, node, x, r, table, tag)
    }
    fn sqrt(&mut self, x: Wire, k: i128) -> Result<Wire, i128> {
        Backend::sqrt(&mut self.t, x, k)
    }

    fn div(&mut self, a: Option<Wire>, b: Wire, d: &DivSpec) -> Result<Wire, i128> {
        let (av, bv) = (a.map_or(0, |a| self.t.value(a)), self.t.value(b));
        let q = Backend::div(&mut self.t, a, b, d)?;
        let honest = divide(av, bv, d.k, d.c).unwrap();
        if honest.r < bv {
            let row = self.t.rows() - 2;
            self.t.tamper_wire_field(q, fe(honest.q - 1) + half());
            let s = self.t.shape;
            let (r, slack) = ((honest.r + bv) as u128, (bv - 1 - honest.r) as u128);
            for (j, (lr, ls)) in crate::chips::limbs(r, s.lookup_bits, s.lanes())
                .zip(crate::chips::limbs(slack, s.lookup_bits, s.lanes()))
                .enumerate()
            {
                self.t.tamper_limb(row, j, lr);
                self.t.tamper_limb(row + 1, j, ls);
            }
            self.lowered.insert(q, honest.q - 1);
        }
        Ok(q)
    }

    fn requant(&mut self, node: usize, v: Wire, r: Requant) -> Result<Wire, OutOfRange> {
        let out = Backend::requant(&mut self.t, node, v, r)?;
        if let Some(&y) = self.lowered.get(&v) {
            assert_eq!((r.shift, r.relu), (0, false), "a division's quotient is range checked as it is");
            let row = self.t.rows() - 1;
            let (yw, bw) = (self.t.cell(row, 1).unwrap(), self.t.cell(row, 2).unwrap());
            self.t.tamper_wire(yw, y);
            self.t.tamper_wire(bw, (y >= 0) as i128);
            self.t.tamper_wire(out, y);
            let s = self.t.shape;
            self.t.tamper_limb_field(row, 0, half());
            self.t.set_bounded(row, s.rem_lanes, s.mag_lanes, y.unsigned_abs(), r.bits);
        }
        Ok(out)
    }
}

/// Issue 16's demonstration: the transformer's softmax and layer norm quotients each one lower
/// change its outputs, and the proof of them was accepted. Now the exact range checks refuse it
/// (and only they: every gate and copy of the attack holds).
#[test]
fn quotients_rounded_down_in_the_transformer_are_refused() {
    let (graph, input, _) = testdata("transformer");
    let plan = plan_for(&graph);
    let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
    let shape = choose_layout(&graph, &plan, &Default::default(), 20).unwrap().shape;
    let mut attack = RoundDown { t: Trace::new(shape), lowered: HashMap::new() };
    attack.t.tables = plan.tables.clone();
    let wires = walk(&graph, &plan, std::slice::from_ref(&x), &mut attack).unwrap();
    let RoundDown { mut t, lowered } = attack;
    for &w in &wires[graph.outputs[0]] {
        t.expose(w);
    }
    let honest = evaluate(&graph, &plan, &[x]).unwrap();
    assert!(lowered.len() > 10, "only {} quotients rounded up", lowered.len());
    assert_ne!(t.model_output_values(), honest[graph.outputs[0]], "the attack changes the outputs");
    assert_rejected_by_lookup(&t);
}

/// The MLP's trace on `x` as a prover who ignores every range would write it.
fn unchecked_mlp(x: &[i128], bits: &crate::quant::RangeBits) -> (Trace, crate::quant::QuantPlan) {
    use crate::quant::{InputRange, QuantPlan, Scales};
    let (graph, _, _) = testdata("mlp");
    let scales = Scales { input: 7, param: 7, table_bits: 10 };
    let plan = QuantPlan::build(&graph, &scales, &[InputRange { min: -8.0, max: 8.0 }], bits, Weights::InKey).unwrap();
    let shape = choose_layout(&graph, &plan, &Default::default(), 20).unwrap().shape;
    let t = crate::circuit::lower::lower_unchecked(&graph, &plan, shape, &[x.to_vec()]).unwrap();
    (t, plan)
}

#[test]
fn an_input_outside_its_declared_range_is_refused() {
    // 100.0 against [-8, 8]: the evaluator refuses it, and so do MockProver and the verifier
    // (the range check used to allow anything below the next power of two of the range, ±16,
    // or in the magnitude lanes, far more).
    let (graph, input, _) = testdata("mlp");
    let mut x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
    let (honest, plan) = unchecked_mlp(&x, &Default::default());
    crate::chips::tests::testing::assert_satisfied(&honest);
    for v in [100.0, 8.0 + 1.0 / 128.0, -9.0] {
        x[3] = quantize(v, 7);
        assert!(evaluate(&graph, &plan, std::slice::from_ref(&x)).is_err());
        // Its distance to the far end has no limbs: the honest-looking rows fail the gate.
        let (t, _) = unchecked_mlp(&x, &Default::default());
        crate::chips::tests::testing::assert_rejected(&t);
    }
    let refused = crate::chips::tests::testing::prove_and_verify(&unchecked_mlp(&x, &Default::default()).0);
    assert!(refused.unwrap_err().starts_with("the verifier refused"));
}

#[test]
fn a_value_outside_its_calibrated_range_is_refused() {
    // The first layer's range one bit narrower than what this input gives there: the lanes could
    // hold the value, the requant's own bits cannot.
    let (graph, input, _) = testdata("mlp");
    let x: Vec<i128> = input.iter().map(|&v| quantize(v, 7)).collect();
    let (_, plan) = unchecked_mlp(&x, &Default::default());
    let values = evaluate(&graph, &plan, std::slice::from_ref(&x)).unwrap();
    let (id, node) = graph.nodes.iter().enumerate().find(|(i, _)| plan.nodes[*i].requant.is_some()).unwrap();
    let shift = plan.nodes[id].requant.unwrap().shift;
    // The value before the ReLU is what the range check sees: recover it from the layer's input.
    let widest = values[id].iter().map(|v| v.unsigned_abs()).max().unwrap().max(1);
    let narrow = crate::quant::bit_len(widest) - 1;
    let bits: crate::quant::RangeBits = [(node.name.clone(), narrow)].into_iter().collect();
    let (t, narrow_plan) = unchecked_mlp(&x, &bits);
    assert!(evaluate(&graph, &narrow_plan, std::slice::from_ref(&x)).is_err(), "{} >> {shift}", node.name);
    assert!(t.shape.mag_bits() > narrow, "the magnitude lanes alone would take it");
    assert_rejected_by_lookup(&t);
    assert!(crate::chips::tests::testing::prove_and_verify(&t).unwrap_err().starts_with("the verifier refused"));
}
