//! Proving, verifying and proof files.

use crate::error::{Result, RuntimeError};
use crate::files::{fr_from_hex, fr_to_hex, read_json, write_json};
use crate::keys;
use crate::model::{binding_of, ArtifactDir, Model};
use crate::srs::{Params, SrsSource};
use crate::witness::{dequantize, Witness};
use compiler::settings::Settings;
use compiler::ZkCircuit;
use compiler::{InstanceLayout, Public};
use halo2_proofs::dev::MockProver;
use halo2curves::bn256::Fr;
use halo2curves::ff::PrimeField;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const PROOF_FORMAT: &str = "zkonnx-proof/3";

pub use crate::transcript::TRANSCRIPT;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProofFile {
    pub format: String,
    pub binding: String,
    /// The transcript the proof was made with (`TRANSCRIPT`).
    pub transcript: String,
    /// The proof bytes, hex.
    pub proof: String,
    /// Public instances, in the settings' instance layout, as 32-byte little-endian field
    /// elements, hex.
    pub instances: Vec<String>,
    /// What the instances encode, for reading (`verify` recomputes it from them).
    #[serde(flatten)]
    pub public: PublicValues,
}

/// The public values of a proof, decoded: what a verifier learns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PublicValues {
    /// The model inputs, as floats, when they are public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<Vec<f64>>>,
    /// The model outputs, as floats, when they are public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<Vec<f64>>>,
    /// The commitment of the quantized inputs (0x hex, as `zkonnx hash` prints it), when hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_hash: Option<String>,
    /// The commitment of the quantized outputs, when hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_hash: Option<String>,
    /// The commitment of the weights the proof used, when params are hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params_hash: Option<String>,
}

impl PublicValues {
    /// Decode the instance column of a proof under the settings' layout.
    fn decode(settings: &Settings, instances: &[Fr]) -> Self {
        let layout = InstanceLayout::of(settings);
        let floats = |kind: Public, specs: Vec<(usize, u32)>| {
            layout.range(kind).map(|r| {
                let mut ints = instances[r].iter().map(signed);
                specs.iter().map(|&(n, scale)| dequantize(&ints.by_ref().take(n).collect::<Vec<_>>(), scale)).collect()
            })
        };
        let numel = |shape: &[usize]| shape.iter().product::<usize>();
        let hash = |kind: Public| layout.range(kind).map(|r| compiler::commit::to_hex(&instances[r.start]));
        PublicValues {
            input_hash: hash(Public::InputHash),
            output_hash: hash(Public::OutputHash),
            params_hash: hash(Public::ParamsHash),
            inputs: floats(
                Public::Inputs,
                settings.inputs.iter().map(|i| (numel(&i.shape), i.scale(&settings.scales))).collect(),
            ),
            outputs: floats(Public::Outputs, settings.outputs.iter().map(|o| (numel(&o.shape), o.scale)).collect()),
        }
    }
}

/// Rebuild the trace from the witness's inputs and check it gives the witness's outputs.
fn circuit_for(model: &Model, witness: &Witness) -> Result<ZkCircuit> {
    let plan = model.plan_with(witness.params.as_deref())?;
    let trace = model.trace(&plan, &witness.inputs)?;
    let outputs: Vec<i128> = witness.outputs_quantized.concat();
    if trace.model_output_values() != outputs {
        return Err(RuntimeError::Input(
            "the witness outputs are not what the model computes from its inputs; run `zkonnx gen-witness` again"
                .into(),
        ));
    }
    Ok(ZkCircuit::with_witness(trace, model.key_digest()))
}

/// Check the witness lowers to the complete trace a proof is built from: every value placed and
/// range-checked by the circuit's own steps, and the outputs the witness claims. (Whether the
/// constraints hold on such a trace is the chips' tested property; `mock` checks it again.)
pub fn check_lowers(model: &Model, witness: &Witness) -> Result<()> {
    circuit_for(model, witness).map(|_| ())
}

