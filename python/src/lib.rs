//! `import zkonnx`: the zkonnx workflow under EZKL's Python names, so a notebook switches by
//! changing the import. Like the CLI, a thin shell over `runtime`: it maps EZKL's file arguments
//! onto zkonnx's artifacts, runs long steps without the GIL, and reports through Python's
//! `logging` (logger "zkonnx": start lines with memory estimates, then one-line summaries).
//!
//! The compiled circuit (`compile_circuit`'s `compiled_circuit`, the `model` of every later step)
//! is a zkonnx artifact folder: the ONNX file, circuit.json and settings.json. Every call is
//! synchronous; where EZKL's is async, this one returns the value its awaitable would.

use compiler::calibrate::{ErrorBound, Options, Target};
use compiler::settings::{LayoutGoal, LayoutOptions, Mode, Visibility};
use pyo3::create_exception;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use runtime::srs::{self, SrsSource};
use runtime::{evm, keys, proof, witness, workflow, ArtifactDir, Model, RuntimeError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

create_exception!(
    zkonnx,
    Error,
    PyRuntimeError,
    "A zkonnx step failed; the message says what is wrong and what to do."
);
create_exception!(zkonnx, InvalidProofError, Error, "The proof does not verify.");

fn py_err(e: RuntimeError) -> PyErr {
    match e {
        RuntimeError::InvalidProof(_) => InvalidProofError::new_err(e.to_string()),
        _ => Error::new_err(e.to_string()),
    }
}

fn msg_err(msg: impl Into<String>) -> PyErr {
    Error::new_err(msg.into())
}

/// Run a long step without holding the GIL, so other Python threads go on.
fn detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> runtime::Result<T> + Send) -> PyResult<T> {
    py.detach(f).map_err(py_err)
}

/// Log on the "zkonnx" logger (takes the GIL: callable from any thread).
fn log(msg: &str) {
    Python::attach(|py| {
        let logger = py.import("logging").and_then(|l| l.call_method1("getLogger", ("zkonnx",)));
        if let Ok(logger) = logger {
            let _ = logger.call_method1("info", (msg,));
        }
    });
}

fn warn(py: Python<'_>, msg: &str) -> PyResult<()> {
    py.import("warnings")?.call_method1("warn", (msg,))?;
    Ok(())
}

/// A value as the Python object its JSON gives (what EZKL's functions return for files).
fn to_py<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).map_err(|e| msg_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// A long step's stages and finished jobs, on the "zkonnx" logger.
struct Logged;

impl workflow::Progress for Logged {
    fn stage(&self, what: &str) {
        log(what);
    }
    fn done(&self, line: String) {
        log(&line);
    }
}

/// What `gen_settings` compiles with: EZKL's `PyRunArgs` (the visibilities), and zkonnx's knobs.
#[pyclass(name = "PyRunArgs", module = "zkonnx")]
struct PyRunArgs {
    /// Who sees the inputs: "private", "public" or "hashed".
    #[pyo3(get, set)]
    input_visibility: String,
    /// Who sees the outputs: "public", "private" or "hashed".
    #[pyo3(get, set)]
    output_visibility: String,
    /// The weights: "fixed" (in the verifying key) or "hashed".
    #[pyo3(get, set)]
    param_visibility: String,
    /// The largest log2 of the row count; zkonnx picks the smallest k that fits (EZKL's fixes it).
    #[pyo3(get, set)]
    logrows: u32,
    /// What the layout minimises: "prover" (prove time, key size) or "evm" (verifier gas and size).
    #[pyo3(get, set)]
    layout: String,
    /// Whether convolutions and batched MatMuls may be proven by a random check (fewer rows).
    #[pyo3(get, set)]
    random_checks: bool,
    /// Cut the model into segments of at most 2^segment_logrows rows, proven apart and
    /// aggregated into one proof (None: one circuit).
    #[pyo3(get, set)]
    segment_logrows: Option<u32>,
    /// With segments: how many proofs each aggregation node verifies.
    #[pyo3(get, set)]
    aggregation_arity: usize,
    /// With segments: "stacked" or "rows".
    #[pyo3(get, set)]
    segment_layout: String,
}

#[pymethods]
impl PyRunArgs {
    #[new]
    #[pyo3(signature = (input_visibility="private", output_visibility="public", param_visibility="fixed", logrows=22, layout="prover", random_checks=true, segment_logrows=None, aggregation_arity=compiler::settings::Segmentation::DEFAULT_ARITY, segment_layout="stacked"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        input_visibility: &str,
        output_visibility: &str,
        param_visibility: &str,
        logrows: u32,
        layout: &str,
        random_checks: bool,
        segment_logrows: Option<u32>,
        aggregation_arity: usize,
        segment_layout: &str,
    ) -> Self {
        PyRunArgs {
            input_visibility: input_visibility.into(),
            output_visibility: output_visibility.into(),
            param_visibility: param_visibility.into(),
            logrows,
            layout: layout.into(),
            random_checks,
            segment_logrows,
            aggregation_arity,
            segment_layout: segment_layout.into(),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "PyRunArgs(input_visibility={:?}, output_visibility={:?}, param_visibility={:?}, logrows={}, layout={:?}, random_checks={}, segment_logrows={}, aggregation_arity={}, segment_layout={:?})",
            self.input_visibility,
            self.output_visibility,
            self.param_visibility,
            self.logrows,
            self.layout,
            if self.random_checks { "True" } else { "False" },
            self.segment_logrows.map_or("None".to_string(), |k| k.to_string()),
            self.aggregation_arity,
            self.segment_layout
        )
    }
}

