//! `zkonnx calibrate` and `zkonnx report`: calibration data, the float reference, the reports.

use crate::error::{Result, RuntimeError};
use crate::files::{read, read_json, sha256_hex, write_json};
use crate::model::{binding_of, save_settings, write_settings, ArtifactDir, Model};
use crate::proof::check_lowers;
use crate::witness::{generate, Witness};
use compiler::calibrate::{self, ErrorStats, Options, Report, Samples};
use compiler::quant::Scales;
use compiler::reference::FloatModel;
use compiler::settings::Settings;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Deserialize)]
struct DataFile {
    input_data: Vec<Vec<serde_json::Value>>,
}

/// The most samples a calibration reads: each is run through the float model and the integer
/// evaluator for every candidate, so a million would run for hours.
pub const MAX_SAMPLES: usize = 10_000;

/// Read a data file: per model input, N samples' flattened values concatenated. Returns, per
/// sample, per input, the values.
pub fn read_samples(path: &Path, settings: &Settings) -> Result<Vec<Vec<Vec<f64>>>> {
    let file: DataFile = read_json(path, "data file (expected {\"input_data\": [[...]]})")?;
    let lists = crate::witness::model_lists(file.input_data, settings)?;
    let mut per_input = vec![];
    let mut count = None;
    for (i, (values, spec)) in lists.iter().zip(&settings.inputs).enumerate() {
        let size: usize = spec.shape.iter().product();
        if values.is_empty() || values.len() % size != 0 {
            return Err(RuntimeError::Input(format!(
                "input {i} has {} values, not a multiple of its {size} elements (shape {:?})",
                values.len(),
                spec.shape
            )));
        }
        let n = values.len() / size;
        if n > MAX_SAMPLES {
            return Err(RuntimeError::Input(format!(
                "input {i} holds {n} samples; calibration takes at most {MAX_SAMPLES} (a few hundred that \
                 span the inputs the model will see are enough): pass a subset"
            )));
        }
        if count.is_some_and(|c| c != n) {
            return Err(RuntimeError::Input(format!("input {i} holds {n} samples but input 0 holds {count:?}")));
        }
        count = Some(n);
        let floats: Vec<f64> = values
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let x = crate::witness::number(v)
                    .ok_or_else(|| RuntimeError::Input(format!("input {i} value {j} is {v}, not a finite number")))?;
                if let Some(why) = spec.refuse_by_kind(i, j, x) {
                    return Err(RuntimeError::Input(why));
                }
                if x.abs() > compiler::MAX_INPUT_ABS {
                    return Err(RuntimeError::Input(format!(
                        "input {i} value {j} is {x:e}, too large for fixed point (|x| <= {:e}); check the data",
                        compiler::MAX_INPUT_ABS
                    )));
                }
                Ok(x)
            })
            .collect::<Result<_>>()?;
        per_input.push(floats.chunks(size).map(|c| c.to_vec()).collect::<Vec<_>>());
    }
    // A model without inputs has one run.
    let n = count.unwrap_or(1);
    Ok((0..n).map(|s| per_input.iter().map(|inp| inp[s].clone()).collect()).collect())
}

/// The float reference of the model in the artifact folder (its ONNX copy, checked against the
/// settings, for tract's cross-check).
fn float_model(art: &ArtifactDir, model: &Model) -> Result<FloatModel> {
    let bytes = read(&art.onnx())?;
    if sha256_hex(&bytes) != model.settings.model_sha256 {
        return Err(RuntimeError::Mismatch {
            path: art.onnx().display().to_string(),
            reason: "it is not the model settings.json was compiled from; run `zkonnx compile` again".into(),
        });
    }
    Ok(float_model_of(&bytes, model))
}

fn float_model_of(onnx: &[u8], model: &Model) -> FloatModel {
    let shapes: Vec<Vec<usize>> = model.settings.inputs.iter().map(|i| i.shape.clone()).collect();
    FloatModel::new(model.graph.clone(), onnx, &shapes)
}

fn float_outputs(float: &FloatModel, inputs: &[Vec<Vec<f64>>]) -> Result<Vec<Vec<Vec<f64>>>> {
    inputs.iter().map(|s| Ok(float.run(s)?)).collect()
}

/// `zkonnx calibrate`: `calibrate_model` on the artifact folder's model, then write settings.json
/// and the report.
pub fn calibrate(
    art: &ArtifactDir,
    data: &Path,
    opts: &Options,
    report_path: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Model, Report)> {
    let _lock = art.lock("calibrate")?;
    let model = Model::load(art)?;
    let float = float_model(art, &model)?;
    let (calibrated, report) = calibrate_model(&model, &float, data, opts, progress)?;
    let saved = save_settings(&model, art, calibrated.settings, calibrated.plan)?;
    write_json(report_path, &report)?;
    Ok((saved, report))
}

