//! The range table and the lookups on it.
//!
//! The table holds (0, 0) and, for each width b in 1..=lookup_bits, the pairs (b, 0..2^b). Every
//! lookup lane is checked against it on every row as (tag, limb), with the tag a fixed column: a
//! limb is in [0, 2^tag), and a lane with tag 0 must hold 0. So a value of any width is checked
//! exactly, with limbs of lookup_bits bits and a narrower top limb, in a table of ~2^(lookup_bits+1)
//! rows rather than one as wide as the value.

use super::Columns;
use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::plonk::{ConstraintSystem, Error, TableColumn};
use halo2_proofs::poly::Rotation;
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct RangeConfig {
    pub tag: TableColumn,
    pub value: TableColumn,
    pub lookup_bits: u32,
}

impl RangeConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, lookup_bits: u32) -> Self {
        let tag = meta.lookup_table_column();
        let value = meta.lookup_table_column();
        for (&limb, &lane_tag) in cols.limbs.iter().zip(&cols.tags) {
            meta.lookup("range", |m| {
                vec![(m.query_fixed(lane_tag, Rotation::cur()), tag), (m.query_advice(limb, Rotation::cur()), value)]
            });
        }
        RangeConfig { tag, value, lookup_bits }
    }

    pub fn load(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        layouter.assign_table(
            || "range table",
            |mut table| {
                let mut row = 0;
                let mut put = |table: &mut halo2_proofs::circuit::Table<Fr>, t: u64, v: u64| {
                    table.assign_cell(|| "tag", self.tag, row, || Value::known(Fr::from(t)))?;
                    table.assign_cell(|| "value", self.value, row, || Value::known(Fr::from(v)))?;
                    row += 1;
                    Ok::<(), Error>(())
                };
                put(&mut table, 0, 0)?;
                for bits in 1..=self.lookup_bits as u64 {
                    for v in 0..1u64 << bits {
                        put(&mut table, bits, v)?;
                    }
                }
                Ok(())
            },
        )
    }
}
