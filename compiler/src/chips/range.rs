//! The range table and the lookups on it.
//!
//! The table holds the pairs (w, v) with 0 <= v < 2^w for each width w of the shape's set (always
//! 0 and lookup_bits, plus the partial widths the plan's requants need). Every lookup lane has a
//! fixed width column, and on every row the pair (width, limb) must be in the table: a limb is an
//! integer below 2^width. A value below 2^B is written as full lanes of lookup_bits, one lane of
//! B mod lookup_bits bits and lanes of width 0, so the bound is exact for any B, and a limb (hence
//! the value it composes) can never be a fraction of the field. Unused lanes hold 0, which every
//! width allows; rows past the trace have width 0 and limb 0.
//!
//! A value of any width is checked with limbs, in a table of about 2^lookup_bits rows rather than
//! one as wide as the value: the model's rows, not the table, set k.

use super::Columns;
use crate::circuit::shape::CircuitShape;
use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::plonk::{ConstraintSystem, Error, TableColumn};
use halo2_proofs::poly::Rotation;
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct RangeConfig {
    /// (width, value).
    pub table: [TableColumn; 2],
}

impl RangeConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let table = [meta.lookup_table_column(), meta.lookup_table_column()];
        for (limb, width) in cols.lane_columns() {
            meta.lookup("range", |m| {
                vec![
                    (m.query_fixed(width, Rotation::cur()), table[0]),
                    (m.query_advice(limb, Rotation::cur()), table[1]),
                ]
            });
        }
        RangeConfig { table }
    }

    /// Fill the table: (0, 0) first (the row unassigned table rows repeat), then every width's
    /// entries.
    pub fn load(&self, layouter: &mut impl Layouter<Fr>, shape: &CircuitShape) -> Result<(), Error> {
        layouter.assign_table(
            || "range table",
            |mut t| {
                let entries = shape.widths().flat_map(|w| (0..1u64 << w).map(move |v| (w as u64, v)));
                for (row, (w, v)) in entries.enumerate() {
                    t.assign_cell(|| "width", self.table[0], row, || Value::known(Fr::from(w)))?;
                    t.assign_cell(|| "value", self.table[1], row, || Value::known(Fr::from(v)))?;
                }
                Ok(())
            },
        )
    }
}
