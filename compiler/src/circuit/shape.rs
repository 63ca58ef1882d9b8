//! The physical shape of a circuit: how many columns of each kind, lookup bits, and k.

use serde::{Deserialize, Serialize};

/// Second-phase lanes of a random check's row (`chips::freivalds`).
pub const CHECK_LANES: usize = 3;

/// The second-phase columns: the accumulator, then the check lanes.
pub const PHASE2_COLUMNS: usize = 1 + CHECK_LANES;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitShape {
    /// log2 of the number of rows.
    pub k: u32,
    /// Range checks decompose into limbs of at most this many bits, each looked up in the range
    /// table under the width its lane may hold on that row.
    pub lookup_bits: u32,
    /// Advice columns of the gate area (the dot-product gate does `advice - 1` MACs per row).
    pub advice: usize,
    /// Lookup lanes holding the limbs of a rescale remainder.
    pub rem_lanes: usize,
    /// Lookup lanes holding the limbs of a rescaled value's magnitude.
    pub mag_lanes: usize,
    /// Rows of the function table (0: the model has no function lookups).
    #[serde(default)]
    pub table_rows: usize,
    /// The limb widths the range table holds, as a bit set (bit w: the entries 0..2^w under tag w).
    /// Always 0 and lookup_bits; a requant whose shift or range is not a multiple of lookup_bits
    /// adds the width of its partial lane.
    pub range_widths: u32,
    /// Whether the circuit has the Poseidon chip (the settings commit to some values).
    #[serde(default)]
    pub poseidon: bool,
    /// Whether weights are advice cells (hashed params): the circuit has the param dot gate.
    #[serde(default)]
    pub witness_weights: bool,
    /// The arithmetic chips the circuit configures: only those its plan uses, since every gate
    /// costs the prover its expression on every row and the verifier its evaluation and code.
    #[serde(default = "ChipSet::all")]
    pub chips: ChipSet,
    /// Whether every row of the trace is stacked down single columns: its advice cells on
    /// consecutive rows of one advice column, its fixed cells down one fixed column, its limbs
    /// and widths down one lane and one width column (`stride()` rows per trace row). The fewest
    /// commitments a verifier pays for (one range lookup, one permutation product), at the cost
    /// of a larger k: the layout for an EVM verifier.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stacked: bool,
}

/// The arithmetic chips whose gates a circuit may configure (the Poseidon, function lookup and
/// param dot chips have their own flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Chip {
    Dot,
    Affine,
    Mul,
    Requant,
    Div,
    Max,
    Sqrt,
    Input,
    /// Random checks of matrix products (second-phase columns and a challenge).
    Freivalds,
}

/// A set of chips, as bits; written in settings.json as the list of their names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Vec<Chip>", from = "Vec<Chip>")]
pub struct ChipSet(pub u32);

impl From<ChipSet> for Vec<Chip> {
    fn from(set: ChipSet) -> Vec<Chip> {
        Chip::ALL.into_iter().filter(|&c| set.has(c)).collect()
    }
}

impl From<Vec<Chip>> for ChipSet {
    fn from(chips: Vec<Chip>) -> ChipSet {
        chips.into_iter().fold(ChipSet::none(), ChipSet::with)
    }
}

impl Chip {
    pub const ALL: [Chip; 9] = [
        Chip::Dot,
        Chip::Affine,
        Chip::Mul,
        Chip::Requant,
        Chip::Div,
        Chip::Max,
        Chip::Sqrt,
        Chip::Input,
        Chip::Freivalds,
    ];
}

impl ChipSet {
    pub fn all() -> ChipSet {
        Chip::ALL.into_iter().fold(ChipSet::none(), ChipSet::with)
    }

    pub fn none() -> ChipSet {
        ChipSet(0)
    }

    pub fn with(self, chip: Chip) -> ChipSet {
        ChipSet(self.0 | 1 << chip as u32)
    }

    pub fn has(&self, chip: Chip) -> bool {
        self.0 >> chip as u32 & 1 == 1
    }
}

impl Default for CircuitShape {
    fn default() -> Self {
        CircuitShape {
            k: 10,
            lookup_bits: 8,
            advice: 6,
            rem_lanes: 1,
            mag_lanes: 2,
            table_rows: 0,
            range_widths: range_widths_of(8, []),
            poseidon: false,
            witness_weights: false,
            chips: ChipSet::all(),
            stacked: false,
        }
    }
}

impl CircuitShape {
    /// The smallest width the gates fit in (requant uses 4 cells, mul a triple).
    pub const MIN_ADVICE: usize = 4;
    /// The widest layout the planner tries.
    pub const MAX_ADVICE: usize = 24;

