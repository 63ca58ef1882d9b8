//! Aggregation: the proofs of a model's segments checked by one circuit (snark-verifier-sdk's
//! KZG accumulation), which also constrains each cut's two boundary commitments equal and
//! exposes only the public values the verifier needs. One proof for the verifier, whatever the
//! number of segments.
//!
//! Segment proofs are made with the Poseidon transcript the aggregation circuit re-runs in-circuit;
//! the aggregate itself with the Keccak transcript every other zkonnx proof uses (so the EVM can
//! verify it). Every proof shares one SRS: the inner ones use downsized copies of the aggregate's.
//! The aggregate's first 12 instances are the KZG accumulator (two points, 3 limbs of 88 bits per
//! coordinate); verifying means checking the proof and then the accumulator's pairing.

use crate::error::{Result, RuntimeError};
use crate::srs::Params;
use compiler::circuit::ZkCircuit;
use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::{Params as _, ParamsProver as _};
use halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{TranscriptReadBuffer, TranscriptWriterBuffer};
use halo2curves::bn256::{Bn256, Fr, G1Affine};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality};
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::snark_verifier::pcs::kzg::{KzgAccumulator, KzgDecidingKey, LimbsEncoding};
use snark_verifier_sdk::snark_verifier::pcs::{AccumulationDecider, AccumulatorEncoding};
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::{CircuitExt, NativeLoader, Snark, SHPLONK};

type PoseidonWrite = PoseidonTranscript<NativeLoader, Vec<u8>>;
type PoseidonRead<'a> = PoseidonTranscript<NativeLoader, &'a [u8]>;
type KeccakWrite = EvmTranscript<G1Affine, NativeLoader, Vec<u8>, Vec<u8>>;
type KeccakRead<'a> = EvmTranscript<G1Affine, NativeLoader, &'a [u8], Vec<u8>>;

/// How many instances the accumulator takes at the start of an aggregate's instance column.
pub const ACCUMULATOR_LIMBS: usize = 12;

/// One public value of one segment proof: (segment, index in its instance column).
pub type InstanceRef = (usize, usize);

/// What the aggregation circuit checks besides the proofs: `links` are pairs of segment
/// instances that must be equal (a cut's output commitment and the next segment's input
/// commitment); `exposed` are the segment instances it makes public, in order, after the
/// accumulator (the model's own public values).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wiring {
    pub links: Vec<(InstanceRef, InstanceRef)>,
    pub exposed: Vec<InstanceRef>,
}

/// A segment's proof for the aggregation circuit (Poseidon transcript, SHPLONK), checked here
/// first: the aggregation circuit would accept a bad proof and only its accumulator would fail.
pub fn prove_segment(params: &Params, pk: &ProvingKey<G1Affine>, circuit: ZkCircuit) -> Result<Snark> {
    let instances = circuit.instances();
    let mut transcript = PoseidonWrite::from_spec(vec![], POSEIDON_SPEC.clone());
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        params,
        pk,
        &[circuit],
        &[&[&instances]],
        rand::rngs::OsRng,
        &mut transcript,
    )
    .map_err(|e| RuntimeError::Other(format!("proving a segment failed: {e}")))?;
    let proof = transcript.finalize();
    let snark = snark_of(params, pk.get_vk(), instances, proof);
    verify_segment(params, pk.get_vk(), &snark)?;
    Ok(snark)
}

/// A segment proof as the aggregation circuit reads it.
pub fn snark_of(params: &Params, vk: &VerifyingKey<G1Affine>, instances: Vec<Fr>, proof: Vec<u8>) -> Snark {
    let protocol = compile(params, vk, Config::kzg().with_num_instance(vec![instances.len()]));
    Snark::new(protocol, vec![instances], proof)
}

/// Check one segment proof on its own.
pub fn verify_segment(params: &Params, vk: &VerifyingKey<G1Affine>, snark: &Snark) -> Result<()> {
    let mut transcript = PoseidonRead::from_spec(&snark.proof[..], POSEIDON_SPEC.clone());
    let instances: Vec<&[Fr]> = snark.instances.iter().map(Vec::as_slice).collect();
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params.verifier_params(),
        vk,
        SingleStrategy::new(params),
        &[&instances],
        &mut transcript,
    )
    .map_err(|_| RuntimeError::InvalidProof("a segment proof does not verify".into()))
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
    /// Each segment's verifying-key digest, in order: the circuit has them as constants, so a
    /// proof of another circuit in a slot cannot be laid out (refused before, not by a panic).
    pub segments: Vec<Option<Fr>>,
}

