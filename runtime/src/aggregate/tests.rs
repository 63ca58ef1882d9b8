//! A model cut into segments, each proven for aggregation, then one aggregate proof: it verifies,
//! and a changed public value, a segment proven on another boundary value, or segments in another
//! order each fail.

use super::*;
use compiler::quant::eval::evaluate;
use compiler::quant::params::Weights;
use compiler::quant::{quantize, InputRange, QuantPlan, RangeBits, Scales};
use compiler::segment::{cut, extract, visibility_of};
use compiler::settings::Visibility;
use compiler::Public;
use compiler::{instance_layout, lower, lower_structure};
use rand::SeedableRng;

struct Segments {
    /// Per segment: its circuit's k, proving key, and the instances it exposes.
    pks: Vec<(u32, ProvingKey<G1Affine>)>,
    circuits: Vec<ZkCircuit>,
    wiring: Wiring,
}

/// testdata/cnn cut at 2^14 rows (stacked), keyed under downsized copies of `params`, its circuits on the
/// test input (`nudge`: one boundary element of the second segment changed by one unit).
fn segments(params: &Params, nudge: bool) -> Segments {
    let dir = format!("{}/../testdata/cnn", env!("CARGO_MANIFEST_DIR"));
    let graph = compiler::frontend::load_onnx(&std::fs::read(format!("{dir}/model.onnx")).unwrap(), "cnn").unwrap();
    let input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/input.json")).unwrap()).unwrap();
    let x: Vec<i128> =
        input["input_data"][0].as_array().unwrap().iter().map(|v| quantize(v.as_f64().unwrap(), 7)).collect();
    let scales = Scales { input: 7, param: 7, table_bits: 10 };
    let plan =
        QuantPlan::build(&graph, &scales, &[InputRange { min: -8.0, max: 8.0 }], &RangeBits::new(), Weights::InKey)
            .unwrap();
    let values = evaluate(&graph, &plan, std::slice::from_ref(&x)).unwrap();
    let vis = Visibility::default();
    // Stacked, the CNN takes two segments of 2^14 rows.
    let planned = cut(&graph, &plan, &vis, 14, compiler::settings::SegmentLayout::Stacked, false).unwrap();
    assert_eq!(planned.len(), 2);
    let n = planned.len();
    let mut out = Segments { pks: vec![], circuits: vec![], wiring: Wiring::default() };
    for (i, s) in planned.iter().enumerate() {
        let (g, p) = extract(&graph, &plan, &s.segment);
        let v = visibility_of(&vis, i, n);
        let mut inputs: Vec<Vec<i128>> = match i {
            0 => vec![x.clone()],
            _ => s.segment.inputs.iter().map(|&b| values[b].clone()).collect(),
        };
        if nudge && i == 1 {
            inputs[0][0] += 1;
        }
        let mut inner = params.clone();
        inner.downsize(s.layout.shape.k);
        let keygen =
            ZkCircuit::for_keygen(lower_structure(&g, &p, s.layout.shape, &v).unwrap(), compiler::KeyDigest::default());
        let vk = keygen_vk(&inner, &keygen).unwrap();
        let pk = keygen_pk(&inner, vk, &keygen).unwrap();
        out.pks.push((s.layout.shape.k, pk));
        out.circuits.push(ZkCircuit::with_witness(
            lower(&g, &p, s.layout.shape, &v, &inputs).unwrap(),
            compiler::KeyDigest::default(),
        ));
        let layout = instance_layout(&g, &v);
        if i > 0 {
            let prev = &planned[i - 1].segment;
            let (pg, _) = extract(&graph, &plan, prev);
            let before = instance_layout(&pg, &visibility_of(&vis, i - 1, n)).range(Public::OutputHash).unwrap();
            out.wiring.links.push(((i - 1, before.start), (i, layout.range(Public::InputHash).unwrap().start)));
        }
        if i + 1 == n {
            out.wiring.exposed = layout.range(Public::Outputs).unwrap().map(|j| (i, j)).collect();
        }
    }
    out
}

fn snarks(params: &Params, s: Segments) -> (Vec<Snark>, Wiring) {
    let snarks = s
        .pks
        .iter()
        .zip(s.circuits)
        .map(|((k, pk), c)| {
            let mut inner = params.clone();
            inner.downsize(*k);
            prove_segment(&inner, pk, c).unwrap()
        })
        .collect();
    (snarks, s.wiring)
}

/// Minutes and ~14 GB (a 2^21 SRS, the aggregation's keygen and three aggregate proofs): the
/// e2e tests run the same path once through the CLI; this one is for `--ignored` runs.
#[test]
#[ignore = "22 minutes and 14 GB on 2 cores: cargo test -p zkonnx-runtime -- --ignored aggregate"]
fn segment_proofs_aggregate_into_one_proof_that_binds_their_boundaries() {
    let k = 21;
    let params = Params::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(7));
    let t = std::time::Instant::now();
    let (honest, wiring) = snarks(&params, segments(&params, false));
    eprintln!("segments proven: {:?}", t.elapsed());
    let key = keygen(&params, honest.clone(), &wiring, &|_| Ok(())).unwrap();
    eprintln!("aggregation keygen: {:?} {:?}", t.elapsed(), key.config);
    let (instances, proof) = prove(&params, &key, honest.clone(), &wiring).unwrap();
    eprintln!("aggregate proven: {:?}", t.elapsed());
    let vk = key.pk.get_vk();
    verify(&params, vk, &instances, &proof).unwrap();
    // The exposed values are the last segment's public outputs.
    let last = honest.last().unwrap();
    let outputs: Vec<Fr> = wiring.exposed.iter().map(|&(_, j)| last.instances[0][j]).collect();
    assert_eq!(instances[ACCUMULATOR_LIMBS..], outputs[..]);

    // A changed public output, or a changed accumulator limb.
    for i in [ACCUMULATOR_LIMBS, 3] {
        let mut changed = instances.clone();
        changed[i] += Fr::one();
        assert!(verify(&params, vk, &changed, &proof).is_err(), "instance {i} changed");
    }
    // The second segment proven (validly) on another boundary value: its input commitment is not
    // the first segment's output commitment, and the aggregate does not verify.
    let (mut nudged, _) = snarks(&params, segments(&params, true));
    let mixed = vec![honest[0].clone(), nudged.remove(1)];
    let refused = prove(&params, &key, mixed.clone(), &wiring).err().expect("a broken boundary is refused").to_string();
    assert!(refused.contains("the proofs do not link"), "{refused}");
    // Proven anyway (past that check), the circuit's equality constraint fails the proof.
    let agg = circuit(CircuitBuilderStage::Prover, key.config, &params, mixed, &wiring)
        .unwrap()
        .use_break_points(key.break_points.clone());
    let bad = root_proof(&params, &key, agg).and_then(|(i, p)| verify(&params, vk, &i, &p));
    assert!(bad.is_err(), "a proof over a broken boundary verified");
    // The segments in the other order.
    let swapped = vec![honest[1].clone(), honest[0].clone()];
    let bad = prove(&params, &key, swapped, &wiring).and_then(|(i, p)| verify(&params, vk, &i, &p));
    assert!(bad.is_err(), "segments in another order verified");
}
