//! The user's long steps, once for every shell (the CLI and the Python package): each checks the
//! memory it needs, loads the SRS, runs the path of one circuit or of a segmented model, and
//! returns a report the shell prints. Whether a model is segmented is decided here, not in the
//! shells.

use crate::error::{Result, RuntimeError};
use crate::keys::{self, SetupReport};
use crate::model::{self, ArtifactDir, Model};
use crate::proof::{self, ProofFile};
use crate::segmented;
use crate::srs::{self, SrsSource};
use crate::witness::Witness;
use compiler::settings::{LayoutOptions, SegmentLayout, Settings, Visibility};
use std::path::Path;

/// How a long step tells its shell what it is doing (a spinner, a log).
pub trait Progress: Sync {
    /// A stage starts; the one before it is over ("loading SRS (k=17)").
    fn stage(&self, what: &str);
    /// A job inside the stage is done: its one line ("segment 2/7: keys for k=20 ...").
    fn done(&self, line: String);
}

/// Progress no one watches.
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&self, _: &str) {}
    fn done(&self, _: String) {}
}

/// The k of the SRS a model's keys and proofs use: its circuit's, or for a segmented model its
/// aggregation's (segments use that SRS downsized).
pub fn srs_k(settings: &Settings) -> u32 {
    settings.segments.as_ref().map_or(settings.circuit.k, |s| s.aggregate_k)
}

/// What to warn a user of when the SRS is a dev one (None for an SRS file).
pub fn dev_srs_warning(source: &SrsSource, k: u32) -> Option<String> {
    matches!(source, SrsSource::Dev).then(|| {
        format!(
            "using a dev SRS ({}); its secret was known to this machine, so it is NOT safe for production",
            srs::dev_srs_path(k).display()
        )
    })
}

/// A segmented model's shape, for a report.
pub struct Segments {
    pub parts: usize,
    pub nodes: usize,
}

/// What setup did.
pub struct Setup {
    pub keys: SetupReport,
    /// The memory estimate it checked before starting, bytes.
    pub estimated_peak: u64,
    /// Set for a segmented model.
    pub segments: Option<Segments>,
}

/// `zkonnx setup`: the keys of one circuit, or of every segment and aggregation node.
pub fn setup(model: &Model, art: &ArtifactDir, source: &SrsSource, progress: &dyn Progress) -> Result<Setup> {
    let k = srs_k(&model.settings);
    match &model.settings.segments {
        Some(seg) => {
            let need = segmented::check_aggregate_memory(seg, "setup")?;
            progress.stage(&format!("loading SRS (k={k})"));
            let params = srs::load(source, k)?;
            let segments = Segments { parts: seg.parts.len(), nodes: seg.tree().nodes.len() };
            progress.stage(&format!(
                "generating keys for {} segments and {} aggregation nodes (estimated peak memory {})",
                segments.parts,
                segments.nodes,
                size(need)
            ));
            let keys = segmented::setup(model, art, &params, &|line| progress.done(line))?;
            Ok(Setup { keys, estimated_peak: need, segments: Some(segments) })
        }
        None => {
            let need = keys::check_keygen_memory(model.settings.circuit, "setup")?;
            progress.stage(&format!("loading SRS (k={k})"));
            let params = srs::load(source, k)?;
            progress.stage(&format!("generating keys (estimated peak memory {})", size(need)));
            let keys = keys::setup(model, art, &params)?;
            Ok(Setup { keys, estimated_peak: need, segments: None })
        }
    }
}

/// What prove made.
pub struct Proven {
    pub proof: ProofFile,
    pub estimated_peak: u64,
    /// How many segment proofs were aggregated (a segmented model).
    pub segments: Option<usize>,
}

/// `zkonnx prove`: one circuit's proof, or every segment's and their aggregate.
pub fn prove(
    model: &Model,
    art: &ArtifactDir,
    witness: &Witness,
    source: &SrsSource,
    progress: &dyn Progress,
) -> Result<Proven> {
    let k = srs_k(&model.settings);
    let (need, segments) = match &model.settings.segments {
        Some(seg) => (segmented::check_aggregate_memory(seg, "proving")?, Some(seg.parts.len())),
        None => (keys::check_prove_memory(model.settings.circuit, "proving")?, None),
    };
    progress.stage(&format!("loading SRS (k={k})"));
    let params = srs::load(source, k)?;
    let proof = match segments {
        Some(parts) => {
            progress
                .stage(&format!("proving {parts} segments, then the aggregate (estimated peak memory {})", size(need)));
            proof::prove_segmented(model, art, witness, &params, &|line| progress.done(line))?
        }
        None => {
            progress.stage(&format!("proving (k={k}, estimated peak memory {})", size(need)));
            proof::prove(model, art, witness, &params)?
        }
    };
    Ok(Proven { proof, estimated_peak: need, segments })
}

