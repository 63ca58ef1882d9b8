//! settings.json: everything that decides the circuit besides the model itself.

use crate::circuit::shape::CircuitShape;
use crate::ir::InputKind;
use crate::quant::params::Weights;
use crate::quant::{InputRange, Requant, Scales};
use serde::{Deserialize, Serialize};

/// Bumped whenever the meaning of a settings file, or the circuit it gives, changes.
pub const SETTINGS_FORMAT: &str = "zkonnx-settings/4";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub format: String,
    /// sha256 of the ONNX file the circuit was compiled from.
    pub model_sha256: String,
    pub visibility: Visibility,
    /// What the layout minimises: the prover's work, or the on-chain verifier's gas and size.
    #[serde(default)]
    pub layout: LayoutGoal,
    /// Whether the planner may prove a convolution or batched MatMul by a random check
    /// (`chips::freivalds`) where that takes fewer rows.
    #[serde(default = "yes")]
    pub random_checks: bool,
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
    /// With `--segment-logrows`: the model cut into circuits that each fit 2^logrows rows,
    /// proven apart and aggregated into one proof (`circuit` is then the whole model's, unused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<Segmentation>,
}

/// A model's segments (`compiler::segment`) and their circuits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Segmentation {
    /// Every segment fits 2^logrows rows.
    pub logrows: u32,
    /// The aggregation circuits' k; their SRS, downsized, is every segment's.
    pub aggregate_k: u32,
    /// How many proofs one aggregation node verifies (`segment::tree`).
    #[serde(default = "Segmentation::default_arity")]
    pub arity: usize,
    /// How the segments are laid out (stacked: cheap to aggregate; rows: ~5x the rows each).
    #[serde(default)]
    pub layout: SegmentLayout,
    pub parts: Vec<SegmentRecord>,
}

impl Segmentation {
    /// Two proofs a node: every node then fits ~8 GB (`segment` explains the figure).
    pub const DEFAULT_ARITY: usize = 2;

    fn default_arity() -> usize {
        Self::DEFAULT_ARITY
    }
}

/// How segments are laid out: the trade between segments and aggregation nodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentLayout {
    /// Stacked rows (one advice column): a segment proof costs a node half its circuit, so
    /// nodes verify `arity` of them; a segment holds ~1/5 of the rows a row layout holds.
    #[default]
    Stacked,
    /// The row layout with the fewest columns: ~5x the rows a segment, but its proof fills a
    /// node alone. Fewer jobs in all for large models (a node per segment and about one more per
    /// pair, against a node per ~arity stacked segments of a fifth the size).
    Rows,
}

impl std::str::FromStr for SegmentLayout {
    type Err = String;

    fn from_str(s: &str) -> Result<SegmentLayout, String> {
        match s {
            "stacked" => Ok(SegmentLayout::Stacked),
            "rows" => Ok(SegmentLayout::Rows),
            _ => Err(format!("unknown segment layout {s:?}; use stacked or rows")),
        }
    }
}

impl std::fmt::Display for SegmentLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SegmentLayout::Stacked => "stacked",
            SegmentLayout::Rows => "rows",
        })
    }
}

/// One segment: nodes `start..end` of the model's graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub start: crate::ir::NodeId,
    pub end: crate::ir::NodeId,
    /// The model's tensors this segment reads from earlier segments (the model inputs for the
    /// first), in node order: the inputs of its circuit.
    pub inputs: Vec<crate::ir::NodeId>,
    /// The tensors it hands on (the model outputs for the last), in node order.
    pub outputs: Vec<crate::ir::NodeId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentRecord {
    #[serde(flatten)]
    pub segment: Segment,
    pub circuit: CircuitShape,
    pub rows: usize,
}

/// EZKL's `run_args` block, for scripts written for EZKL (`settings["run_args"]["logrows"]`):
/// written beside the settings, mirrored from them, checked on load and never read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunArgs {
    pub logrows: u32,
    pub input_scale: u32,
    pub param_scale: u32,
    pub input_visibility: String,
    pub output_visibility: String,
    pub param_visibility: String,
}

