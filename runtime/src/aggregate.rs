//! Aggregation: proofs checked by one circuit (snark-verifier-sdk's KZG accumulation), which
//! also constrains pairs of their public values equal (each cut's two boundary commitments) and
//! exposes only the values its verifier needs. A node of the aggregation tree
//! (`compiler::segment::tree`) verifies segment proofs or other nodes' proofs, folding in the
//! accumulators they carry; the root's proof is the one the verifier sees.
//!
//! Proofs for an aggregation (segments', inner nodes') use the Poseidon transcript the circuit
//! re-runs in-circuit; the root's the Keccak transcript every other zkonnx proof uses (so the
//! EVM can verify it). Every proof shares one SRS: segments use downsized copies of the
//! aggregation's. An aggregate's first 12 instances are its KZG accumulator (two points, 3 limbs
//! of 88 bits per coordinate); verifying means checking the proof and then the accumulator's
//! pairing, which stands for every proof below it.

use crate::error::{Result, RuntimeError};
use crate::srs::Params;
use compiler::ZkCircuit;
use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof, Circuit, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::{Params as _, ParamsProver as _};
use halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2curves::bn256::{Bn256, Fr, G1Affine};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality};
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::snark_verifier::pcs::kzg::{KzgAccumulator, KzgDecidingKey, LimbsEncoding};
use snark_verifier_sdk::snark_verifier::pcs::{AccumulationDecider, AccumulatorEncoding};
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{CircuitExt, NativeLoader, Snark, SHPLONK};

type PoseidonWrite = PoseidonTranscript<NativeLoader, Vec<u8>>;
type PoseidonRead<'a> = PoseidonTranscript<NativeLoader, &'a [u8]>;

/// How many instances the accumulator takes at the start of an aggregate's instance column.
pub const ACCUMULATOR_LIMBS: usize = 12;

/// One public value of one proof an aggregation verifies: (which proof, index in its instance
/// column).
pub type InstanceRef = (usize, usize);

/// What the aggregation circuit checks besides the proofs: `links` are pairs of instances that
/// must be equal (a cut's output commitment and the next segment's input commitment); `exposed`
/// are the instances it makes public, in order, after the accumulator.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wiring {
    pub links: Vec<(InstanceRef, InstanceRef)>,
    pub exposed: Vec<InstanceRef>,
}

/// A proof the aggregation circuit verifies (a segment's, or a tree node's: `accumulated`, its
/// first instances an accumulator the parent folds in), on the Poseidon transcript the circuit
/// re-runs, SHPLONK. Checked here first: the aggregation circuit would accept a bad proof and
/// only its accumulator would fail.
pub fn prove_inner<C: Circuit<Fr>>(
    params: &Params,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: Vec<Fr>,
    accumulated: bool,
) -> Result<Snark> {
    let mut transcript = PoseidonWrite::from_spec(vec![], POSEIDON_SPEC.clone());
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        params,
        pk,
        &[circuit],
        &[&[&instances]],
        rand::rngs::OsRng,
        &mut transcript,
    )
    .map_err(|e| RuntimeError::Other(format!("proving for the aggregation failed: {e}")))?;
    let proof = transcript.finalize();
    let snark = snark_of(params, pk.get_vk(), instances, proof, accumulated);
    verify_inner(params, pk.get_vk(), &snark)?;
    Ok(snark)
}

/// A segment's proof for the aggregation.
pub fn prove_segment(params: &Params, pk: &ProvingKey<G1Affine>, circuit: ZkCircuit) -> Result<Snark> {
    let instances = circuit.instances();
    prove_inner(params, pk, circuit, instances, false)
}

/// A proof as the aggregation circuit reads it; `accumulated`: a tree node's, whose first
/// `ACCUMULATOR_LIMBS` instances are the accumulator it carries.
pub fn snark_of(
    params: &Params,
    vk: &VerifyingKey<G1Affine>,
    instances: Vec<Fr>,
    proof: Vec<u8>,
    accumulated: bool,
) -> Snark {
    let protocol = protocol(params, vk, instances.len(), accumulated);
    Snark::new(protocol, vec![instances], proof)
}

