//! The Keccak transcript every proof a verifier reads is made on (one circuit's, an aggregate's
//! root): the one the EVM verifier recomputes, so one proof serves `verify` and `verify-evm`.
//! Proving and checking it live here once.

use crate::error::{Result, RuntimeError};
use crate::srs::Params;
use halo2_proofs::plonk::{create_proof, verify_proof, Circuit, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{TranscriptReadBuffer, TranscriptWriterBuffer};
use halo2curves::bn256::{Bn256, Fr, G1Affine};
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier_sdk::NativeLoader;

/// The transcript's name in proof files (Keccak-256 costs no measurable prove time over Blake2b).
pub const TRANSCRIPT: &str = "keccak256";

type KeccakWrite = EvmTranscript<G1Affine, NativeLoader, Vec<u8>, Vec<u8>>;
type KeccakRead<'a, 'b> = EvmTranscript<G1Affine, NativeLoader, &'a mut &'b [u8], Vec<u8>>;

/// A proof of `circuit` with these instances (one instance column), SHPLONK on Keccak.
pub fn prove<C: Circuit<Fr>>(
    params: &Params,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
) -> Result<Vec<u8>> {
    let mut transcript = KeccakWrite::init(vec![]);
    // halo2 panics on an SRS whose points are not on the curve: one line instead.
    compiler::panics::caught(|| {
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
            params,
            pk,
            &[circuit],
            &[&[instances]],
            rand::rngs::OsRng,
            &mut transcript,
        )
    })
    .map_err(|why| RuntimeError::Other(format!("proving failed: halo2 stopped ({why})")))?
    .map_err(|e| RuntimeError::Other(format!("proving failed: {e}")))?;
    Ok(transcript.finalize())
}

/// Check a proof made by `prove`: halo2's verifier, and no byte after what it reads (a proof
/// with bytes appended is another byte string, and a reader must not take it for this one).
pub fn verify(params: &Params, vk: &VerifyingKey<G1Affine>, instances: &[Fr], proof: &[u8]) -> Result<()> {
    // The transcript reads from `rest`, which is left holding what it did not read.
    let mut rest = proof;
    let mut transcript = KeccakRead::init(&mut rest);
    // A verifying key halo2 parsed can still make its verifier panic (a flipped flag of a
    // well-formed key): that key verifies nothing.
    compiler::panics::caught(|| {
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            params.verifier_params(),
            vk,
            SingleStrategy::new(params),
            &[&[instances]],
            &mut transcript,
        )
    })
    .map_err(|why| RuntimeError::InvalidProof(format!("the verifying key cannot check it ({why})")))?
    .map_err(|e| RuntimeError::InvalidProof(format!("halo2 rejected it ({e:?})")))?;
    drop(transcript);
    if !rest.is_empty() {
        return Err(RuntimeError::InvalidProof(format!("{} bytes follow the proof", rest.len())));
    }
    Ok(())
}