/// Translate the ONNX model and write its default settings (with EZKL's `run_args` block).
#[pyfunction]
#[pyo3(signature = (model, output, py_run_args=None))]
fn gen_settings(
    py: Python<'_>,
    model: PathBuf,
    output: PathBuf,
    py_run_args: Option<PyRef<'_, PyRunArgs>>,
) -> PyResult<bool> {
    let default_arity = compiler::settings::Segmentation::DEFAULT_ARITY;
    let args = py_run_args.map_or_else(
        || PyRunArgs::new("private", "public", "fixed", 22, "prover", true, None, default_arity, "stacked"),
        |a| {
            let (i, o, p) = (&a.input_visibility, &a.output_visibility, &a.param_visibility);
            let segments = (a.segment_logrows, a.aggregation_arity, a.segment_layout.as_str());
            PyRunArgs::new(i, o, p, a.logrows, &a.layout, a.random_checks, segments.0, segments.1, segments.2)
        },
    );
    let mode = |s: &str| s.parse::<Mode>().map_err(msg_err);
    let visibility =
        Visibility::new(mode(&args.input_visibility)?, mode(&args.output_visibility)?, mode(&args.param_visibility)?)
            .map_err(msg_err)?;
    let goal: LayoutGoal = args.layout.parse().map_err(msg_err)?;
    let layout = LayoutOptions::new(goal, args.random_checks);
    let start = Instant::now();
    let segment_layout: compiler::settings::SegmentLayout = args.segment_layout.parse().map_err(msg_err)?;
    let segments = args.segment_logrows.map(|logrows| workflow::SegmentOptions {
        logrows,
        arity: args.aggregation_arity,
        layout: segment_layout,
    });
    let (m, _) = detached(py, || workflow::translate(&model, visibility, layout, args.logrows, segments))?;
    runtime::model::write_settings(&output, &m.settings).map_err(py_err)?;
    log(&format!(
        "gen_settings: {} -> {}: {} nodes, k={}, {} rows ({:.1?})",
        model.display(),
        output.display(),
        m.graph.nodes.len(),
        m.settings.circuit.k,
        m.settings.rows,
        start.elapsed()
    ));
    Ok(true)
}

