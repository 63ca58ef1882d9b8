//! Setup, prove and verify for a model compiled with `--segment-logrows`: keys for every
//! segment (under the aggregation's SRS, downsized) and for the aggregation circuit; segment
//! proofs, then one aggregate proof whose public values, after the accumulator, are exactly the
//! model's instance layout, so `verify` decodes them as for an unsegmented model.
//!
//! Files: `segments/<i>.pk`, `segments/<i>.vk` per segment; the aggregate's keys are the model's
//! `pk.bin` and `vk.bin`; `segments/aggregate.json` holds how the aggregation circuit was laid
//! out (proving lays it out again the same way).

use crate::aggregate::{self, AggregateKey, InstanceRef, Wiring, ACCUMULATOR_LIMBS};
use crate::error::{Result, RuntimeError};
use crate::files::{open_binary, read_binary, read_json, write_binary, write_binary_streamed, write_json, Kind};
use crate::keys::{self, SetupReport};
use crate::model::{ArtifactDir, Model};
use crate::srs::{self, Params};
use compiler::circuit::instance::{InstanceLayout, Public};
use compiler::circuit::lower::{instance_layout, lower, lower_structure};
use compiler::circuit::ZkCircuit;
use compiler::segment::{extract, visibility_of};
use compiler::settings::{Segmentation, Settings};
use halo2_proofs::plonk::{keygen_pk, keygen_vk_custom, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::Params as _;
use halo2_proofs::SerdeFormat;
use halo2curves::bn256::{Fr, G1Affine};
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};
use snark_verifier_sdk::Snark;
use std::path::PathBuf;

/// How the aggregation circuit was laid out at setup.
#[derive(Serialize, Deserialize)]
struct AggregateLayout {
    config: AggregationConfigParams,
    break_points: Vec<Vec<usize>>,
    /// Each segment's verifying-key digest (hex), in order.
    segments: Vec<Option<String>>,
}

fn folder(art: &ArtifactDir) -> PathBuf {
    art.dir.join("segments")
}

fn segment_key(art: &ArtifactDir, i: usize, ext: &str) -> PathBuf {
    folder(art).join(format!("{i}.{ext}"))
}

fn layout_path(art: &ArtifactDir) -> PathBuf {
    folder(art).join("aggregate.json")
}

fn segmentation(settings: &Settings) -> Result<&Segmentation> {
    settings
        .segments
        .as_ref()
        .ok_or_else(|| RuntimeError::Input("this model is not segmented; compile it with --segment-logrows".into()))
}

/// Segment i's instance layout.
fn layout_of(model: &Model, seg: &Segmentation, i: usize) -> InstanceLayout {
    let (g, _) = extract(&model.graph, &model.plan, &seg.parts[i].segment);
    instance_layout(&g, &visibility_of(&model.settings.visibility, i, seg.parts.len()))
}

/// What the aggregation checks and exposes: every cut's output commitment equal to the next
/// segment's input commitment; the first segment's input values (or their commitment) and the
/// last segment's outputs (or theirs), in the model's instance order.
pub fn wiring(model: &Model) -> Result<Wiring> {
    let seg = segmentation(&model.settings)?;
    let n = seg.parts.len();
    let layouts: Vec<InstanceLayout> = (0..n).map(|i| layout_of(model, seg, i)).collect();
    let at = |i: usize, kind: Public| -> Vec<InstanceRef> {
        layouts[i].range(kind).map(|r| r.map(|j| (i, j)).collect()).unwrap_or_default()
    };
    let links = (1..n).map(|i| (at(i - 1, Public::OutputHash)[0], at(i, Public::InputHash)[0])).collect();
    let model_layout = InstanceLayout::of(&model.settings);
    let exposed = model_layout
        .parts()
        .flat_map(|kind| match kind {
            Public::Inputs | Public::InputHash => at(0, kind),
            _ => at(n - 1, kind),
        })
        .collect();
    Ok(Wiring { links, exposed })
}