fn digests(snarks: &[Snark]) -> Vec<Option<Fr>> {
    snarks.iter().map(|s| s.protocol.transcript_initial_state).collect()
}

/// Keygen for aggregating proofs shaped like `snarks` (their values do not matter) at 2^k rows.
pub fn keygen(params: &Params, snarks: Vec<Snark>, wiring: &Wiring) -> Result<AggregateKey> {
    let k = params.k();
    let segments = digests(&snarks);
    let start = AggregationConfigParams { degree: k, lookup_bits: k as usize - 1, ..Default::default() };
    let mut agg = circuit(CircuitBuilderStage::Keygen, start, params, snarks, wiring)?;
    let config = agg.calculate_params(Some(20));
    let vk = keygen_vk(params, &agg).map_err(|e| RuntimeError::Other(format!("aggregation keygen failed: {e}")))?;
    let pk = keygen_pk(params, vk, &agg).map_err(|e| RuntimeError::Other(format!("aggregation keygen failed: {e}")))?;
    let break_points = agg.break_points();
    Ok(AggregateKey { pk, config, break_points, segments })
}

/// The aggregate proof of these segment proofs: its instances (accumulator, then the exposed
/// values) and its bytes (Keccak transcript).
pub fn prove(params: &Params, key: &AggregateKey, snarks: Vec<Snark>, wiring: &Wiring) -> Result<(Vec<Fr>, Vec<u8>)> {
    let given = digests(&snarks);
    if given.len() != key.segments.len() {
        return Err(RuntimeError::Input(format!(
            "{} segment proofs for an aggregation set up for {}",
            given.len(),
            key.segments.len()
        )));
    }
    if let Some(i) = (0..given.len()).find(|&i| given[i] != key.segments[i]) {
        return Err(RuntimeError::Input(format!(
            "segment proof {i} is not a proof of segment {i} of the model this aggregation was set up for"
        )));
    }
    let agg = circuit(CircuitBuilderStage::Prover, key.config, params, snarks, wiring)?
        .use_break_points(key.break_points.clone());
    let instances = agg.instances().remove(0);
    let mut transcript = KeccakWrite::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        params,
        &key.pk,
        &[agg],
        &[&[&instances]],
        rand::rngs::OsRng,
        &mut transcript,
    )
    .map_err(|e| RuntimeError::Other(format!("proving the aggregate failed: {e}")))?;
    Ok((instances, transcript.finalize()))
}

/// Check an aggregate proof: the proof against its key, then the accumulator it carries (the
/// pairing that stands for every segment proof's opening).
pub fn verify(params: &Params, vk: &VerifyingKey<G1Affine>, instances: &[Fr], proof: &[u8]) -> Result<()> {
    let mut transcript = KeccakRead::init(proof);
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params.verifier_params(),
        vk,
        SingleStrategy::new(params),
        &[&[instances]],
        &mut transcript,
    )
    .map_err(|_| RuntimeError::InvalidProof("the aggregate proof does not verify".into()))?;
    let limbs: Vec<&Fr> = instances.iter().take(ACCUMULATOR_LIMBS).collect();
    if limbs.len() < ACCUMULATOR_LIMBS {
        return Err(RuntimeError::InvalidProof("the aggregate has no accumulator".into()));
    }
    let accumulator: KzgAccumulator<G1Affine, NativeLoader> =
        <LimbsEncoding<3, 88> as AccumulatorEncoding<G1Affine, NativeLoader>>::from_repr(&limbs)
            .map_err(|_| RuntimeError::InvalidProof("the aggregate's accumulator is not a pair of points".into()))?;
    let dk: KzgDecidingKey<Bn256> = (params.get_g()[0], params.g2(), params.s_g2()).into();
    <SHPLONK as AccumulationDecider<G1Affine, NativeLoader>>::decide(&dk, accumulator)
        .map_err(|_| RuntimeError::InvalidProof("the aggregate's accumulator fails its pairing check".into()))
}

#[cfg(test)]
mod tests;