/// Choose scales, ranges, lookup bits and k from the data, and rewrite the settings file.
/// `target`: "resources" (cheapest proof within the error bound and with top-1 agreement) or
/// "accuracy" (smallest error within `max_logrows`). The error bound is `max_rel_error` of each
/// output's largest |value| on the data, or `max_error` absolute.
#[pyfunction]
#[pyo3(signature = (data, model, settings, target="resources", max_logrows=None, max_rel_error=0.01, max_error=None, margin=0.5))]
#[allow(clippy::too_many_arguments)]
fn calibrate_settings(
    py: Python<'_>,
    data: PathBuf,
    model: PathBuf,
    settings: PathBuf,
    target: &str,
    max_logrows: Option<u32>,
    max_rel_error: f64,
    max_error: Option<f64>,
    margin: f64,
) -> PyResult<bool> {
    let target = match target {
        "resources" => Target::Resources,
        "accuracy" => Target::Accuracy,
        other => {
            return Err(msg_err(format!("unknown calibration target {other:?}; use \"resources\" or \"accuracy\"")))
        }
    };
    let defaults = Options::default();
    let opts = Options {
        target,
        max_logrows: max_logrows.unwrap_or(defaults.max_logrows),
        max_error: max_error.map_or(ErrorBound::Relative(max_rel_error), ErrorBound::Absolute),
        margin,
        ..defaults
    };
    let start = Instant::now();
    let done = AtomicU64::new(0);
    let last_tenth = AtomicU64::new(0);
    let progress = |total: u64| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        let tenth = n * 10 / total.max(1);
        if tenth > last_tenth.fetch_max(tenth, Ordering::Relaxed) {
            log(&format!("calibrating: {n}/{total} candidates"));
        }
    };
    let (m, report) =
        detached(py, || runtime::calibrate::calibrate_settings(&model, &settings, &data, &opts, &progress))?;
    let s = &m.settings;
    let (err, top1) = report.error.as_ref().map_or((0.0, 1.0), |e| (e.max_abs, e.top1_agreement()));
    let reference = report.reference.as_ref().map_or(String::new(), |r| format!("; float reference the IR, {r}"));
    log(&format!(
        "calibrated on {} samples: scales 2^{}/2^{}, k={}, {} rows; max error {err:.4}, top-1 agreement {:.0}%{reference} ({:.1?})",
        report.samples,
        s.scales.input,
        s.scales.param,
        s.circuit.k,
        s.rows,
        100.0 * top1,
        start.elapsed()
    ));
    Ok(true)
}

/// Write the compiled circuit: a zkonnx artifact folder at `compiled_circuit` holding the model,
/// its circuit and the settings.
#[pyfunction]
#[pyo3(signature = (model, compiled_circuit, settings_path))]
fn compile_circuit(
    py: Python<'_>,
    model: PathBuf,
    compiled_circuit: PathBuf,
    settings_path: PathBuf,
) -> PyResult<bool> {
    let (m, bytes) = detached(py, || Model::from_onnx(&model, &settings_path))?;
    let m = runtime::model::write_compiled(m, &bytes, &ArtifactDir::new(&compiled_circuit)).map_err(py_err)?;
    log(&format!(
        "compile_circuit: {} -> {}: k={}, {} rows",
        model.display(),
        compiled_circuit.display(),
        m.settings.circuit.k,
        m.settings.rows
    ));
    Ok(true)
}

/// Write an SRS for 2^logrows rows (UNSAFE for production: its secret was on this machine).
#[pyfunction]
#[pyo3(signature = (srs_path, logrows))]
fn gen_srs(py: Python<'_>, srs_path: PathBuf, logrows: u32) -> PyResult<()> {
    warn(py, "a generated SRS is NOT safe for production; use one from a ceremony")?;
    detached(py, || srs::generate_file(&srs_path, logrows))
}

