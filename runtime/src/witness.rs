//! Input files (EZKL's layout) and witness files.

use crate::error::{Result, RuntimeError};
use crate::files::{read_json, write_json};
use crate::model::Model;
use compiler::commit::{commitment, input_packings, output_packings, params_commitment, to_hex};
use compiler::quant::eval::evaluate;
use compiler::quant::{quantize, QuantPlan};
use compiler::settings::Mode;
use compiler::settings::Settings;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const WITNESS_FORMAT: &str = "zkonnx-witness/1";

/// `{"input_data": [[flattened floats of input 0], ...]}`.
#[derive(Deserialize)]
struct InputFile {
    input_data: Vec<Vec<serde_json::Value>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Witness {
    pub format: String,
    /// Hex of the binding hash of the settings this witness was made for.
    pub binding: String,
    /// Quantized model inputs (private: a witness file is the prover's secret).
    pub inputs: Vec<Vec<i128>>,
    /// Model outputs as integers at their scales (the public instances).
    pub outputs_quantized: Vec<Vec<i128>>,
    /// Model outputs as floats, one list per model output.
    pub outputs: Vec<Vec<f64>>,
    /// The commitments the settings expose (0x hex), for reading: the proof's instances hold them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_hash: Option<String>,
    /// With hashed params: the weights the proof uses (quantized, flattened as
    /// `QuantPlan::param_values`; the compiled model's unless `--params` gave others), and their
    /// commitment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<i128>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params_hash: Option<String>,
}

/// Read an input file and check it against the model's inputs: count, finiteness, range.
pub fn read_inputs(path: &Path, settings: &Settings) -> Result<Vec<Vec<f64>>> {
    let file: InputFile = read_json(path, "input file (expected {\"input_data\": [[...]]})")?;
    parse_inputs(file.input_data, settings)
}

/// The lists of an input file the model reads: one per model input, in order. Lists past the
/// model's inputs (an exporter dropped inputs the graph never reads) are ignored, as EZKL does,
/// with a warning; fewer lists are an error.
pub fn model_lists<T>(mut data: Vec<Vec<T>>, settings: &Settings) -> Result<Vec<Vec<T>>> {
    let n = settings.inputs.len();
    if data.len() < n {
        return Err(RuntimeError::Input(format!("input_data has {} lists but the model has {n} input(s)", data.len())));
    }
    let extra = data.split_off(n);
    if extra.iter().any(|list| !list.is_empty()) {
        let names: Vec<&str> = settings.inputs.iter().map(|i| i.name.as_str()).collect();
        eprintln!(
            "warning: input_data has {} lists but the model reads {n} input(s) ({}): the first {n} are read, the \
             rest ignored (as EZKL does)",
            n + extra.len(),
            names.join(", ")
        );
    }
    Ok(data)
}

fn parse_inputs(data: Vec<Vec<serde_json::Value>>, settings: &Settings) -> Result<Vec<Vec<f64>>> {
    let data = model_lists(data, settings)?;
    let mut out = vec![];
    for (i, (values, spec)) in data.into_iter().zip(&settings.inputs).enumerate() {
        let want: usize = spec.shape.iter().product();
        if values.len() != want {
            return Err(RuntimeError::Input(format!(
                "input {i} ({}) has {} values; the model expects {want} (shape {:?})",
                spec.name,
                values.len(),
                spec.shape
            )));
        }
        let mut floats = Vec::with_capacity(want);
        for (j, v) in values.iter().enumerate() {
            let x = number(v).ok_or_else(|| {
                RuntimeError::Input(format!(
                    "input {i} element {j} is {v}, not a finite number (NaN and inf are refused)"
                ))
            })?;
            if let Some(why) = spec.refuse(i, j, x) {
                return Err(RuntimeError::Input(why));
            }
            floats.push(x);
        }
        out.push(floats);
    }
    Ok(out)
}

/// An input value: a finite number, or a boolean as 1 or 0 (EZKL's files may hold either).
pub(crate) fn number(v: &serde_json::Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite()).or_else(|| v.as_bool().map(|b| b as u8 as f64))
}

/// Quantize the inputs and run the integer evaluator, with the compiled weights or (hashed params
/// only) another model's, from `Model::plan_with_weights_of`.
pub fn generate(model: &Model, inputs: &[Vec<f64>], other_weights: Option<&QuantPlan>) -> Result<Witness> {
    let quantized = quantize_inputs(model, inputs);
    let plan = other_weights.unwrap_or(&model.plan);
    let values = evaluate(&model.graph, plan, &quantized)?;
    let outputs_quantized: Vec<Vec<i128>> = model.graph.outputs.iter().map(|&o| values[o].clone()).collect();
    let outputs =
        outputs_quantized.iter().zip(&model.settings.outputs).map(|(v, spec)| dequantize(v, spec.scale)).collect();
    let hashed = |m: Mode| m == Mode::Hashed;
    Ok(Witness {
        format: WITNESS_FORMAT.into(),
        binding: hex::encode(model.binding),
        input_hash: hashed(model.settings.visibility.input).then(|| input_hash(model, &quantized)).transpose()?,
        output_hash: hashed(model.settings.visibility.output)
            .then(|| output_hash(model, &outputs_quantized))
            .transpose()?,
        params_hash: hashed(model.settings.visibility.params).then(|| params_hash(plan)).transpose()?,
        params: hashed(model.settings.visibility.params).then(|| plan.param_values()),
        inputs: quantized,
        outputs_quantized,
        outputs,
    })
}