impl RunArgs {
    pub fn of(s: &Settings) -> Self {
        // EZKL's names for the modes, as its settings files spell them.
        let ezkl = |m: Mode| match m {
            Mode::Private => "Private",
            Mode::Public => "Public",
            Mode::Fixed => "Fixed",
            Mode::Hashed => "Hashed",
        };
        RunArgs {
            logrows: s.circuit.k,
            input_scale: s.scales.input,
            param_scale: s.scales.param,
            input_visibility: ezkl(s.visibility.input).into(),
            output_visibility: ezkl(s.visibility.output).into(),
            param_visibility: ezkl(s.visibility.params).into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    pub name: String,
    pub shape: Vec<usize>,
    /// Float range the input may take; gen-witness refuses values outside it.
    pub range: InputRange,
    /// An ONNX integer input (token ids, positions) is whole numbers only, and an index input
    /// (`selects` V) within [0, V).
    #[serde(default, skip_serializing_if = "is_real")]
    pub kind: InputKind,
}

fn is_real(kind: &InputKind) -> bool {
    *kind == InputKind::Real
}

impl InputSpec {
    /// The scale exponent this input is quantized at (`InputKind::scale`).
    pub fn scale(&self, scales: &Scales) -> u32 {
        self.kind.scale(scales.input)
    }

    /// Why `x` cannot be element `j` of this input (model input `i`) whatever the calibration:
    /// a fraction where the model declares an integer type, an index outside its axis.
    pub fn refuse_by_kind(&self, i: usize, j: usize, x: f64) -> Option<String> {
        let name = &self.name;
        match self.kind {
            InputKind::Integer { .. } if x.fract() != 0.0 => Some(format!(
                "input {i} ({name}) element {j} is {x}, but the model declares this input an integer type"
            )),
            InputKind::Integer { selects: Some(v) } => {
                self.kind.index_range().filter(|&(lo, hi)| x < lo || x > hi).map(|(lo, hi)| {
                    format!(
                        "input {i} ({name}) element {j} is {x}, but it indexes an axis of {v} (a token id, say): it \
                         must lie in [{lo}, {hi}]"
                    )
                })
            }
            _ => None,
        }
    }

    /// Why `x` cannot be element `j` of this input (model input `i`) with these settings:
    /// `refuse_by_kind`, or outside the range.
    pub fn refuse(&self, i: usize, j: usize, x: f64) -> Option<String> {
        if let Some(why) = self.refuse_by_kind(i, j, x) {
            return Some(why);
        }
        (x < self.range.min || x > self.range.max).then(|| {
            format!(
                "input {i} ({}) element {j} is {x}, outside the range [{}, {}] in settings.json; \
                 calibrate with data like this (zkonnx calibrate) to widen it",
                self.name, self.range.min, self.range.max
            )
        })
    }
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

fn yes() -> bool {
    true
}

/// What the layout planner is asked for: its goal, whether it may use random checks, and how an
/// EVM layout may stack rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayoutOptions {
    pub goal: LayoutGoal,
    pub random_checks: bool,
    pub stacking: Stacking,
    /// The widest advice width it may choose.
    pub max_advice: usize,
}

/// Whether an EVM layout stacks each trace row down single columns (`CircuitShape::stacked`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stacking {
    /// The row layout only (`--segment-layout rows`).
    Never,
    /// Stacked where it fits, else the row layout (a contract verifier).
    First,
    /// Stacked or nothing (segments: the aggregation verifies a stacked proof for half the cells,
    /// and a node must stay one bounded job).
    Only,
}

impl Default for LayoutOptions {
    fn default() -> Self {
        LayoutOptions::new(LayoutGoal::Prover, true)
    }
}

impl LayoutOptions {
    pub fn new(goal: LayoutGoal, random_checks: bool) -> Self {
        LayoutOptions { goal, random_checks, stacking: Stacking::First, max_advice: CircuitShape::MAX_ADVICE }
    }
}

impl Settings {
    /// The layout options these settings were planned with.
    pub fn layout_options(&self) -> LayoutOptions {
        LayoutOptions::new(self.layout, self.random_checks)
    }
}

/// What the layout planner minimises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutGoal {
    /// Prove time and key size: columns traded for rows where that is cheaper to prove.
    #[default]
    Prover,
    /// An EVM verifier: the fewest commitments (each costs the verifier an elliptic-curve
    /// multiplication, ~6,350 gas, and contract code): stacked rows, so more rows and prove time.
    Evm,
}