/// Make sure an SRS for the settings' k (or `logrows`) is there. No network: with `srs_path`,
/// an existing file is checked and a missing one generated; without it, the cached dev SRS is made
/// or reused. Either generated kind is for development only, and a warning says so.
#[pyfunction]
#[pyo3(signature = (settings_path=None, logrows=None, srs_path=None))]
fn get_srs(
    py: Python<'_>,
    settings_path: Option<PathBuf>,
    logrows: Option<u32>,
    srs_path: Option<PathBuf>,
) -> PyResult<bool> {
    let k = match (logrows, settings_path) {
        (Some(k), _) => k,
        (None, Some(path)) => workflow::srs_k(&runtime::model::read_settings(&path).map_err(py_err)?),
        (None, None) => return Err(msg_err("give settings_path or logrows")),
    };
    match srs_path {
        Some(path) if path.exists() => {
            detached(py, || srs::load(&SrsSource::File(path.clone()), k))?;
        }
        Some(path) => {
            warn(py, &format!("generating an SRS at {}: it is NOT safe for production", path.display()))?;
            detached(py, || srs::generate_file(&path, k))?;
        }
        None => {
            if let Some(w) = workflow::dev_srs_warning(&SrsSource::Dev, k) {
                warn(py, &format!("{w}; pass srs_path"))?;
            }
            detached(py, || srs::load(&SrsSource::Dev, k))?;
        }
    }
    Ok(true)
}

/// Make the verifying and proving keys of the compiled circuit `model`.
#[pyfunction]
#[pyo3(signature = (model, vk_path, pk_path, srs_path=None))]
fn setup(
    py: Python<'_>,
    model: PathBuf,
    vk_path: PathBuf,
    pk_path: PathBuf,
    srs_path: Option<PathBuf>,
) -> PyResult<bool> {
    let start = Instant::now();
    let art = ArtifactDir::new(&model).with_proving_key(pk_path).with_verifying_key(vk_path);
    let m = Model::load(&art).map_err(py_err)?;
    let source = SrsSource::from_option(srs_path);
    if let Some(w) = workflow::dev_srs_warning(&source, workflow::srs_k(&m.settings)) {
        warn(py, &format!("{w}; pass srs_path"))?;
    }
    let done = detached(py, || workflow::setup(&m, &art, &source, &Logged))?;
    log(&format!(
        "setup done: k={}, {} rows, pk {}, vk {}, estimated peak memory {} ({:.1?})",
        done.keys.k,
        done.keys.rows,
        workflow::size(done.keys.pk_bytes),
        workflow::size(done.keys.vk_bytes),
        workflow::size(done.estimated_peak),
        start.elapsed()
    ));
    Ok(true)
}

/// Run the model on `data` ({"input_data": [[...]]}) and return the witness (also written to
/// `output` when given). `params`: prove with the weights of this ONNX file (hashed params).
#[pyfunction]
#[pyo3(signature = (data, model, output=None, params=None))]
fn gen_witness<'py>(
    py: Python<'py>,
    data: PathBuf,
    model: PathBuf,
    output: Option<PathBuf>,
    params: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let m = Model::load(&ArtifactDir::new(&model)).map_err(py_err)?;
    let w = detached(py, || {
        let inputs = witness::read_inputs(&data, &m.settings)?;
        let other = params.map(|p| m.plan_with_weights_of(&p)).transpose()?;
        witness::generate(&m, &inputs, other.as_ref())
    })?;
    if let Some(path) = output {
        witness::write(&path, &w).map_err(py_err)?;
    }
    to_py(py, &w)
}

/// Check every constraint on the witness without making a proof.
#[pyfunction]
#[pyo3(signature = (witness, model))]
fn mock(py: Python<'_>, witness: PathBuf, model: PathBuf) -> PyResult<bool> {
    let m = Model::load(&ArtifactDir::new(&model)).map_err(py_err)?;
    let w = witness::read(&witness, &m).map_err(py_err)?;
    let need = keys::check_mock_memory(m.settings.circuit, "mock").map_err(py_err)? >> 20;
    log(&format!("mock: checking constraints (estimated peak memory {need} MB)"));
    detached(py, || proof::mock(&m, &w))?;
    Ok(true)
}