/// The commitment of a plan's witnessed weights (`zkonnx hash --params`), 0x hex.
pub fn params_hash(plan: &QuantPlan) -> Result<String> {
    let h =
        params_commitment(plan).map_err(|e| RuntimeError::Input(format!("the weights cannot be committed: {e}")))?;
    Ok(to_hex(&h))
}

/// The commitment of quantized model inputs (`zkonnx hash --input`), 0x hex.
pub fn input_hash(model: &Model, inputs: &[Vec<i128>]) -> Result<String> {
    let h = commitment(inputs, &input_packings(&model.graph, &model.plan))
        .map_err(|e| RuntimeError::Input(format!("the inputs cannot be committed: input {e}")))?;
    Ok(to_hex(&h))
}

/// The commitment of quantized model outputs, 0x hex: what a proof with hashed outputs exposes.
/// An output outside the range the circuit proves for it is refused (issue 25: such values could
/// pack, and hash, like the proven ones).
pub fn output_hash(model: &Model, outputs: &[Vec<i128>]) -> Result<String> {
    let h = commitment(outputs, &output_packings(&model.graph, &model.plan))
        .map_err(|e| RuntimeError::Input(format!("the outputs cannot be the committed ones: output {e}")))?;
    Ok(to_hex(&h))
}

/// Quantize float inputs, each at its input's scale.
pub fn quantize_inputs(model: &Model, inputs: &[Vec<f64>]) -> Vec<Vec<i128>> {
    let s = &model.settings;
    inputs
        .iter()
        .zip(&s.inputs)
        .map(|(x, spec)| x.iter().map(|&v| quantize(v, spec.scale(&s.scales))).collect())
        .collect()
}

pub fn dequantize(v: &[i128], scale: u32) -> Vec<f64> {
    let unit = (scale as f64).exp2();
    v.iter().map(|&x| x as f64 / unit).collect()
}

pub fn write(path: &Path, w: &Witness) -> Result<()> {
    write_json(path, w)
}

pub fn read(path: &Path, model: &Model) -> Result<Witness> {
    let w: Witness = read_json(path, "witness file")?;
    if w.format != WITNESS_FORMAT {
        return Err(RuntimeError::Mismatch {
            path: path.display().to_string(),
            reason: format!("witness format {}, this zkonnx reads {WITNESS_FORMAT}", w.format),
        });
    }
    if w.binding != hex::encode(model.binding) {
        return Err(RuntimeError::Mismatch {
            path: path.display().to_string(),
            reason: "it was generated for other settings; run `zkonnx gen-witness` again".into(),
        });
    }
    check_shapes(&w, &model.settings).map_err(|reason| RuntimeError::Corrupt {
        path: path.display().to_string(),
        what: "witness file",
        reason,
    })?;
    Ok(w)
}

/// A witness's tensors have the model's shapes, and its float outputs are exactly its integer
/// outputs at their scales (a reader shown the floats is shown what the integers say).
fn check_shapes(w: &Witness, settings: &Settings) -> std::result::Result<(), String> {
    let numel = |shape: &[usize]| shape.iter().product::<usize>();
    let input_lens: Vec<usize> = settings.inputs.iter().map(|i| numel(&i.shape)).collect();
    let output_lens: Vec<usize> = settings.outputs.iter().map(|o| numel(&o.shape)).collect();
    let lens = |t: &[Vec<i128>]| t.iter().map(Vec::len).collect::<Vec<_>>();
    if lens(&w.inputs) != input_lens {
        return Err(format!("its inputs have {:?} values, the model's {input_lens:?}", lens(&w.inputs)));
    }
    if lens(&w.outputs_quantized) != output_lens {
        return Err(format!("its outputs have {:?} values, the model's {output_lens:?}", lens(&w.outputs_quantized)));
    }
    if w.outputs.len() != w.outputs_quantized.len() {
        return Err(format!("{} float outputs for {} integer ones", w.outputs.len(), w.outputs_quantized.len()));
    }
    for (i, ((floats, ints), spec)) in w.outputs.iter().zip(&w.outputs_quantized).zip(&settings.outputs).enumerate() {
        if *floats != dequantize(ints, spec.scale) {
            return Err(format!("output {i}'s floats are not its integers at scale 2^{}", spec.scale));
        }
    }
    Ok(())
}