/// `zkonnx mock`: check every constraint without a proof.
pub fn mock(model: &Model, witness: &Witness) -> Result<()> {
    let circuit = circuit_for(model, witness)?;
    let instances = circuit.instances();
    let prover = MockProver::run(model.settings.circuit.k, &circuit, vec![instances])
        .map_err(|e| RuntimeError::Other(format!("mock run failed: {e}")))?;
    prover.verify().map_err(|failures| {
        let first: Vec<String> = failures.iter().take(3).map(|f| f.to_string().replace('\n', " ")).collect();
        RuntimeError::InvalidProof(format!("{} constraint(s) fail, first: {}", failures.len(), first.join("; ")))
    })
}

/// One circuit's proof (`workflow::prove` chooses it or `prove_segmented`).
pub fn prove(model: &Model, art: &ArtifactDir, witness: &Witness, params: &Params) -> Result<ProofFile> {
    let circuit = circuit_for(model, witness)?;
    keys::check_prover_srs(art, &model.binding, params)?;
    let pk = keys::load_proving_key(art, &model.binding, model.settings.circuit)?;
    let instances = circuit.instances();
    let proof = crate::transcript::prove(params, &pk, circuit, &instances)?;
    Ok(proof_file(model, &instances, proof, 0))
}

/// A segmented model's proof: every segment's, then the aggregate (`progress` hears of each).
/// `params` is the SRS for the aggregation circuit's 2^k rows.
pub fn prove_segmented(
    model: &Model,
    art: &ArtifactDir,
    witness: &Witness,
    params: &Params,
    progress: &dyn Fn(String),
) -> Result<ProofFile> {
    keys::check_prover_srs(art, &model.binding, params)?;
    if witness.params.is_some() {
        return Err(RuntimeError::Input("a segmented model has its weights fixed; this witness carries others".into()));
    }
    let values = compiler::quant::eval::evaluate(&model.graph, &model.plan, &witness.inputs)?;
    let outputs: Vec<i128> = model.graph.outputs.iter().flat_map(|&o| values[o].clone()).collect();
    if outputs != witness.outputs_quantized.concat() {
        return Err(RuntimeError::Input(
            "the witness outputs are not what the model computes from its inputs; run `zkonnx gen-witness` again"
                .into(),
        ));
    }
    let parts = model.settings.segments.as_ref().map_or(0, |s| s.parts.len());
    let mut snarks = vec![];
    for i in 0..parts {
        let (start, peak) = (std::time::Instant::now(), crate::memory::PeakMemory::start());
        snarks.push(crate::segmented::prove_segment(model, art, params, i, &witness.inputs, &values)?);
        progress(format!("segment {}/{parts} proven ({:.1?}{})", i + 1, start.elapsed(), peak.describe()));
    }
    aggregate_proof(model, art, params, snarks, progress)
}

/// One segment's proof (`zkonnx prove --segment i`), for a scheduler that proves segments apart.
pub fn prove_one_segment(
    model: &Model,
    art: &ArtifactDir,
    witness: &Witness,
    params: &Params,
    i: usize,
) -> Result<crate::segmented::SegmentProofFile> {
    keys::check_prover_srs(art, &model.binding, params)?;
    let parts = model.settings.segments.as_ref().map_or(0, |s| s.parts.len());
    if i >= parts {
        return Err(RuntimeError::Input(format!(
            "--segment {i}: this model has {parts} segments (0 to {})",
            parts.max(1) - 1
        )));
    }
    let values = compiler::quant::eval::evaluate(&model.graph, &model.plan, &witness.inputs)?;
    let snark = crate::segmented::prove_segment(model, art, params, i, &witness.inputs, &values)?;
    Ok(crate::segmented::SegmentProofFile::of(model, i, &snark))
}

/// The aggregate of segment proofs made apart (`zkonnx aggregate`).
pub fn aggregate_files(
    model: &Model,
    art: &ArtifactDir,
    params: &Params,
    paths: &[std::path::PathBuf],
    progress: &dyn Fn(String),
) -> Result<ProofFile> {
    keys::check_prover_srs(art, &model.binding, params)?;
    let snarks = crate::segmented::read_segment_proofs(model, art, params, paths)?;
    aggregate_proof(model, art, params, snarks, progress)
}