/// Prove that the witness's outputs come from the model; returns the proof (also written to
/// `proof_path` when given).
#[pyfunction]
#[pyo3(signature = (witness, model, pk_path, proof_path=None, srs_path=None))]
fn prove<'py>(
    py: Python<'py>,
    witness: PathBuf,
    model: PathBuf,
    pk_path: PathBuf,
    proof_path: Option<PathBuf>,
    srs_path: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let start = Instant::now();
    let art = ArtifactDir::new(&model).with_proving_key(pk_path);
    let m = Model::load(&art).map_err(py_err)?;
    let w = witness::read(&witness, &m).map_err(py_err)?;
    let source = SrsSource::from_option(srs_path);
    let p = detached(py, || workflow::prove(&m, &art, &w, &source, &Logged))?.proof;
    if let Some(path) = &proof_path {
        proof::write(path, &p).map_err(py_err)?;
    }
    log(&format!("prove done: {} proof bytes ({:.1?})", p.proof.len() / 2, start.elapsed()));
    to_py(py, &p)
}

/// The settings file and verifying key as an artifact set; the SRS is the one given (or the dev one).
fn verifier_files(settings_path: &Path, vk_path: PathBuf) -> ArtifactDir {
    let dir = settings_path.parent().map(Path::to_path_buf).unwrap_or_default();
    ArtifactDir::new(dir).with_settings(settings_path).with_verifying_key(vk_path).without_srs_record()
}

/// Verify a proof: True, or InvalidProofError saying why not. `srs_path`: the SRS setup used
/// (default: the cached dev SRS). `expected_input_hash`, `expected_output_hash`,
/// `expected_params_hash` (0x hex, as `hash` returns them): the proof is refused unless it
/// proves exactly these commitments.
#[pyfunction]
#[pyo3(signature = (proof_path, settings_path, vk_path, srs_path=None, expected_input_hash=None, expected_output_hash=None, expected_params_hash=None))]
#[allow(clippy::too_many_arguments)]
fn verify(
    py: Python<'_>,
    proof_path: PathBuf,
    settings_path: PathBuf,
    vk_path: PathBuf,
    srs_path: Option<PathBuf>,
    expected_input_hash: Option<String>,
    expected_output_hash: Option<String>,
    expected_params_hash: Option<String>,
) -> PyResult<bool> {
    let start = Instant::now();
    let art = verifier_files(&settings_path, vk_path);
    let source = srs_path.map(SrsSource::File);
    let expected = proof::Expected {
        input_hash: expected_input_hash,
        output_hash: expected_output_hash,
        params_hash: expected_params_hash,
    };
    let public = detached(py, || proof::verify(&art, &proof_path, source.as_ref(), &expected))?;
    let outputs = serde_json::to_string(&public.outputs).unwrap_or_default();
    log(&format!("verified ({:.1?}); outputs: {outputs}", start.elapsed()));
    Ok(true)
}

/// Write the Solidity verifier of the model (from its verifying key and settings) to
/// `sol_code_path`, its deployment bytecode (hex) beside it with the extension .bin, and its ABI
/// to `abi_path`. Needs solc 0.8.19 (`npm install -g solc@0.8.19`, or ZKONNX_SOLC).
#[pyfunction]
#[pyo3(signature = (vk_path, settings_path, sol_code_path, abi_path, srs_path=None, no_size_limit=false))]
fn create_evm_verifier(
    py: Python<'_>,
    vk_path: PathBuf,
    settings_path: PathBuf,
    sol_code_path: PathBuf,
    abi_path: PathBuf,
    srs_path: Option<PathBuf>,
    no_size_limit: bool,
) -> PyResult<bool> {
    let start = Instant::now();
    let art = verifier_files(&settings_path, vk_path);
    let files =
        evm::VerifierFiles { bytecode: sol_code_path.with_extension("bin"), solidity: sol_code_path, abi: abi_path };
    let source = srs_path.map(SrsSource::File);
    let v = detached(py, || evm::create_verifier(&art, source.as_ref(), &files, size_limit(no_size_limit)))?;
    log(&format!(
        "verifier written to {}: deployed code {} bytes (limit {}) ({:.1?})",
        files.solidity.display(),
        v.deployed_size,
        evm::MAX_CODE_SIZE,
        start.elapsed()
    ));
    Ok(true)
}