/// Peak memory of the aggregation's keygen or proving, estimated from measurements at 2^21 rows:
/// 13.7 GB for two segments of testdata/cnn, 14.8 GB for three of testdata/mixed (the circuit
/// verifies every segment proof in-circuit; its columns grow with their count). Refused when it
/// cannot fit.
pub fn check_aggregate_memory(seg: &Segmentation, what: &str) -> Result<u64> {
    const BASE: u64 = 10_500 << 20;
    const PER_SEGMENT: u64 = 1_500 << 20;
    let need = BASE + PER_SEGMENT * seg.parts.len() as u64;
    keys::check_bytes(need, &format!("{what} of {} segments and their aggregation", seg.parts.len()))
}

/// The SRS of segment i: the aggregation's, downsized.
fn downsized(params: &Params, k: u32) -> Params {
    let mut p = params.clone();
    p.downsize(k);
    p
}

/// `zkonnx setup` for a segmented model: `params` is the SRS for 2^aggregate_k rows.
pub fn setup(model: &Model, art: &ArtifactDir, params: &Params, progress: &dyn Fn(String)) -> Result<SetupReport> {
    let seg = segmentation(&model.settings)?;
    std::fs::create_dir_all(folder(art)).map_err(|e| RuntimeError::Other(format!("{}: {e}", folder(art).display())))?;
    let n = seg.parts.len();
    let mut dummies = vec![];
    for (i, part) in seg.parts.iter().enumerate() {
        let (g, p) = extract(&model.graph, &model.plan, &part.segment);
        let vis = visibility_of(&model.settings.visibility, i, n);
        keys::check_keygen_memory(part.circuit, &format!("keygen of segment {i}"))?;
        let inner = downsized(params, part.circuit.k);
        let circuit = ZkCircuit::for_keygen(lower_structure(&g, &p, part.circuit, &vis)?);
        let failed = |e| RuntimeError::Other(format!("keygen of segment {i} failed: {e}"));
        let vk = keygen_vk_custom(&inner, &circuit, true).map_err(failed)?;
        let pk = keygen_pk(&inner, vk.clone(), &circuit).map_err(failed)?;
        write_key(art, i, &pk, &vk, model)?;
        let instances = instance_layout(&g, &vis).len();
        dummies.push(snark_verifier_sdk::halo2::gen_dummy_snark_from_vk::<snark_verifier_sdk::SHPLONK>(
            &inner,
            &vk,
            vec![instances],
            None,
        ));
        progress(format!("segment {}/{n}: keys for k={}, {} rows", i + 1, part.circuit.k, part.rows));
    }
    progress(format!("aggregation circuit: keygen at k={} for {n} segment proofs", seg.aggregate_k));
    let key = aggregate::keygen(params, dummies, &wiring(model)?)?;
    let mut vk_bytes = vec![];
    key.pk.get_vk().write(&mut vk_bytes, SerdeFormat::RawBytes).map_err(|e| RuntimeError::Other(e.to_string()))?;
    let layout = AggregateLayout {
        config: key.config,
        break_points: key.break_points.clone(),
        segments: key.segments.iter().map(|d| d.as_ref().map(crate::proof::fr_to_hex)).collect(),
    };
    write_json(&layout_path(art), &layout)?;
    write_binary(&art.verifying_key(), Kind::VerifyingKey, &model.binding, &vk_bytes)?;
    if let Some(path) = art.verifier_srs() {
        write_binary(&path, Kind::VerifierSrs, &model.binding, &srs::verifier_bytes(params))?;
    }
    // Streamed: the aggregation's key is gigabytes.
    let pk_bytes = write_binary_streamed(&art.proving_key(), Kind::ProvingKey, &model.binding, |mut w| {
        key.pk.write(&mut w, SerdeFormat::RawBytesUnchecked)
    })?;
    Ok(SetupReport {
        k: seg.aggregate_k,
        rows: seg.parts.iter().map(|p| p.rows).max().unwrap_or(0),
        pk_bytes,
        vk_bytes: vk_bytes.len() as u64,
    })
}

fn write_key(
    art: &ArtifactDir,
    i: usize,
    pk: &ProvingKey<G1Affine>,
    vk: &VerifyingKey<G1Affine>,
    model: &Model,
) -> Result<()> {
    let mut vk_bytes = vec![];
    vk.write(&mut vk_bytes, SerdeFormat::RawBytes).map_err(|e| RuntimeError::Other(e.to_string()))?;
    write_binary(&segment_key(art, i, "vk"), Kind::VerifyingKey, &model.binding, &vk_bytes)?;
    write_binary_streamed(&segment_key(art, i, "pk"), Kind::ProvingKey, &model.binding, |mut w| {
        pk.write(&mut w, SerdeFormat::RawBytesUnchecked)
    })?;
    Ok(())
}