fn aggregate_proof(
    model: &Model,
    art: &ArtifactDir,
    params: &Params,
    snarks: Vec<snark_verifier_sdk::Snark>,
    progress: &dyn Fn(String),
) -> Result<ProofFile> {
    let (instances, proof) = crate::segmented::prove_aggregate(model, art, params, snarks, progress)?;
    Ok(proof_file(model, &instances, proof, crate::aggregate::ACCUMULATOR_LIMBS))
}

/// A proof file; the model's public values start at instance `model_values` (after an
/// aggregate's accumulator).
fn proof_file(model: &Model, instances: &[Fr], proof: Vec<u8>, model_values: usize) -> ProofFile {
    ProofFile {
        format: PROOF_FORMAT.into(),
        binding: hex::encode(model.binding),
        transcript: TRANSCRIPT.into(),
        proof: hex::encode(proof),
        instances: instances.iter().map(fr_to_hex).collect(),
        public: PublicValues::decode(&model.settings, &instances[model_values..]),
    }
}

pub fn write(path: &Path, p: &ProofFile) -> Result<()> {
    write_json(path, p)
}

pub fn read(path: &Path) -> Result<ProofFile> {
    read_json(path, "proof file")
}

/// A field element as the signed integer it encodes (values above p/2 are negative).
fn signed(f: &Fr) -> i128 {
    let neg = -*f;
    let small = |x: &Fr| -> Option<i128> {
        let repr = x.to_repr();
        let bytes: &[u8] = repr.as_ref();
        bytes[16..].iter().all(|&b| b == 0).then(|| i128::from_le_bytes(bytes[..16].try_into().unwrap_or_default()))
    };
    match (small(f), small(&neg)) {
        (Some(v), _) if v >= 0 => v,
        (_, Some(v)) if v >= 0 => -v,
        _ => i128::MAX,
    }
}

/// A proof file's instances and proof bytes, checked against the settings: format, binding,
/// transcript, hex, field elements, and as many instances as the layout has.
pub fn checked_parts(settings: &Settings, file: &ProofFile, path: &Path) -> Result<(Vec<Fr>, Vec<u8>)> {
    if file.format != PROOF_FORMAT {
        return Err(RuntimeError::Mismatch {
            path: path.display().to_string(),
            reason: format!("proof format {}, this zkonnx reads {PROOF_FORMAT}", file.format),
        });
    }
    if file.binding != hex::encode(binding_of(settings)) {
        return Err(RuntimeError::Mismatch {
            path: path.display().to_string(),
            reason: "the proof was made for another model or settings".into(),
        });
    }
    let bad = |what: &str| RuntimeError::InvalidProof(what.to_string());
    if file.transcript != TRANSCRIPT {
        return Err(bad(&format!("its transcript is {:?}; this zkonnx reads {TRANSCRIPT} proofs", file.transcript)));
    }
    let proof = hex::decode(&file.proof).map_err(|_| bad("the proof is not hex"))?;
    let instances: Vec<Fr> = file
        .instances
        .iter()
        .map(|h| fr_from_hex(h).ok_or_else(|| bad("an instance is not 32 bytes of hex encoding a field element")))
        .collect::<Result<_>>()?;
    // An aggregate carries the accumulator before the model's public values.
    let accumulator = if settings.segments.is_some() { crate::aggregate::ACCUMULATOR_LIMBS } else { 0 };
    let expected = accumulator + InstanceLayout::of(settings).len();
    if instances.len() != expected {
        return Err(bad(&format!("it has {} public values; its settings expose {expected}", instances.len())));
    }
    Ok((instances, proof))
}