/// How the aggregation circuit reads proofs of `vk`'s circuit.
fn protocol(
    params: &Params,
    vk: &VerifyingKey<G1Affine>,
    instances: usize,
    accumulated: bool,
) -> PlonkProtocol<G1Affine> {
    let accumulator = if accumulated { AggregationCircuit::accumulator_indices() } else { None };
    compile(params, vk, Config::kzg().with_num_instance(vec![instances]).with_accumulator_indices(accumulator))
}

/// A placeholder proof shaped as `vk`'s (for keygen, where values do not matter).
pub fn dummy_snark(params: &Params, vk: &VerifyingKey<G1Affine>, instances: usize, accumulated: bool) -> Snark {
    snark_verifier_sdk::halo2::gen_dummy_snark_from_protocol::<SHPLONK>(protocol(params, vk, instances, accumulated))
}

/// Check one proof made for the aggregation on its own: the proof, and for a node's proof the
/// accumulator it carries (so a bad node is named where it is made, not at the root).
pub fn verify_inner(params: &Params, vk: &VerifyingKey<G1Affine>, snark: &Snark) -> Result<()> {
    let mut transcript = PoseidonRead::from_spec(&snark.proof[..], POSEIDON_SPEC.clone());
    let instances: Vec<&[Fr]> = snark.instances.iter().map(Vec::as_slice).collect();
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params.verifier_params(),
        vk,
        SingleStrategy::new(params),
        &[&instances],
        &mut transcript,
    )
    .map_err(|_| RuntimeError::InvalidProof("a proof for the aggregation does not verify".into()))?;
    if snark.protocol.accumulator_indices.is_empty() {
        return Ok(());
    }
    decide(params, &snark.instances.concat())
}

/// The pairing check the accumulator in an aggregate's first instances stands for.
fn decide(params: &Params, instances: &[Fr]) -> Result<()> {
    let Some(limbs) = instances.get(..ACCUMULATOR_LIMBS) else {
        return Err(RuntimeError::InvalidProof("the aggregate has no accumulator".into()));
    };
    let limbs: Vec<&Fr> = limbs.iter().collect();
    let accumulator: KzgAccumulator<G1Affine, NativeLoader> =
        <LimbsEncoding<3, 88> as AccumulatorEncoding<G1Affine, NativeLoader>>::from_repr(&limbs)
            .map_err(|_| RuntimeError::InvalidProof("the aggregate's accumulator is not a pair of points".into()))?;
    let dk: KzgDecidingKey<Bn256> = (params.get_g()[0], params.g2(), params.s_g2()).into();
    <SHPLONK as AccumulationDecider<G1Affine, NativeLoader>>::decide(&dk, accumulator)
        .map_err(|_| RuntimeError::InvalidProof("the aggregate's accumulator fails its pairing check".into()))
}

/// The aggregation circuit over these segment proofs with `wiring`'s checks.
fn circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &Params,
    snarks: Vec<Snark>,
    wiring: &Wiring,
) -> Result<AggregationCircuit> {
    let mut agg = AggregationCircuit::new::<SHPLONK>(stage, config, params, snarks, VerifierUniversality::None);
    let previous = agg.previous_instances().clone();
    let cell = |(s, i): InstanceRef| {
        previous.get(s).and_then(|p| p.get(i)).copied().ok_or_else(|| {
            RuntimeError::Other(format!("the aggregation refers to instance {i} of segment {s}, which has none"))
        })
    };
    let links = wiring.links.iter().map(|&(a, b)| Ok((cell(a)?, cell(b)?))).collect::<Result<Vec<_>>>()?;
    let exposed = wiring.exposed.iter().map(|&r| cell(r)).collect::<Result<Vec<_>>>()?;
    let ctx = agg.builder.main(0);
    for (a, b) in &links {
        ctx.constrain_equal(a, b);
    }
    agg.builder.assigned_instances[0].extend(exposed);
    Ok(agg)
}

/// The aggregation circuit's keys, and what proving needs to lay it out again the same way.
pub struct AggregateKey {
    pub pk: ProvingKey<G1Affine>,
    pub config: AggregationConfigParams,
    pub break_points: Vec<Vec<usize>>,
    /// Each child proof's verifying-key digest, in order: the circuit has them as constants, so
    /// a proof of another circuit in a slot cannot be laid out (refused before, not by a panic).
    pub children: Vec<Option<Fr>>,
}

fn digests(snarks: &[Snark]) -> Vec<Option<Fr>> {
    snarks.iter().map(|s| s.protocol.transcript_initial_state).collect()
}

