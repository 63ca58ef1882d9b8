//! The physical shape of a circuit: how many columns of each kind, lookup bits, and k.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitShape {
    /// log2 of the number of rows.
    pub k: u32,
    /// Range checks decompose into limbs of this many bits, each looked up in one table of
    /// 2^lookup_bits rows.
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
}

impl Default for CircuitShape {
    fn default() -> Self {
        CircuitShape { k: 10, lookup_bits: 8, advice: 6, rem_lanes: 1, mag_lanes: 2, table_rows: 0 }
    }
}

impl CircuitShape {
    /// The smallest width the gates fit in (requant uses 4 cells, mul a triple).
    pub const MIN_ADVICE: usize = 4;

    pub fn fixed_columns(&self) -> usize {
        self.advice + 1
    }

    pub fn lanes(&self) -> usize {
        self.rem_lanes + self.mag_lanes
    }

    /// Rows of the range table: 0..2^lookup_bits.
    pub fn range_rows(&self) -> usize {
        1usize << self.lookup_bits
    }

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

    /// Rows Halo2 keeps for blinding at the end of every column, with a margin.
    pub const RESERVED_ROWS: usize = 10;

    pub fn usable_rows(&self) -> usize {
        (1usize << self.k) - Self::RESERVED_ROWS
    }
}