fn missing(art: &ArtifactDir, path: &std::path::Path) -> RuntimeError {
    RuntimeError::Other(format!("{} is missing; run `zkonnx setup {}` first", path.display(), art.dir.display()))
}

/// Segment i's proof, on the model's values (`values`: every node's, from the evaluator).
pub fn prove_segment(
    model: &Model,
    art: &ArtifactDir,
    params: &Params,
    i: usize,
    model_inputs: &[Vec<i128>],
    values: &[Vec<i128>],
) -> Result<Snark> {
    let seg = segmentation(&model.settings)?;
    let part = &seg.parts[i];
    let (g, p) = extract(&model.graph, &model.plan, &part.segment);
    let vis = visibility_of(&model.settings.visibility, i, seg.parts.len());
    let inputs: Vec<Vec<i128>> = match i {
        0 => model_inputs.to_vec(),
        _ => part.segment.inputs.iter().map(|&b| values[b].clone()).collect(),
    };
    let path = segment_key(art, i, "pk");
    if !path.exists() {
        return Err(missing(art, &path));
    }
    keys::check_prove_memory(part.circuit, &format!("proving segment {i}"))?;
    let mut reader = open_binary(&path, Kind::ProvingKey, &model.binding)?;
    let pk =
        ProvingKey::read::<_, ZkCircuit>(&mut reader, SerdeFormat::RawBytesUnchecked, part.circuit).map_err(|e| {
            RuntimeError::Corrupt { path: path.display().to_string(), what: "proving key", reason: e.to_string() }
        })?;
    let circuit = ZkCircuit::with_witness(lower(&g, &p, part.circuit, &vis, &inputs)?);
    aggregate::prove_segment(&downsized(params, part.circuit.k), &pk, circuit)
}

/// One segment's proof as a file, for schedulers that prove segments on many machines
/// (`zkonnx prove --segment i`, then `zkonnx aggregate`).
#[derive(Serialize, Deserialize)]
pub struct SegmentProofFile {
    pub format: String,
    pub binding: String,
    pub segment: usize,
    /// 32-byte little-endian field elements, hex.
    pub instances: Vec<String>,
    /// Poseidon transcript, hex.
    pub proof: String,
}

pub const SEGMENT_PROOF_FORMAT: &str = "zkonnx-segment-proof/1";

impl SegmentProofFile {
    pub fn of(model: &Model, segment: usize, snark: &Snark) -> Self {
        SegmentProofFile {
            format: SEGMENT_PROOF_FORMAT.into(),
            binding: hex::encode(model.binding),
            segment,
            instances: snark.instances.concat().iter().map(crate::proof::fr_to_hex).collect(),
            proof: hex::encode(&snark.proof),
        }
    }
}

