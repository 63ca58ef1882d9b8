//! Setup, prove and verify for a model compiled with `--segment-logrows`: keys for every
//! segment (under the aggregation's SRS, downsized) and for every node of the aggregation tree;
//! segment proofs, then the nodes' proofs bottom-up, the root's last: one aggregate proof whose
//! public values, after the accumulator, are exactly the model's instance layout, so `verify`
//! decodes them as for an unsegmented model.
//!
//! Files: `segments/<i>.pk`, `segments/<i>.vk` per segment; `segments/node<j>.pk`, `.vk` and
//! `.json` per node below the root; the root's keys are the model's `pk.bin` and `vk.bin`, and
//! `segments/aggregate.json` its layout. A layout holds how the node's circuit was laid out at
//! setup (proving lays it out again the same way).

use crate::aggregate::{self, AggregateKey, InstanceRef, Wiring, ACCUMULATOR_LIMBS};
use crate::error::{Result, RuntimeError};
use crate::files::{open_binary, read_binary, read_json, write_binary, write_binary_streamed, write_json, Kind};
use crate::keys::{self, SetupReport};
use crate::memory;
use crate::model::{ArtifactDir, Model};
use crate::srs::{self, Params};
use compiler::segment::tree::{AggregationTree, Child};
use compiler::segment::{extract, visibility_of};
use compiler::settings::{Segmentation, Settings};
use compiler::ZkCircuit;
use compiler::{instance_layout, lower, lower_structure};
use compiler::{InstanceLayout, Public};
use halo2_proofs::plonk::{keygen_pk, keygen_vk_custom, ProvingKey, VerifyingKey};
use halo2_proofs::SerdeFormat;
use halo2curves::bn256::{Fr, G1Affine};
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};
use snark_verifier_sdk::Snark;
use std::path::{Path, PathBuf};

/// How an aggregation node's circuit was laid out at setup.
#[derive(Serialize, Deserialize)]
struct AggregateLayout {
    config: AggregationConfigParams,
    break_points: Vec<Vec<usize>>,
    /// Each child proof's verifying-key digest (hex), in order.
    children: Vec<Option<String>>,
}

fn folder(art: &ArtifactDir) -> PathBuf {
    art.dir.join("segments")
}

fn segment_key(art: &ArtifactDir, i: usize, ext: &str) -> PathBuf {
    folder(art).join(format!("{i}.{ext}"))
}