/// `zkonnx verify`: needs settings.json, vk.bin and srs.verifier only. Returns the verified public
/// values.
pub fn verify(
    art: &ArtifactDir,
    proof_path: &Path,
    srs: Option<&SrsSource>,
    expected: &Expected,
) -> Result<PublicValues> {
    let settings: Settings = crate::model::load_settings(art)?;
    let binding = binding_of(&settings);
    let file = read(proof_path)?;
    let (instances, proof) = checked_parts(&settings, &file, proof_path)?;
    if let Some(seg) = &settings.segments {
        let params = keys::load_verifier_srs(art, &binding, srs, seg.aggregate_k)?;
        crate::segmented::verify(&settings, art, &binding, &params, &instances, &proof)?;
        let public = PublicValues::decode(&settings, &instances[crate::aggregate::ACCUMULATOR_LIMBS..]);
        if public != file.public {
            return Err(RuntimeError::InvalidProof(
                "its decoded values (\"inputs\", \"outputs\") differ from what its public instances prove".into(),
            ));
        }
        expected.check(&public)?;
        return Ok(public);
    }
    let vk = keys::load_verifying_key(art, &binding, settings.circuit)?;
    let params = keys::load_verifier_srs(art, &binding, srs, settings.circuit.k)?;
    let bad = |what: &str| RuntimeError::InvalidProof(what.to_string());
    crate::transcript::verify(&params, &vk, &instances, &proof)?;
    // The public values come from the verified instances, never from the file's own fields.
    let public = PublicValues::decode(&settings, &instances);
    if public != file.public {
        return Err(bad("its decoded values (\"inputs\", \"outputs\") differ from what its public instances prove"));
    }
    expected.check(&public)?;
    Ok(public)
}

/// The commitments a verifier already knows (`verify --expect-input-hash ...`): a proof is
/// accepted only if it proves exactly these. Without them a verified commitment says only that
/// *some* input, output or weights were used; with them, that these were.
#[derive(Clone, Debug, Default)]
pub struct Expected {
    pub input_hash: Option<String>,
    pub output_hash: Option<String>,
    pub params_hash: Option<String>,
}

impl Expected {
    /// Refuse `public` unless it holds every expected commitment. The expected values are read
    /// as field elements (0x hex, as `zkonnx hash` prints them; case and leading zeros free).
    pub fn check(&self, public: &PublicValues) -> Result<()> {
        let checks = [
            ("input_hash", &self.input_hash, &public.input_hash, "inputs"),
            ("output_hash", &self.output_hash, &public.output_hash, "outputs"),
            ("params_hash", &self.params_hash, &public.params_hash, "weights"),
        ];
        for (name, want, got, what) in checks {
            let Some(want) = want else { continue };
            let want_fr = fr_from_display_hex(want).ok_or_else(|| {
                RuntimeError::Input(format!("the expected {name} {want} is not a field element in 0x hex"))
            })?;
            let Some(got) = got else {
                return Err(RuntimeError::InvalidProof(format!(
                    "it exposes no {name} (its settings do not hash the {what}), so it cannot prove the expected one"
                )));
            };
            if fr_from_display_hex(got) != Some(want_fr) {
                return Err(RuntimeError::InvalidProof(format!("its {name} is {got}, not the expected {want}")));
            }
        }
        Ok(())
    }
}

/// A field element from the 0x big-endian hex `commit::to_hex` prints (None: not hex, too long,
/// or not below the field's modulus).
fn fr_from_display_hex(h: &str) -> Option<Fr> {
    let digits = h.trim().strip_prefix("0x").or_else(|| h.trim().strip_prefix("0X"))?;
    if digits.is_empty() || digits.len() > 64 {
        return None;
    }
    let mut be = hex::decode(format!("{digits:0>64}")).ok()?;
    be.reverse();
    fr_from_hex(&hex::encode(be))
}

#[cfg(test)]
mod tests {
    use super::PublicValues;

    /// `verify` compares the decoded public values with the proof file's exactly, so every
    /// dequantized value must survive the file: serde_json parses floats exactly only with its
    /// `float_roundtrip` feature (without it -326423 / 2^15 came back one ulp off and an honest
    /// proof of testdata/structure was refused).
    #[test]
    fn dequantized_outputs_survive_the_proof_file_exactly() {
        for scale in [7, 15, 16, 23] {
            let outputs: Vec<f64> =
                (-400_000i64..400_000).step_by(7).map(|q| q as f64 / (1u64 << scale) as f64).collect();
            let public = PublicValues { outputs: Some(vec![outputs]), ..Default::default() };
            let text = serde_json::to_string(&public).unwrap();
            let back: PublicValues = serde_json::from_str(&text).unwrap();
            assert!(back == public, "scale {scale}: a value changed through JSON");
        }
    }
}