/// Calibrate the settings of the model in `onnx` (whose settings file is `settings_path`) and
/// write them there (EZKL's `calibrate_settings`).
pub fn calibrate_settings(
    onnx: &Path,
    settings_path: &Path,
    data: &Path,
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Model, Report)> {
    let (model, bytes) = Model::from_onnx(onnx, settings_path)?;
    let float = float_model_of(&bytes, &model);
    let (calibrated, report) = calibrate_model(&model, &float, data, opts, progress)?;
    write_settings(settings_path, &calibrated.settings)?;
    Ok((calibrated, report))
}

/// Search the settings for the target, and check every sample passes `mock` with them. Nothing
/// is written.
fn calibrate_model(
    model: &Model,
    float: &FloatModel,
    data: &Path,
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Model, Report)> {
    let inputs = read_samples(data, &model.settings)?;
    let samples = Samples { float_outputs: float_outputs(float, &inputs)?, inputs };
    // Calibration keeps the visibility and layout goal the model was compiled with, and builds
    // as many candidates at once as memory holds (one at least: refused if even that cannot fit).
    let each = calibrate::candidate_bytes(&model.graph, &samples);
    crate::keys::check_bytes(each, "calibrate (one candidate's plan and values)")?;
    let opts = Options {
        visibility: model.settings.visibility.clone(),
        layout: model.settings.layout_options(),
        parallel: crate::keys::runs_that_fit(each).min(rayon::current_num_threads()),
        ..opts.clone()
    };
    // A segmented model is planned whole past one machine's rows; its segments must fit.
    let opts = match model.settings.segments {
        Some(_) => Options { max_logrows: crate::workflow::MAX_WHOLE_LOGROWS, ..opts },
        None => opts,
    };
    let (settings, plan, mut report) =
        calibrate::calibrate(&model.graph, &model.settings.model_sha256, &samples, &opts, progress)?;
    report.reference = Some(float.cross_check(&samples.inputs, &samples.float_outputs));
    let binding = binding_of(&settings);
    let candidate = Model { graph: model.graph.clone(), settings, plan, binding };
    // The guarantee: every calibration sample lowers to a complete trace with the chosen
    // settings (every value within its range check). Run as many at once as fit in memory.
    let need = crate::keys::check_trace_memory(candidate.settings.circuit, "calibrate's check (every sample's trace)")?;
    let at_once = crate::keys::runs_that_fit(need);
    let indexed: Vec<(usize, &Vec<Vec<f64>>)> = samples.inputs.iter().enumerate().collect();
    for batch in indexed.chunks(at_once) {
        batch.par_iter().try_for_each(|&(i, sample)| {
            let witness = generate(&candidate, sample, None).map_err(|e| {
                RuntimeError::Other(format!("calibration sample {i} fails with the chosen settings: {e}"))
            })?;
            check_lowers(&candidate, &witness).map_err(|e| {
                RuntimeError::Other(format!("calibration sample {i} does not lower with the chosen settings: {e}"))
            })
        })?;
    }
    // Calibration keeps the segments the model was compiled with (cut again: the rows changed).
    let candidate = match &model.settings.segments {
        Some(seg) => crate::model::segmented(candidate, seg.logrows, seg.arity, seg.layout)?,
        None => candidate,
    };
    Ok((candidate, report))
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataReport {
    pub samples: usize,
    pub scales: Scales,
    pub k: u32,
    /// Samples the settings cannot prove (a value out of range), with the first reasons.
    pub out_of_range: usize,
    pub failures: Vec<String>,
    /// Error of the samples that are in range.
    pub error: Option<ErrorStats>,
}

/// `zkonnx report`: the quantization error of the current settings on a data set.
pub fn report(art: &ArtifactDir, data: &Path) -> Result<DataReport> {
    let model = Model::load(art)?;
    let inputs = read_samples(data, &model.settings)?;
    let float = float_model(art, &model)?;
    let mut failures = vec![];
    let (mut quantized, mut reference) = (vec![], vec![]);
    for (i, sample) in inputs.iter().enumerate() {
        let in_range = sample.iter().zip(&model.settings.inputs).find_map(|(x, spec)| {
            x.iter().position(|&v| v < spec.range.min || v > spec.range.max).map(|j| {
                format!("input {} element {j} is {}, outside [{}, {}]", spec.name, x[j], spec.range.min, spec.range.max)
            })
        });
        let result: std::result::Result<Witness, String> = match in_range {
            Some(reason) => Err(reason),
            None => generate(&model, sample, None).map_err(|e| e.to_string()),
        };
        match result {
            Ok(w) => {
                quantized.push(w.outputs);
                reference.push(float.run(sample)?);
            }
            Err(e) => failures.push(format!("sample {i}: {e}")),
        }
    }
    let out_of_range = failures.len();
    failures.truncate(5);
    Ok(DataReport {
        samples: inputs.len(),
        scales: model.settings.scales.clone(),
        k: model.settings.circuit.k,
        out_of_range,
        failures,
        error: (!quantized.is_empty()).then(|| ErrorStats::compare(&quantized, &reference)),
    })
}