/// Segment proof files, in segment order, as the aggregation reads them: each checked to be
/// this model's, of the right segment, and valid on its own (so a bad one is named here rather
/// than failing the aggregate).
pub fn read_segment_proofs(model: &Model, art: &ArtifactDir, params: &Params, paths: &[PathBuf]) -> Result<Vec<Snark>> {
    let seg = segmentation(&model.settings)?;
    if paths.len() != seg.parts.len() {
        return Err(RuntimeError::Input(format!(
            "{} segment proofs given; this model has {} segments",
            paths.len(),
            seg.parts.len()
        )));
    }
    let mut snarks = vec![];
    for (i, path) in paths.iter().enumerate() {
        let bad = |reason: String| RuntimeError::Mismatch { path: path.display().to_string(), reason };
        let file: SegmentProofFile = read_json(path, "segment proof")?;
        if file.format != SEGMENT_PROOF_FORMAT {
            return Err(bad(format!("format {}, this zkonnx reads {SEGMENT_PROOF_FORMAT}", file.format)));
        }
        if file.binding != hex::encode(model.binding) {
            return Err(bad("it was made for another model or settings".into()));
        }
        if file.segment != i {
            return Err(bad(format!("it proves segment {}, given as segment {i}", file.segment)));
        }
        let instances = file
            .instances
            .iter()
            .map(|h| crate::proof::fr_from_hex(h).ok_or_else(|| bad("an instance is not a field element".into())))
            .collect::<Result<Vec<Fr>>>()?;
        let proof = hex::decode(&file.proof).map_err(|_| bad("the proof is not hex".into()))?;
        let part = &seg.parts[i];
        let vk_path = segment_key(art, i, "vk");
        if !vk_path.exists() {
            return Err(missing(art, &vk_path));
        }
        let bytes = read_binary(&vk_path, Kind::VerifyingKey, &model.binding)?;
        let vk =
            VerifyingKey::read::<_, ZkCircuit>(&mut &bytes[..], SerdeFormat::RawBytes, part.circuit).map_err(|e| {
                RuntimeError::Corrupt {
                    path: vk_path.display().to_string(),
                    what: "verifying key",
                    reason: e.to_string(),
                }
            })?;
        let inner = downsized(params, part.circuit.k);
        let snark = aggregate::snark_of(&inner, &vk, instances, proof);
        aggregate::verify_segment(&inner, &vk, &snark)
            .map_err(|_| RuntimeError::InvalidProof(format!("{} (segment {i}) does not verify", path.display())))?;
        snarks.push(snark);
    }
    Ok(snarks)
}

/// The aggregate proof of the segment proofs: instances (accumulator, then the model's public
/// values) and proof bytes.
pub fn prove_aggregate(
    model: &Model,
    art: &ArtifactDir,
    params: &Params,
    snarks: Vec<Snark>,
) -> Result<(Vec<Fr>, Vec<u8>)> {
    let layout: AggregateLayout = read_json(&layout_path(art), "aggregation layout")?;
    let path = art.proving_key();
    if !path.exists() {
        return Err(missing(art, &path));
    }
    let mut reader = open_binary(&path, Kind::ProvingKey, &model.binding)?;
    let pk =
        ProvingKey::read::<_, AggregationCircuit>(&mut reader, SerdeFormat::RawBytesUnchecked, layout.config).map_err(
            |e| RuntimeError::Corrupt { path: path.display().to_string(), what: "proving key", reason: e.to_string() },
        )?;
    let segments = layout
        .segments
        .iter()
        .map(|d| {
            d.as_ref()
                .map(|h| {
                    crate::proof::fr_from_hex(h).ok_or_else(|| RuntimeError::Corrupt {
                        path: layout_path(art).display().to_string(),
                        what: "aggregation layout",
                        reason: "a segment digest is not a field element".into(),
                    })
                })
                .transpose()
        })
        .collect::<Result<Vec<_>>>()?;
    let key = AggregateKey { pk, config: layout.config, break_points: layout.break_points, segments };
    aggregate::prove(params, &key, snarks, &wiring(model)?)
}

/// The aggregation circuit's verifying key (the model's vk.bin).
pub fn load_aggregate_vk(art: &ArtifactDir, binding: &[u8; 32]) -> Result<VerifyingKey<G1Affine>> {
    let layout: AggregateLayout = read_json(&layout_path(art), "aggregation layout")?;
    let path = art.verifying_key();
    if !path.exists() {
        return Err(missing(art, &path));
    }
    let bytes = read_binary(&path, Kind::VerifyingKey, binding)?;
    VerifyingKey::read::<_, AggregationCircuit>(&mut &bytes[..], SerdeFormat::RawBytes, layout.config).map_err(|e| {
        RuntimeError::Corrupt { path: path.display().to_string(), what: "verifying key", reason: e.to_string() }
    })
}

/// Check an aggregate proof's instances and bytes with the aggregate's verifying key.
pub fn verify(
    settings: &Settings,
    art: &ArtifactDir,
    binding: &[u8; 32],
    params: &Params,
    instances: &[Fr],
    proof: &[u8],
) -> Result<()> {
    let vk = load_aggregate_vk(art, binding)?;
    let expected = ACCUMULATOR_LIMBS + InstanceLayout::of(settings).len();
    if instances.len() != expected {
        return Err(RuntimeError::InvalidProof(format!(
            "it has {} public values; an aggregate of this model exposes {expected}",
            instances.len()
        )));
    }
    aggregate::verify(params, &vk, instances, proof)
}