impl std::str::FromStr for LayoutGoal {
    type Err = String;

    fn from_str(s: &str) -> Result<LayoutGoal, String> {
        match s {
            "prover" => Ok(LayoutGoal::Prover),
            "evm" => Ok(LayoutGoal::Evm),
            _ => Err(format!("unknown layout {s:?}; use prover or evm")),
        }
    }
}

impl std::fmt::Display for LayoutGoal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LayoutGoal::Prover => "prover",
            LayoutGoal::Evm => "evm",
        })
    }
}

/// Who sees a value: in the public instance (`public`), only as a Poseidon commitment in it
/// (`hashed`), nobody (`private`), or, for weights, fixed in the verifying key (`fixed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Private,
    Public,
    Fixed,
    Hashed,
}

impl std::str::FromStr for Mode {
    type Err = String;

    /// zkonnx's names, and EZKL's where they mean the same.
    fn from_str(s: &str) -> Result<Mode, String> {
        match s.to_ascii_lowercase().as_str() {
            "private" => Ok(Mode::Private),
            "public" => Ok(Mode::Public),
            "fixed" => Ok(Mode::Fixed),
            "hashed" | "hashed/public" => Ok(Mode::Hashed),
            "hashed/private" => Err("visibility hashed/private (a commitment no verifier sees) is not supported; \
                                     use hashed (the commitment is public) or private"
                .into()),
            "polycommit" | "kzgcommit" => Err(format!(
                "visibility {s} is not supported: zkonnx commits to values with Poseidon hashes; use hashed"
            )),
            _ => Err(format!("unknown visibility {s:?}; use private, public, hashed or fixed")),
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Private => "private",
            Mode::Public => "public",
            Mode::Fixed => "fixed",
            Mode::Hashed => "hashed",
        })
    }
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
    /// A visibility whose modes each make sense for their role: inputs and outputs are private,
    /// public or hashed; weights fixed (in the key) or hashed.
    pub fn new(input: Mode, output: Mode, params: Mode) -> Result<Visibility, String> {
        let v = Visibility { input, output, params };
        v.check()?;
        Ok(v)
    }

    /// Whether anything is committed to with a hash (the circuit then has the Poseidon chip).
    pub fn hashes(&self) -> bool {
        [self.input, self.output, self.params].contains(&Mode::Hashed)
    }

    /// Where the layers' weights live: hashed weights are witnessed.
    pub fn weights(&self) -> Weights {
        match self.params {
            Mode::Hashed => Weights::Witness,
            _ => Weights::InKey,
        }
    }

    /// The modes each role allows.
    pub fn check(&self) -> Result<(), String> {
        let data = [Mode::Private, Mode::Public, Mode::Hashed];
        if !data.contains(&self.input) {
            return Err(format!("input visibility {} is not one of private, public, hashed", self.input));
        }
        if !data.contains(&self.output) {
            return Err(format!("output visibility {} is not one of private, public, hashed", self.output));
        }
        if ![Mode::Fixed, Mode::Hashed].contains(&self.params) {
            return Err(format!("param visibility {} is not one of fixed, hashed", self.params));
        }
        Ok(())
    }
}