/// Keygen for aggregating proofs shaped like `snarks` (their values do not matter) at 2^k rows.
/// `fits` sees the circuit's columns before the keys are made (the memory check).
pub fn keygen(
    params: &Params,
    snarks: Vec<Snark>,
    wiring: &Wiring,
    fits: &dyn Fn(&AggregationConfigParams) -> Result<()>,
) -> Result<AggregateKey> {
    let k = params.k();
    let children = digests(&snarks);
    let start = AggregationConfigParams { degree: k, lookup_bits: k as usize - 1, ..Default::default() };
    let mut agg = circuit(CircuitBuilderStage::Keygen, start, params, snarks, wiring)?;
    let config = agg.calculate_params(Some(20));
    fits(&config)?;
    let vk = keygen_vk(params, &agg).map_err(|e| RuntimeError::Other(format!("aggregation keygen failed: {e}")))?;
    let pk = keygen_pk(params, vk, &agg).map_err(|e| RuntimeError::Other(format!("aggregation keygen failed: {e}")))?;
    let break_points = agg.break_points();
    Ok(AggregateKey { pk, config, break_points, children })
}

/// The aggregation circuit on these proofs, laid out as at keygen, after checking each is a
/// proof of the circuit its slot was set up for.
fn laid_out(params: &Params, key: &AggregateKey, snarks: Vec<Snark>, wiring: &Wiring) -> Result<AggregationCircuit> {
    let given = digests(&snarks);
    if given.len() != key.children.len() {
        return Err(RuntimeError::Input(format!(
            "{} proofs for an aggregation set up for {}",
            given.len(),
            key.children.len()
        )));
    }
    if let Some(i) = (0..given.len()).find(|&i| given[i] != key.children[i]) {
        return Err(RuntimeError::Input(format!(
            "proof {i} is not a proof of the circuit this aggregation was set up for in slot {i}"
        )));
    }
    // The circuit constrains each link; checking it here names a broken one before minutes of
    // proving end in a proof that does not verify.
    let value = |(s, i): InstanceRef| snarks.get(s).and_then(|p| p.instances.first()).and_then(|v| v.get(i)).copied();
    for &(a, b) in &wiring.links {
        if value(a).is_none() || value(a) != value(b) {
            return Err(RuntimeError::Input(format!(
                "the proofs do not link: public value {} of proof {} is not value {} of proof {} (a cut's two \
                 boundary commitments: the segments were proven on different boundary values)",
                b.1, b.0, a.1, a.0
            )));
        }
    }
    Ok(circuit(CircuitBuilderStage::Prover, key.config, params, snarks, wiring)?
        .use_break_points(key.break_points.clone()))
}

/// A tree node's proof of these proofs, for its parent (Poseidon transcript): its instances are
/// its accumulator, then the exposed values.
pub fn prove_node(params: &Params, key: &AggregateKey, snarks: Vec<Snark>, wiring: &Wiring) -> Result<Snark> {
    let agg = laid_out(params, key, snarks, wiring)?;
    let instances = agg.instances().remove(0);
    prove_inner(params, &key.pk, agg, instances, true)
}

/// The root's proof of these proofs: its instances (accumulator, then the exposed values) and
/// its bytes (Keccak transcript, for every verifier including the EVM).
pub fn prove(params: &Params, key: &AggregateKey, snarks: Vec<Snark>, wiring: &Wiring) -> Result<(Vec<Fr>, Vec<u8>)> {
    root_proof(params, key, laid_out(params, key, snarks, wiring)?)
}

fn root_proof(params: &Params, key: &AggregateKey, agg: AggregationCircuit) -> Result<(Vec<Fr>, Vec<u8>)> {
    let instances = agg.instances().remove(0);
    let proof = crate::transcript::prove(params, &key.pk, agg, &instances)?;
    Ok((instances, proof))
}

/// Check an aggregate proof: the proof against its key, then the accumulator it carries (the
/// pairing that stands for every proof below it).
pub fn verify(params: &Params, vk: &VerifyingKey<G1Affine>, instances: &[Fr], proof: &[u8]) -> Result<()> {
    crate::transcript::verify(params, vk, instances, proof)?;
    decide(params, instances)
}

#[cfg(test)]
mod tests;
