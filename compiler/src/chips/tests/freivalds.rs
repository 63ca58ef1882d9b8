use super::testing::*;
use crate::chips::freivalds;
use crate::circuit::trace::{Gate, Trace, Wire};
use crate::quant::product::{OutputLayout, Product};
use halo2_proofs::dev::VerifyFailure;
use halo2curves::bn256::Fr;

/// A 2-channel 1-D convolution as a product: kernel 3 over 5 inputs padded by 1 at each end,
/// so X (3 x 5) has padding zeros in its corners; m = 2 outputs, one with no bias.
fn conv_product() -> Product {
    let (n, p) = (3, 5);
    let mut cols = vec![Product::PAD; n * p];
    for j in 0..n {
        for k in 0..p {
            let x = k as isize + j as isize - 1;
            if (0..5).contains(&x) {
                cols[j * p + k] = x as u32;
            }
        }
    }
    Product {
        m: 2,
        n,
        p,
        weights: vec![3, -2, 5, 0, 7, -1],
        cols,
        bias: vec![11, 0],
        layout: OutputLayout::Channels { positions: p },
    }
}

/// Y = W X + b on the values, in the layer's output order.
fn product_values(prod: &Product, x: &[i128]) -> Vec<i128> {
    let mut y = vec![0; prod.m * prod.p];
    for i in 0..prod.m {
        for k in 0..prod.p {
            let sum: i128 =
                (0..prod.n).filter_map(|j| prod.x(j, k).map(|e| prod.weight(i, j) as i128 * x[e as usize])).sum();
            y[prod.output(i, k)] = sum + prod.bias[i];
        }
    }
    y
}

/// A trace with the product's random check on five inputs; returns it with Y's wires.
fn checked_product(prod: &Product) -> (Trace, Vec<Wire>, Vec<Wire>) {
    let mut t = test_trace();
    let values = [4, -7, 0, 12, 3];
    let x: Vec<Wire> = values.iter().map(|&v| input_wire(&mut t, v)).collect();
    let y_values = product_values(prod, &values);
    let y = t.freivalds(prod, &x, &y_values);
    assert_eq!(y.iter().map(|&w| t.value(w)).collect::<Vec<_>>(), y_values);
    (t, x, y)
}

/// MockProver's failures, every one a gate of the given name (in both layouts).
fn assert_only_gate_fails(t: &Trace, gate: &str) {
    for t in [t.clone(), super::testing::stacked(t)] {
        only_gate_fails(&t, gate);
    }
}

fn only_gate_fails(t: &Trace, gate: &str) {
    let circuit = crate::circuit::ZkCircuit::with_witness(t.clone(), crate::circuit::KeyDigest::default());
    let instances = circuit.instances();
    let failures =
        halo2_proofs::dev::MockProver::run(t.shape.k, &circuit, vec![instances]).unwrap().verify().unwrap_err();
    for f in &failures {
        match f {
            VerifyFailure::ConstraintNotSatisfied { constraint, .. } => {
                assert!(format!("{constraint}").contains(gate), "another gate failed: {f:?}")
            }
            _ => panic!("expected only the {gate} gate to fail, got {f:?}"),
        }
    }
}

#[test]
fn an_honest_product_passes() {
    let (t, _, _) = checked_product(&conv_product());
    assert_satisfied(&t);
    assert_eq!(t.rows() - 5 - 1, freivalds::rows(&conv_product(), t.shape.advice), "5 input rows and the constant 1");
}

#[test]
fn a_changed_element_of_y_fails_the_check() {
    // Y is pinned by nothing but the random check: with one element changed and every fold
    // recomputed from it, each fold still holds and only the check (the challenge's) refuses it.
    let prod = conv_product();
    let (mut t, _, y) = checked_product(&prod);
    let w = y[prod.output(1, 2)];
    t.tamper_wire(w, t.value(w) + 1);
    assert_only_gate_fails(&t, "freivalds check");
}

#[test]
fn a_fractional_element_of_y_fails_the_check() {
    // Y is pinned by no gate with an invertible coefficient of its own: Y + 1/2, every fold
    // recomputed from it, is still refused by the check alone.
    let prod = conv_product();
    let (mut t, _, y) = checked_product(&prod);
    let w = y[prod.output(0, 2)];
    t.tamper_wire_field(w, plus_half(t.value(w)));
    assert_only_gate_fails(&t, "freivalds check");
}

#[test]
fn a_changed_im2col_copy_fails() {
    let prod = conv_product();
    let (mut t, x, _) = checked_product(&prod);
    // A fold row's copy of input 3 (X[1][3]) given another value than its home.
    let row = (0..t.rows())
        .find(|&r| t.gates[r] == Gate::FreivaldsFold && (0..6).any(|c| t.cell(r, c) == Some(x[3])))
        .unwrap();
    let col = (0..6).find(|&c| t.cell(row, c) == Some(x[3])).unwrap();
    t.tamper_cell(row, col, 13);
    assert_rejected(&t);
}

#[test]
fn a_changed_second_phase_accumulator_fails() {
    let (t0, _, _) = checked_product(&conv_product());
    for gate in [Gate::FreivaldsFold, Gate::FreivaldsCheck] {
        let row = (0..t0.rows()).find(|&r| t0.gates[r] == gate).unwrap();
        let mut t = t0.clone();
        t.tamper_phase2(row, Fr::one());
        assert_rejected_by_gate(&t);
    }
}

#[test]
fn a_value_in_a_padding_slot_changes_nothing() {
    // A padding zero's lane has flag 0: whatever the prover writes there does not enter the fold.
    let (mut t, _, _) = checked_product(&conv_product());
    let row = (0..t.rows()).find(|&r| t.gates[r] == Gate::FreivaldsFold && t.cell(r, 0).is_none()).unwrap();
    t.tamper_cell(row, 0, 99);
    assert_satisfied(&t);
}

#[test]
fn a_wrong_product_is_refused_by_the_real_verifier() {
    let prod = conv_product();
    let (honest, _, y) = checked_product(&prod);
    prove_and_verify(&honest).unwrap();
    let mut attack = honest.clone();
    let w = y[prod.output(0, 4)];
    attack.tamper_wire(w, attack.value(w) - 3);
    let refused = prove_and_verify(&attack).unwrap_err();
    assert!(refused.starts_with("the verifier refused"), "{refused}");
}