/// Node j's files: the root's keys are the model's.
fn node_file(art: &ArtifactDir, tree: &AggregationTree, j: usize, ext: &str) -> PathBuf {
    match (j == tree.root(), ext) {
        (true, "json") => folder(art).join("aggregate.json"),
        (true, "pk") => art.proving_key(),
        (true, _) => art.verifying_key(),
        (false, _) => folder(art).join(format!("node{j}.{ext}")),
    }
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

/// The public values a segment or a node shows its parent, each as (segment, index in that
/// segment's instances), in instance order; the first `input_side` are its first segment's
/// input side (the model's inputs or their commitment, or a cut's input commitment), the rest
/// its last segment's output side.
#[derive(Clone)]
struct Ends {
    values: Vec<InstanceRef>,
    input_side: usize,
}

/// Every node's wiring: each pair of consecutive children's facing ends constrained equal (a
/// cut's output commitment and the next segment's input commitment, however deep below they
/// are), and the node's own ends exposed after its accumulator. The root's ends are the model's
/// public values, in the model's instance order (inputs before outputs).
pub fn wirings(model: &Model) -> Result<Vec<Wiring>> {
    let seg = segmentation(&model.settings)?;
    let tree = seg.tree();
    let n = seg.parts.len();
    let segment_ends: Vec<Ends> = (0..n)
        .map(|i| {
            let layout = layout_of(model, seg, i);
            let at = |kinds: &[Public]| -> Vec<InstanceRef> {
                kinds.iter().flat_map(|&k| layout.range(k).into_iter().flatten().map(move |j| (i, j))).collect()
            };
            let input = at(&[Public::Inputs, Public::InputHash]);
            let output = at(&[Public::Outputs, Public::OutputHash]);
            Ends { input_side: input.len(), values: [input, output].concat() }
        })
        .collect();
    let mut node_ends: Vec<Ends> = vec![];
    let mut wirings = vec![];
    for node in &tree.nodes {
        let ends = |c: &Child| match *c {
            Child::Segment(i) => &segment_ends[i],
            Child::Node(m) => &node_ends[m],
        };
        // Where a segment's value sits in child c's instances.
        let position = |c: &Child, r: InstanceRef| -> Result<usize> {
            match *c {
                Child::Segment(_) => Ok(r.1),
                Child::Node(m) => node_ends[m]
                    .values
                    .iter()
                    .position(|&v| v == r)
                    .map(|p| ACCUMULATOR_LIMBS + p)
                    .ok_or_else(|| RuntimeError::Other(format!("node {m} does not expose segment value {r:?}"))),
            }
        };
        let mut wiring = Wiring::default();
        for (slot, pair) in node.children.windows(2).enumerate() {
            let (left, right) = (ends(&pair[0]), ends(&pair[1]));
            let out = &left.values[left.input_side..];
            let inp = &right.values[..right.input_side];
            if out.len() != 1 || inp.len() != 1 {
                return Err(RuntimeError::Other(format!(
                    "the cut before segment {} has {} output and {} input commitments, not one each",
                    right.values.first().map_or(0, |v| v.0),
                    out.len(),
                    inp.len()
                )));
            }
            wiring.links.push(((slot, position(&pair[0], out[0])?), (slot + 1, position(&pair[1], inp[0])?)));
        }
        let (first, last) = match (node.children.first(), node.children.last()) {
            (Some(f), Some(l)) => (f, l),
            _ => return Err(RuntimeError::Other("an aggregation node without children".into())),
        };
        let mut mine = Ends { values: vec![], input_side: ends(first).input_side };
        mine.values.extend_from_slice(&ends(first).values[..ends(first).input_side]);
        mine.values.extend_from_slice(&ends(last).values[ends(last).input_side..]);
        let slot_last = node.children.len() - 1;
        for (p, &r) in mine.values.iter().enumerate() {
            let (slot, child) = if p < mine.input_side { (0, first) } else { (slot_last, last) };
            wiring.exposed.push((slot, position(child, r)?));
        }
        node_ends.push(mine);
        wirings.push(wiring);
    }
    Ok(wirings)
}

/// Peak memory of one aggregation node's keygen or proving at 2^21 rows: measured 7.8 GB for a
/// node of two stacked testdata/cnn segment proofs (5 advice, 1 lookup and 1 fixed columns,
/// ~9.3M cells; a node's proof costs its parent about as much as a segment proof), ~3.7 GB more
/// per further child. Refused when it cannot fit.
pub fn check_aggregate_memory(seg: &Segmentation, what: &str) -> Result<u64> {
    const BASE: u64 = 400 << 20;
    const PER_CHILD: u64 = 3_700 << 20;
    let arity = seg.tree().nodes.iter().map(|n| n.children.len()).max().unwrap_or(1) as u64;
    let need = BASE + PER_CHILD * arity;
    keys::check_bytes(need, &format!("{what} of an aggregation node of {arity} proofs"))
}

/// The SRS of a segment of 2^k rows: the aggregation's, downsized (its secret is the one the
/// root's pairing checks), cached in the artifact folder for every job of that k.
fn downsized(art: &ArtifactDir, params: &Params, k: u32) -> Result<Params> {
    srs::downsized_cached(params, k, &folder(art).join(format!("srs-k{k}.srs")))
}

/// `zkonnx setup` for a segmented model: `params` is the SRS for 2^aggregate_k rows.
pub fn setup(model: &Model, art: &ArtifactDir, params: &Params, progress: &dyn Fn(String)) -> Result<SetupReport> {
    let _lock = art.lock("setup")?;
    let seg = segmentation(&model.settings)?;
    std::fs::create_dir_all(folder(art)).map_err(|e| RuntimeError::Other(format!("{}: {e}", folder(art).display())))?;
    let n = seg.parts.len();
    let mut segment_dummies = vec![];
    for (i, part) in seg.parts.iter().enumerate() {
        let (start, peak) = (std::time::Instant::now(), memory::PeakMemory::start());
        let (g, p) = extract(&model.graph, &model.plan, &part.segment);
        let vis = visibility_of(&model.settings.visibility, i, n);
        keys::check_keygen_memory(part.circuit, &format!("keygen of segment {i}"))?;
        let inner = downsized(art, params, part.circuit.k)?;
        let circuit = ZkCircuit::for_keygen(lower_structure(&g, &p, part.circuit, &vis)?, model.key_digest());
        let failed = |e| RuntimeError::Other(format!("keygen of segment {i} failed: {e}"));
        let vk = keygen_vk_custom(&inner, &circuit, true).map_err(failed)?;
        let pk = keygen_pk(&inner, vk.clone(), &circuit).map_err(failed)?;
        write_key(&segment_key(art, i, "vk"), &segment_key(art, i, "pk"), &pk, vk.clone(), model)?;
        let instances = instance_layout(&g, &vis).len();
        segment_dummies.push(aggregate::dummy_snark(&inner, &vk, instances, false));
        progress(format!(
            "segment {}/{n}: keys for k={}, {} rows ({:.1?}{})",
            i + 1,
            part.circuit.k,
            part.rows,
            start.elapsed(),
            peak.describe()
        ));
    }
    let tree = seg.tree();
    let wirings = wirings(model)?;
    let mut node_dummies: Vec<Snark> = vec![];
    let mut root = None;
    for (j, node) in tree.nodes.iter().enumerate() {
        let (start, peak) = (std::time::Instant::now(), memory::PeakMemory::start());
        let children = children_of(&node.children, &segment_dummies, &node_dummies);
        let fits =
            |c: &AggregationConfigParams| check_node_memory(c, &format!("keygen of aggregation node {j}")).map(drop);
        let key = aggregate::keygen(params, children, &wirings[j], &fits)?;
        let layout = AggregateLayout {
            config: key.config,
            break_points: key.break_points.clone(),
            children: key.children.iter().map(|d| d.as_ref().map(crate::files::fr_to_hex)).collect(),
        };
        write_json(&node_file(art, &tree, j, "json"), &layout)?;
        progress(format!(
            "aggregation node {}/{}: keys for {} proofs, {} advice columns at k={} ({:.1?}{})",
            j + 1,
            tree.nodes.len(),
            node.children.len(),
            key.config.num_advice,
            seg.aggregate_k,
            start.elapsed(),
            peak.describe()
        ));
        if j == tree.root() {
            root = Some(key);
            break;
        }
        let vk = key.pk.get_vk().clone();
        write_key(&node_file(art, &tree, j, "vk"), &node_file(art, &tree, j, "pk"), &key.pk, vk.clone(), model)?;
        let instances = ACCUMULATOR_LIMBS + wirings[j].exposed.len();
        node_dummies.push(aggregate::dummy_snark(params, &vk, instances, true));
    }
    let Some(key) = root else {
        return Err(RuntimeError::Other("the aggregation tree has no root".into()));
    };
    let vk_bytes = root_vk_bytes(&key.config, key.pk.get_vk())?;
    write_binary(&art.verifying_key(), Kind::VerifyingKey, &model.binding, &vk_bytes)?;
    if let Some(path) = art.verifier_srs() {
        write_binary(&path, Kind::VerifierSrs, &model.binding, &srs::verifier_bytes(params))?;
    }
    // Streamed: an aggregation's key is gigabytes.
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

/// A node's child proofs, in order, from the segments' and the earlier nodes'.
fn children_of(children: &[Child], segments: &[Snark], nodes: &[Snark]) -> Vec<Snark> {
    children
        .iter()
        .filter_map(|c| match *c {
            Child::Segment(i) => segments.get(i).cloned(),
            Child::Node(m) => nodes.get(m).cloned(),
        })
        .collect()
}

/// One aggregation node's memory from its columns (measured at 2^21: ~1.05 GB a column with
/// everything the prover holds for it, and the SRS), refused when it cannot fit.
fn check_node_memory(config: &AggregationConfigParams, what: &str) -> Result<u64> {
    let columns = (config.num_advice + config.num_lookup_advice + config.num_fixed) as u64;
    let need = (400 << 20) + columns * (1u64 << config.degree) * 520;
    keys::check_bytes(need, what)
}

fn write_key(
    vk_path: &Path,
    pk_path: &Path,
    pk: &ProvingKey<G1Affine>,
    vk: VerifyingKey<G1Affine>,
    model: &Model,
) -> Result<()> {
    let mut vk_bytes = vec![];
    vk.write(&mut vk_bytes, SerdeFormat::RawBytes).map_err(|e| RuntimeError::Other(e.to_string()))?;
    write_binary(vk_path, Kind::VerifyingKey, &model.binding, &vk_bytes)?;
    write_binary_streamed(pk_path, Kind::ProvingKey, &model.binding, |mut w| {
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
    let circuit = ZkCircuit::with_witness(lower(&g, &p, part.circuit, &vis, &inputs)?, model.key_digest());
    aggregate::prove_segment(&downsized(art, params, part.circuit.k)?, &pk, circuit)
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
            instances: snark.instances.concat().iter().map(crate::files::fr_to_hex).collect(),
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
            .map(|h| crate::files::fr_from_hex(h).ok_or_else(|| bad("an instance is not a field element".into())))
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
        let inner = downsized(art, params, part.circuit.k)?;
        let snark = aggregate::snark_of(&inner, &vk, instances, proof, false);
        aggregate::verify_inner(&inner, &vk, &snark)
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
    segments: Vec<Snark>,
    progress: &dyn Fn(String),
) -> Result<(Vec<Fr>, Vec<u8>)> {
    let seg = segmentation(&model.settings)?;
    let tree = seg.tree();
    let wirings = wirings(model)?;
    let mut nodes: Vec<Snark> = vec![];
    for (j, node) in tree.nodes.iter().enumerate() {
        let (start, peak) = (std::time::Instant::now(), memory::PeakMemory::start());
        let key = load_node_key(model, art, &tree, j)?;
        check_node_memory(&key.config, &format!("proving aggregation node {j}"))?;
        let children = children_of(&node.children, &segments, &nodes);
        if j == tree.root() {
            let proof = aggregate::prove(params, &key, children, &wirings[j])?;
            progress(format!(
                "aggregation node {}/{} (root) proven ({:.1?}{})",
                j + 1,
                tree.nodes.len(),
                start.elapsed(),
                peak.describe()
            ));
            return Ok(proof);
        }
        nodes.push(aggregate::prove_node(params, &key, children, &wirings[j])?);
        progress(format!(
            "aggregation node {}/{} proven ({:.1?}{})",
            j + 1,
            tree.nodes.len(),
            start.elapsed(),
            peak.describe()
        ));
    }
    Err(RuntimeError::Other("the aggregation tree has no root".into()))
}

fn read_layout(art: &ArtifactDir, tree: &AggregationTree, j: usize) -> Result<AggregateLayout> {
    read_json(&node_file(art, tree, j, "json"), "aggregation layout")
}

/// Node j's proving key and layout.
fn load_node_key(model: &Model, art: &ArtifactDir, tree: &AggregationTree, j: usize) -> Result<AggregateKey> {
    let layout = read_layout(art, tree, j)?;
    let path = node_file(art, tree, j, "pk");
    if !path.exists() {
        return Err(missing(art, &path));
    }
    let mut reader = open_binary(&path, Kind::ProvingKey, &model.binding)?;
    let pk =
        ProvingKey::read::<_, AggregationCircuit>(&mut reader, SerdeFormat::RawBytesUnchecked, layout.config).map_err(
            |e| RuntimeError::Corrupt { path: path.display().to_string(), what: "proving key", reason: e.to_string() },
        )?;
    let children = layout
        .children
        .iter()
        .map(|d| {
            d.as_ref()
                .map(|h| {
                    crate::files::fr_from_hex(h).ok_or_else(|| RuntimeError::Corrupt {
                        path: node_file(art, tree, j, "json").display().to_string(),
                        what: "aggregation layout",
                        reason: "a child's digest is not a field element".into(),
                    })
                })
                .transpose()
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(AggregateKey { pk, config: layout.config, break_points: layout.break_points, children })
}

/// The root's vk.bin payload: the configuration its constraint system is built from (its length
/// as 4 bytes little-endian, then JSON), then the key. The configuration travels inside the key
/// file, so a verifier who trusts vk.bin trusts the constraint system it is read with, and no
/// other file (`segments/aggregate.json` is the prover's) can change it.
fn root_vk_bytes(config: &AggregationConfigParams, vk: &VerifyingKey<G1Affine>) -> Result<Vec<u8>> {
    let config = serde_json::to_vec(config).map_err(|e| RuntimeError::Other(e.to_string()))?;
    let mut bytes = (config.len() as u32).to_le_bytes().to_vec();
    bytes.extend(config);
    vk.write(&mut bytes, SerdeFormat::RawBytes).map_err(|e| RuntimeError::Other(e.to_string()))?;
    Ok(bytes)
}

/// The root aggregation circuit's verifying key (the model's vk.bin), read with the
/// configuration it carries.
pub fn load_aggregate_vk(
    model_settings: &Settings,
    art: &ArtifactDir,
    binding: &[u8; 32],
) -> Result<VerifyingKey<G1Affine>> {
    segmentation(model_settings)?;
    let path = art.verifying_key();
    if !path.exists() {
        return Err(missing(art, &path));
    }
    let bytes = read_binary(&path, Kind::VerifyingKey, binding)?;
    let corrupt =
        |reason: String| RuntimeError::Corrupt { path: path.display().to_string(), what: "verifying key", reason };
    let len = bytes.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    let (config, vk) = match len.and_then(|n| Some((bytes.get(4..4 + n)?, &bytes[4 + n..]))) {
        Some(parts) => parts,
        None => return Err(corrupt("it does not hold an aggregation's configuration".into())),
    };
    let config: AggregationConfigParams =
        serde_json::from_slice(config).map_err(|e| corrupt(format!("its aggregation configuration: {e}")))?;
    crate::files::guarded(&path, "verifying key", || {
        VerifyingKey::read::<_, AggregationCircuit>(&mut &vk[..], SerdeFormat::RawBytes, config)
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
    let vk = load_aggregate_vk(settings, art, binding)?;
    let expected = ACCUMULATOR_LIMBS + InstanceLayout::of(settings).len();
    if instances.len() != expected {
        return Err(RuntimeError::InvalidProof(format!(
            "it has {} public values; an aggregate of this model exposes {expected}",
            instances.len()
        )));
    }
    aggregate::verify(params, &vk, instances, proof)
}