fn size_limit(no_size_limit: bool) -> evm::SizeLimit {
    if no_size_limit {
        evm::SizeLimit::None
    } else {
        evm::SizeLimit::Eip170
    }
}

/// Run the verifier contract (`bytecode_path`, from `create_evm_verifier`) on the proof in an
/// in-process EVM: True, or InvalidProofError when the contract rejects it. The gas is logged.
#[pyfunction]
#[pyo3(signature = (proof_path, settings_path, bytecode_path, no_size_limit=false))]
fn verify_evm(
    py: Python<'_>,
    proof_path: PathBuf,
    settings_path: PathBuf,
    bytecode_path: PathBuf,
    no_size_limit: bool,
) -> PyResult<bool> {
    let dir = settings_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let art = ArtifactDir::new(dir).with_settings(&settings_path);
    let run = detached(py, || {
        let bytecode = evm::read_bytecode(&bytecode_path)?;
        evm::verify(&art, &proof_path, bytecode, size_limit(no_size_limit))
    })?;
    log(&format!("verified on EVM: {} gas, calldata {} bytes", run.gas, run.calldata_size));
    Ok(true)
}

/// The Poseidon commitments a proof with hashed visibility exposes, 0x hex: of the inputs in
/// `data`, of a witness's outputs, and (hashed params) of the weights of `params` (an ONNX file
/// of the compiled architecture) or of the compiled model. Returns a dict of those asked for.
#[pyfunction(name = "hash")]
#[pyo3(signature = (model, data=None, witness=None, params=None))]
fn hash_values<'py>(
    py: Python<'py>,
    model: PathBuf,
    data: Option<PathBuf>,
    witness: Option<PathBuf>,
    params: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let m = Model::load(&ArtifactDir::new(&model)).map_err(py_err)?;
    let mut out = serde_json::Map::new();
    if m.settings.visibility.params == Mode::Hashed {
        let other = params.map(|p| m.plan_with_weights_of(&p)).transpose().map_err(py_err)?;
        out.insert(
            "params_hash".into(),
            witness::params_hash(other.as_ref().unwrap_or(&m.plan)).map_err(py_err)?.into(),
        );
    } else if params.is_some() {
        return Err(msg_err("params: this model has its weights fixed in the verifying key, not hashed"));
    }
    if let Some(path) = data {
        let inputs = witness::read_inputs(&path, &m.settings).map_err(py_err)?;
        out.insert(
            "input_hash".into(),
            witness::input_hash(&m, &witness::quantize_inputs(&m, &inputs)).map_err(py_err)?.into(),
        );
    }
    if let Some(path) = witness {
        let w = witness::read(&path, &m).map_err(py_err)?;
        out.insert("output_hash".into(), witness::output_hash(&m, &w.outputs_quantized).map_err(py_err)?.into());
    }
    to_py(py, &out)
}

#[pymodule]
fn zkonnx(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("InvalidProofError", m.py().get_type::<InvalidProofError>())?;
    m.add_class::<PyRunArgs>()?;
    m.add_function(wrap_pyfunction!(gen_settings, m)?)?;
    m.add_function(wrap_pyfunction!(calibrate_settings, m)?)?;
    m.add_function(wrap_pyfunction!(compile_circuit, m)?)?;
    m.add_function(wrap_pyfunction!(gen_srs, m)?)?;
    m.add_function(wrap_pyfunction!(get_srs, m)?)?;
    m.add_function(wrap_pyfunction!(setup, m)?)?;
    m.add_function(wrap_pyfunction!(gen_witness, m)?)?;
    m.add_function(wrap_pyfunction!(mock, m)?)?;
    m.add_function(wrap_pyfunction!(prove, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(create_evm_verifier, m)?)?;
    m.add_function(wrap_pyfunction!(verify_evm, m)?)?;
    m.add_function(wrap_pyfunction!(hash_values, m)?)?;
    Ok(())
}