    /// Whether the circuit has second-phase columns (the Freivalds chip's).
    pub fn has_phase2(&self) -> bool {
        self.chips.has(Chip::Freivalds)
    }

    /// Advice columns committed in the second phase.
    pub fn phase2_columns(&self) -> usize {
        if self.has_phase2() {
            PHASE2_COLUMNS
        } else {
            0
        }
    }

    pub fn fixed_columns(&self) -> usize {
        self.advice + 1
    }

    pub fn lanes(&self) -> usize {
        self.rem_lanes + self.mag_lanes
    }

    /// Rows of the range table: 2^w entries for every width w it holds.
    pub fn range_rows(&self) -> usize {
        self.widths().map(|w| 1usize << w).sum()
    }

    /// The widths of the range table, smallest first.
    pub fn widths(&self) -> impl Iterator<Item = u32> + '_ {
        (0..32).filter(|w| self.range_widths >> w & 1 == 1)
    }

    /// The width each of `lanes` lanes holds when together they write a number below 2^width:
    /// full lanes, then the partial one, then lanes that must be 0.
    pub fn lane_widths(&self, width: u32, lanes: usize) -> impl Iterator<Item = u32> {
        let l = self.lookup_bits;
        (0..lanes as u32).map(move |j| width.saturating_sub(j * l).min(l))
    }

    /// The largest lane width sum the circuit accepts: limbs are composed with i128 arithmetic
    /// and every composed value must stay far below the field size.
    pub const MAX_LANE_BITS: u32 = 120;

    /// Bits of a value all lookup lanes together hold (a division's remainder).
    pub fn lane_bits(&self) -> u32 {
        self.lanes() as u32 * self.lookup_bits
    }

    /// Bits of a rescale remainder the remainder lanes hold (the largest shift the circuit allows).
    pub fn rem_bits(&self) -> u32 {
        self.rem_lanes as u32 * self.lookup_bits
    }

    /// |y| < 2^mag_bits for every rescaled value: the range the circuit itself enforces.
    pub fn mag_bits(&self) -> u32 {
        self.mag_lanes as u32 * self.lookup_bits
    }

    /// Rows of the circuit per row of the trace: 1, or (stacked) enough for the widest group of
    /// cells a trace row stacks down one column.
    pub fn stride(&self) -> usize {
        if self.stacked {
            self.fixed_columns().max(self.lanes())
        } else {
            1
        }
    }

    /// The committed columns, for messages: "4 advice + 2 lookup columns", or stacked
    /// "1 advice + 1 lookup column (stacked: 4 advice cells a row over 5 rows)".
    pub fn columns(&self) -> String {
        let text = format!("{} advice + {} lookup columns", self.advice_columns(), self.lane_columns());
        if self.stacked {
            format!("{text} (stacked: {} advice cells a row over {} rows)", self.advice, self.stride())
        } else {
            text
        }
    }

    /// Committed advice columns of the gate area.
    pub fn advice_columns(&self) -> usize {
        if self.stacked {
            1
        } else {
            self.advice
        }
    }

    /// Committed fixed columns of the gate area.
    pub fn fixed_column_count(&self) -> usize {
        if self.stacked {
            1
        } else {
            self.fixed_columns()
        }
    }

    /// Committed lookup lanes (each with its width column and range lookup).
    pub fn lane_columns(&self) -> usize {
        if self.stacked {
            1
        } else {
            self.lanes()
        }
    }

    /// Trace rows Halo2 leaves free at the end of every column, for blinding (with a margin);
    /// stacked, the same number of trace rows, which covers the blinding rows of a column
    /// queried at up to 8 * stride rotations.
    pub const RESERVED_ROWS: usize = 10;

    /// Rows of the trace the circuit holds.
    pub fn usable_rows(&self) -> usize {
        ((1usize << self.k) / self.stride()).saturating_sub(Self::RESERVED_ROWS)
    }

    /// Rows a lookup table (range or function) may fill.
    pub fn table_capacity(&self) -> usize {
        (1usize << self.k) - Self::RESERVED_ROWS
    }
}

/// The range table's width set for limbs of `lookup_bits` bits and these range widths (shifts
/// and ranges of requants): 0, lookup_bits, and each width's partial lane.
pub fn range_widths_of(lookup_bits: u32, widths: impl IntoIterator<Item = u32>) -> u32 {
    widths.into_iter().fold(1 | 1 << lookup_bits, |set, w| set | 1 << (w % lookup_bits))
}
