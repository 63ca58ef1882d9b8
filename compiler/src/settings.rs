//! settings.json: everything that decides the circuit besides the model itself.

use crate::circuit::shape::CircuitShape;
use crate::quant::{InputRange, Requant, Scales};
use serde::{Deserialize, Serialize};

/// Bumped whenever the meaning of a settings file, or the circuit it gives, changes.
pub const SETTINGS_FORMAT: &str = "zkonnx-settings/3";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub format: String,
    /// sha256 of the ONNX file the circuit was compiled from.
    pub model_sha256: String,
    pub visibility: Visibility,
    pub scales: Scales,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    /// Every rescale of the plan, for the record (derived from the scales and ranges).
    pub rescales: Vec<RescaleRecord>,
    /// Every function lookup: the range of its input the table was sized for, and the table.
    pub lookups: Vec<LookupRecord>,
    pub circuit: CircuitShape,
    /// Rows the model uses out of 2^k.
    pub rows: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    pub name: String,
    pub shape: Vec<usize>,
    /// Float range the input may take; gen-witness refuses values outside it.
    pub range: InputRange,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub scale: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RescaleRecord {
    pub node: String,
    #[serde(flatten)]
    pub requant: Requant,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LookupRecord {
    pub node: String,
    pub func: String,
    /// |x| < 2^input_bits at the input's scale.
    pub input_bits: u32,
    /// x is rescaled by 2^-shift before the lookup.
    pub shift: u32,
    /// The table holds -domain..=domain.
    pub domain: i128,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Private,
    Public,
    Fixed,
    Hashed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visibility {
    pub input: Mode,
    pub output: Mode,
    pub params: Mode,
}

impl Default for Visibility {
    fn default() -> Self {
        Visibility { input: Mode::Private, output: Mode::Public, params: Mode::Fixed }
    }
}

impl Visibility {
    /// Only private input, public output and fixed weights are built so far.
    pub fn check_supported(&self) -> Result<(), String> {
        if *self == Visibility::default() {
            Ok(())
        } else {
            Err(format!(
                "visibility input={:?} output={:?} params={:?} is not supported yet; only input private, \
                 output public, params fixed",
                self.input, self.output, self.params
            )
            .to_lowercase())
        }
    }
}
