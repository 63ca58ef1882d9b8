//! The artifact folder and the compiled model in it.

use crate::error::{Result, RuntimeError};
use crate::files::{read, read_json, sha256, sha256_hex, write_atomic, write_json};
use compiler::ir::Graph;
use compiler::lower;
use compiler::quant::eval::RangeError;
use compiler::quant::{InputRange, QuantPlan, RangeBits};
use compiler::settings::{LayoutOptions, Mode, RunArgs, SegmentLayout, Settings, Visibility, SETTINGS_FORMAT};
use compiler::Trace;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// Bumped whenever the IR's serialized form changes.
pub const CIRCUIT_FORMAT: &str = "zkonnx-circuit/1";

/// Where each artifact lives: by default all in one folder (the CLI's layout). Settings, keys
/// and the verifier SRS can be placed elsewhere, for callers that name each file (EZKL's Python
/// API names the settings, pk and vk paths).
#[derive(Clone, Debug)]
pub struct ArtifactDir {
    pub dir: PathBuf,
    settings: PathBuf,
    proving_key: PathBuf,
    verifying_key: PathBuf,
    verifier_srs: Option<PathBuf>,
}

/// A command's hold on an artifact folder it writes (compile, calibrate, setup): released when
/// dropped, or by the kernel when the process dies, so a killed command never leaves it locked.
pub struct FolderLock(#[allow(dead_code)] std::fs::File);

impl ArtifactDir {
    /// Hold the folder for writing, or refuse if another zkonnx command writes it now (issue 26:
    /// a calibrate deleted the keys of a setup still running, which then said it was done).
    pub fn lock(&self, doing: &str) -> Result<FolderLock> {
        let path = self.dir.join(".zkonnx.lock");
        let failed =
            |e: &dyn std::fmt::Display| RuntimeError::Write { path: path.display().to_string(), reason: e.to_string() };
        std::fs::create_dir_all(&self.dir).map_err(|e| failed(&e))?;
        let file =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| failed(&e))?;
        match file.try_lock() {
            Ok(()) => Ok(FolderLock(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(RuntimeError::Other(format!(
                "another zkonnx command is writing {} (compile, calibrate or setup); {doing} waits for it to finish",
                self.dir.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(failed(&e)),
        }
    }

    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        ArtifactDir {
            settings: dir.join("settings.json"),
            proving_key: dir.join("pk.bin"),
            verifying_key: dir.join("vk.bin"),
            verifier_srs: Some(dir.join("srs.verifier")),
            dir,
        }
    }
    /// The settings file at `path` instead of the folder's.
    pub fn with_settings(self, path: impl Into<PathBuf>) -> Self {
        ArtifactDir { settings: path.into(), ..self }
    }
    pub fn with_proving_key(self, path: impl Into<PathBuf>) -> Self {
        ArtifactDir { proving_key: path.into(), ..self }
    }
    pub fn with_verifying_key(self, path: impl Into<PathBuf>) -> Self {
        ArtifactDir { verifying_key: path.into(), ..self }
    }
    /// No record of the SRS setup used: verification takes the verifier's part of the SRS it is
    /// given (a file, or the dev SRS), as EZKL's `verify(..., srs_path)` does.
    pub fn without_srs_record(self) -> Self {
        ArtifactDir { verifier_srs: None, ..self }
    }
    pub fn settings(&self) -> PathBuf {
        self.settings.clone()
    }
    pub fn circuit(&self) -> PathBuf {
        self.dir.join("circuit.json")
    }
    pub fn proving_key(&self) -> PathBuf {
        self.proving_key.clone()
    }
    pub fn verifying_key(&self) -> PathBuf {
        self.verifying_key.clone()
    }
    /// Where setup records the verifier's part of its SRS (None: not recorded).
    pub fn verifier_srs(&self) -> Option<PathBuf> {
        self.verifier_srs.clone()
    }
    pub fn onnx(&self) -> PathBuf {
        self.dir.join("model.onnx")
    }
    pub fn calibration_report(&self) -> PathBuf {
        self.dir.join("calibration.json")
    }
}

/// circuit.json: the IR with its float constants (quantized from the settings on load).
#[derive(Serialize, Deserialize)]
struct CircuitFile {
    format: String,
    model_sha256: String,
    graph: Graph,
}

/// A compiled model: IR, settings and the plan they give.
pub struct Model {
    pub graph: Graph,
    pub settings: Settings,
    pub plan: QuantPlan,
    /// Hash of the settings (which include the model's hash): what every artifact is bound to.
    pub binding: [u8; 32],
}

/// An ONNX file's bytes, with the weights it keeps in files beside it (external data) read in:
/// what the artifact folder stores and what `model_sha256` names.
fn read_onnx(path: &Path) -> Result<Vec<u8>> {
    let bytes = read(path)?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    Ok(compiler::frontend::inline_external_data(&bytes, &path.display().to_string(), dir)?.unwrap_or(bytes))
}

/// An ONNX file translated and planned with the default scales: the model, and the file's bytes.
/// Nothing is written.
pub fn translate(
    model_path: &Path,
    visibility: Visibility,
    layout: LayoutOptions,
    max_k: u32,
) -> Result<(Model, Vec<u8>)> {
    let bytes = read_onnx(model_path)?;
    let graph = compiler::frontend::load_onnx(&bytes, &model_path.display().to_string())?;
    let model_sha256 = sha256_hex(&bytes);
    let ranges = compiler::default_input_ranges(&graph);
    let (settings, plan) = compiler::plan_settings(
        &graph,
        &model_sha256,
        compiler::DEFAULT_SCALES,
        ranges,
        &RangeBits::new(),
        visibility,
        layout,
        max_k,
    )?;
    let binding = binding_of(&settings);
    Ok((Model { graph, settings, plan, binding }, bytes))
}

/// The model cut into segments of at most 2^logrows rows (`--segment-logrows`), recorded in its
/// settings.
pub fn segmented(model: Model, logrows: u32, arity: usize, layout: SegmentLayout) -> Result<Model> {
    let seg = compiler::segment::segmentation(
        &model.graph,
        &model.plan,
        &model.settings.visibility,
        logrows,
        arity,
        layout,
        model.settings.random_checks,
    )?;
    let settings = Settings { segments: Some(seg), ..model.settings };
    let binding = binding_of(&settings);
    Ok(Model { settings, binding, ..model })
}

/// Write a compiled folder: a copy of the ONNX file (the float reference calibration runs),
/// circuit.json and settings.json.
pub fn write_compiled(model: Model, onnx: &[u8], out: &ArtifactDir) -> Result<Model> {
    let _lock = out.lock("compile")?;
    let file = CircuitFile {
        format: CIRCUIT_FORMAT.into(),
        model_sha256: model.settings.model_sha256.clone(),
        graph: model.graph,
    };
    write_atomic(&out.onnx(), onnx)?;
    write_json(&out.circuit(), &file)?;
    write_settings(&out.settings(), &model.settings)?;
    remove_stale_keys(out);
    Ok(Model { graph: file.graph, ..model })
}

/// Write new settings for the model (calibration) and drop the keys made for the old ones.
pub fn save_settings(model: &Model, out: &ArtifactDir, settings: Settings, plan: QuantPlan) -> Result<Model> {
    write_settings(&out.settings(), &settings)?;
    remove_stale_keys(out);
    let binding = binding_of(&settings);
    Ok(Model { graph: model.graph.clone(), settings, plan, binding })
}

/// Keys and SRS record made for settings that were just replaced.
fn remove_stale_keys(out: &ArtifactDir) {
    for stale in [Some(out.proving_key()), Some(out.verifying_key()), out.verifier_srs()].into_iter().flatten() {
        let _ = std::fs::remove_file(stale);
    }
    // A segmented model's segment keys and aggregation layout.
    let _ = std::fs::remove_dir_all(out.dir.join("segments"));
}

/// settings.json: the settings, then EZKL's `run_args` block mirrored from them.
pub fn write_settings(path: &Path, settings: &Settings) -> Result<()> {
    #[derive(Serialize)]
    struct SettingsFile<'a> {
        #[serde(flatten)]
        settings: &'a Settings,
        run_args: RunArgs,
    }
    write_json(path, &SettingsFile { settings, run_args: RunArgs::of(settings) })
}

/// Read and check the artifact folder's settings.json (all `verify` needs besides the verifying
/// key).
pub fn load_settings(art: &ArtifactDir) -> Result<Settings> {
    let path = art.settings();
    if !path.exists() {
        return Err(RuntimeError::Other(format!(
            "{} does not exist; run `zkonnx compile model.onnx -o {}` first",
            path.display(),
            art.dir.display()
        )));
    }
    read_settings(&path)
}

/// Read and check a settings file.
pub fn read_settings(path: &Path) -> Result<Settings> {
    let mut value: serde_json::Value = read_json(path, "settings file")?;
    let format = value.get("format").and_then(|f| f.as_str()).unwrap_or("none");
    if format != SETTINGS_FORMAT {
        return Err(RuntimeError::Mismatch {
            path: path.display().to_string(),
            reason: format!(
                "settings format {format}, this zkonnx reads {SETTINGS_FORMAT}; run `zkonnx compile` again"
            ),
        });
    }
    let corrupt =
        |reason: String| RuntimeError::Corrupt { path: path.display().to_string(), what: "settings file", reason };
    let run_args = value.as_object_mut().and_then(|o| o.remove("run_args"));
    let settings: Settings = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
    let mirrored = serde_json::to_value(RunArgs::of(&settings)).map_err(|e| corrupt(e.to_string()))?;
    if run_args.is_some_and(|r| r != mirrored) {
        return Err(corrupt("its run_args block disagrees with the settings it mirrors (was it edited?)".into()));
    }
    settings.visibility.check().map_err(RuntimeError::Other)?;
    Ok(settings)
}

pub fn binding_of(settings: &Settings) -> [u8; 32] {
    sha256(&serde_json::to_vec(settings).unwrap_or_default())
}

impl Model {
    pub fn load(art: &ArtifactDir) -> Result<Model> {
        // Every command on a folder starts here: what a killed writer left is removed first.
        for dir in [art.dir.clone(), art.dir.join("segments")] {
            crate::files::remove_stale_temp_files(&dir);
        }
        let settings = load_settings(art)?;
        let circuit: CircuitFile = read_json(&art.circuit(), "compiled circuit")?;
        if circuit.format != CIRCUIT_FORMAT || circuit.model_sha256 != settings.model_sha256 {
            return Err(RuntimeError::Mismatch {
                path: art.circuit().display().to_string(),
                reason: "circuit.json and settings.json come from different compiles; run `zkonnx compile` again"
                    .into(),
            });
        }
        circuit.graph.check_structure().map_err(|reason| RuntimeError::Corrupt {
            path: art.circuit().display().to_string(),
            what: "compiled circuit",
            reason,
        })?;
        Model::planned(circuit.graph, settings, &art.settings())
    }

    /// The ONNX file at `onnx` under the settings file at `settings_path` (made from it): the
    /// model and the file's bytes.
    pub fn from_onnx(onnx: &Path, settings_path: &Path) -> Result<(Model, Vec<u8>)> {
        let settings = read_settings(settings_path)?;
        let bytes = read_onnx(onnx)?;
        if sha256_hex(&bytes) != settings.model_sha256 {
            return Err(RuntimeError::Mismatch {
                path: settings_path.display().to_string(),
                reason: format!("it was made from another model than {}; make the settings again", onnx.display()),
            });
        }
        let graph = compiler::frontend::load_onnx(&bytes, &onnx.display().to_string())?;
        Ok((Model::planned(graph, settings, settings_path)?, bytes))
    }

    /// The model under these settings (read from `path`), checked to give the circuit they record.
    fn planned(graph: Graph, settings: Settings, path: &Path) -> Result<Model> {
        let ranges: Vec<InputRange> = settings.inputs.iter().map(|i| i.range.clone()).collect();
        let rescales = settings.rescales.iter().map(|r| (r.node.clone(), r.requant.bits));
        let lookups = settings.lookups.iter().map(|l| (l.node.clone(), l.input_bits));
        let bits: RangeBits = rescales.chain(lookups).collect();
        let weights = settings.visibility.weights();
        let plan = QuantPlan::build(&graph, &settings.scales, &ranges, &bits, weights)?;
        // Settings that do not give this circuit were edited or are stale: setup cannot fix them.
        compiler::check_settings_match_plan(&graph, &plan, &settings).map_err(|reason| {
            let reason = match reason.contains("run `zkonnx") {
                true => reason,
                false => format!("{reason}; run `zkonnx compile` (and `calibrate`) again"),
            };
            RuntimeError::Mismatch { path: path.display().to_string(), reason }
        })?;
        if let Some(seg) = &settings.segments {
            let again = compiler::segment::segmentation(
                &graph,
                &plan,
                &settings.visibility,
                seg.logrows,
                seg.arity,
                seg.layout,
                settings.random_checks,
            )?;
            if &again != seg {
                return Err(RuntimeError::Mismatch {
                    path: path.display().to_string(),
                    reason: "its segments differ from what its plan gives; run `zkonnx compile` again".into(),
                });
            }
        }
        let binding = binding_of(&settings);
        Ok(Model { graph, settings, plan, binding })
    }

    /// The circuit's trace for these (quantized) inputs, under `plan` (`plan_with`).
    pub fn trace(&self, plan: &QuantPlan, inputs: &[Vec<i128>]) -> Result<Trace, RangeError> {
        lower(&self.graph, plan, self.settings.circuit, &self.settings.visibility, inputs)
    }

    /// The plan a proof uses: this model's, or with other witnessed weights (flattened as
    /// `QuantPlan::param_values`; a witness of hashed params carries them).
    pub fn plan_with(&self, values: Option<&[i128]>) -> Result<Cow<'_, QuantPlan>> {
        Ok(match values {
            Some(v) => Cow::Owned(self.with_params(v).map_err(RuntimeError::Input)?),
            None => Cow::Borrowed(&self.plan),
        })
    }

    fn with_params(&self, values: &[i128]) -> std::result::Result<QuantPlan, String> {
        self.plan.with_params(values, |id| self.graph.nodes[id].name.clone())
    }

    /// This model's plan with the witnessed weights of another ONNX file of this architecture
    /// (`--params`), checked to fit this plan's widths.
    pub fn plan_with_weights_of(&self, path: &Path) -> Result<QuantPlan> {
        if self.settings.visibility.params != Mode::Hashed {
            return Err(RuntimeError::Input(
                "--params needs a model compiled with --param-visibility hashed; this one has its weights fixed in \
                 the verifying key"
                    .into(),
            ));
        }
        let bytes = read_onnx(path)?;
        let graph = compiler::frontend::load_onnx(&bytes, &path.display().to_string())?;
        self.graph.check_same_architecture(&graph).map_err(|e| {
            RuntimeError::Input(format!("{} is not the compiled model's architecture: {e}", path.display()))
        })?;
        let ranges: Vec<InputRange> = self.settings.inputs.iter().map(|i| i.range.clone()).collect();
        let values = QuantPlan::param_values_of(&graph, &self.settings.scales, &ranges)?;
        self.with_params(&values).map_err(|e| RuntimeError::Input(format!("{}: {e}", path.display())))
    }

    /// What the model's keys commit to beside the circuit: its binding hash (model and
    /// settings), so a key made under edited settings is another key.
    pub fn key_digest(&self) -> compiler::KeyDigest {
        compiler::KeyDigest::of(&self.binding)
    }

    /// The trace keygen uses: structure only, on zero inputs.
    pub fn keygen_trace(&self) -> Result<Trace> {
        Ok(compiler::lower_structure(&self.graph, &self.plan, self.settings.circuit, &self.settings.visibility)?)
    }
}

#[cfg(test)]
mod lock_tests {
    use super::ArtifactDir;

    /// Issue 26: one writer at a time per artifact folder; the lock goes with its holder.
    #[test]
    fn a_folder_being_written_refuses_a_second_writer_until_the_first_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let art = ArtifactDir::new(dir.path().join("art"));
        let held = art.lock("setup").unwrap();
        let err = art.lock("calibrate").err().unwrap().to_string();
        assert!(err.contains("another zkonnx command is writing") && err.contains("calibrate waits"), "{err}");
        drop(held);
        art.lock("calibrate").unwrap();
    }
}
