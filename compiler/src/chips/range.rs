//! The range table and the lookups on it.
//!
//! The table holds 0..2^lookup_bits. Every lookup lane is checked against it on every row, so a
//! limb is always in [0, 2^lookup_bits) and an unused lane (0) passes. A value of any width is
//! checked with limbs of lookup_bits bits, in a table of 2^lookup_bits rows rather than one as wide
//! as the value: the model's rows, not the table, set k.

use super::Columns;
use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::plonk::{ConstraintSystem, Error, TableColumn};
use halo2_proofs::poly::Rotation;
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct RangeConfig {
    pub table: TableColumn,
    pub lookup_bits: u32,
}

impl RangeConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, lookup_bits: u32) -> Self {
        let table = meta.lookup_table_column();
        for &limb in &cols.limbs {
            meta.lookup("range", |m| vec![(m.query_advice(limb, Rotation::cur()), table)]);
        }
        RangeConfig { table, lookup_bits }
    }

    pub fn load(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_table(
            || "range table",
            |mut table| {
                for v in 0..1u64 << self.lookup_bits {
                    table.assign_cell(|| "range", self.table, v as usize, || Value::known(Fr::from(v)))?;
                }
                Ok(())
            },
        )
    }
}