/// The segments of a model a segmented-only step (`--segment`, `aggregate`) needs.
fn segments_of<'m>(model: &'m Model, what: &str) -> Result<&'m compiler::settings::Segmentation> {
    model.settings.segments.as_ref().ok_or_else(|| {
        RuntimeError::Input(format!("{what}: this model is not segmented; compile it with --segment-logrows"))
    })
}

/// What `prove --segment i` made.
pub struct SegmentProven {
    pub proof: segmented::SegmentProofFile,
    pub k: u32,
    pub rows: usize,
    pub estimated_peak: u64,
}

/// `zkonnx prove --segment i`: one segment's proof, for a scheduler (Ray) that proves segments
/// apart; it uses the aggregation's SRS, downsized.
pub fn prove_segment(
    model: &Model,
    art: &ArtifactDir,
    witness: &Witness,
    source: &SrsSource,
    i: usize,
    progress: &dyn Progress,
) -> Result<SegmentProven> {
    let seg = segments_of(model, "--segment")?;
    let part = seg.parts.get(i).ok_or_else(|| {
        RuntimeError::Input(format!(
            "--segment {i}: this model has {} segments (0 to {})",
            seg.parts.len(),
            seg.parts.len() - 1
        ))
    })?;
    let need = keys::check_prove_memory(part.circuit, &format!("proving segment {i}"))?;
    progress.stage(&format!("loading SRS (k={})", seg.aggregate_k));
    let params = srs::load(source, seg.aggregate_k)?;
    progress.stage(&format!("proving segment {i} (k={}, estimated peak memory {})", part.circuit.k, size(need)));
    let proof = proof::prove_one_segment(model, art, witness, &params, i)?;
    Ok(SegmentProven { proof, k: part.circuit.k, rows: part.rows, estimated_peak: need })
}

/// `zkonnx aggregate`: segment proofs made apart, aggregated into the model's proof.
pub fn aggregate(
    model: &Model,
    art: &ArtifactDir,
    segment_proofs: &[std::path::PathBuf],
    source: &SrsSource,
    progress: &dyn Progress,
) -> Result<Proven> {
    let seg = segments_of(model, "aggregate")?;
    let need = segmented::check_aggregate_memory(seg, "aggregation")?;
    progress.stage(&format!("loading SRS (k={})", seg.aggregate_k));
    let params = srs::load(source, seg.aggregate_k)?;
    progress.stage(&format!("aggregating {} segment proofs (estimated peak memory {})", seg.parts.len(), size(need)));
    let proof = proof::aggregate_files(model, art, &params, segment_proofs, &|line| progress.done(line))?;
    Ok(Proven { proof, estimated_peak: need, segments: Some(seg.parts.len()) })
}

/// A size as the shells print it: B, kB, MB, or GB of 2^30 bytes.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.2} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} kB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// How to cut a model too large for one circuit (`--segment-logrows`).
#[derive(Clone, Copy, Debug)]
pub struct SegmentOptions {
    /// Each segment has at most 2^logrows rows.
    pub logrows: u32,
    /// How many proofs each aggregation node verifies.
    pub arity: usize,
    pub layout: SegmentLayout,
}

/// The largest k a segmented model's whole circuit may be planned at: only its segments must
/// fit one machine, the whole circuit is never built.
pub const MAX_WHOLE_LOGROWS: u32 = 28;

/// An ONNX file translated and planned as one circuit of at most 2^max_k rows, or cut into
/// segments: the model and the file's bytes; nothing written.
pub fn translate(
    model_path: &Path,
    visibility: Visibility,
    layout: LayoutOptions,
    max_k: u32,
    segments: Option<SegmentOptions>,
) -> Result<(Model, Vec<u8>)> {
    match segments {
        None => model::translate(model_path, visibility, layout, max_k),
        Some(s) => {
            let (m, bytes) = model::translate(model_path, visibility, layout, MAX_WHOLE_LOGROWS)?;
            Ok((model::segmented(m, s.logrows, s.arity, s.layout)?, bytes))
        }
    }
}

/// `zkonnx compile`: `translate`, then the compiled folder written.
pub fn compile(
    model_path: &Path,
    out: &ArtifactDir,
    visibility: Visibility,
    layout: LayoutOptions,
    max_k: u32,
    segments: Option<SegmentOptions>,
) -> Result<Model> {
    let (m, bytes) = translate(model_path, visibility, layout, max_k, segments)?;
    model::write_compiled(m, &bytes, out)
}
