//! Function lookups: `y = f(x)` for x in a table's domain, many functions in one table by tag.
//!
//! Row: `x | y` in advice 0, 1, the table's tag in fixed 0. The lookup argument checks
//! `(s * tag, s * x, s * y)` against the table columns (tag, x, f(x)), which hold every entry of
//! every function the model uses plus the all-zero row that rows without a lookup (s = 0) match.
//! Tags are fixed columns, so the function and its domain are part of the verifying key; x outside
//! the domain has no row to match, which is the range check.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
use crate::quant::table::FuncTable;
use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::plonk::{ConstraintSystem, Error, Selector, TableColumn};
use halo2curves::bn256::Fr;

#[derive(Clone, Debug)]
pub struct LookupConfig {
    pub q: Selector,
    table: [TableColumn; 3],
}

impl LookupConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let q = meta.complex_selector();
        let table = [meta.lookup_table_column(), meta.lookup_table_column(), meta.lookup_table_column()];
        meta.lookup("function", |m| {
            let s = m.query_selector(q);
            let tag = cols.fixed(m, 0, 0);
            let x = cols.advice(m, 0, 0);
            let y = cols.advice(m, 1, 0);
            vec![(s.clone() * tag, table[0]), (s.clone() * x, table[1]), (s * y, table[2])]
        });
        LookupConfig { q, table }
    }

    /// Fill the table: the zero row, then every function's entries under tag index + 1.
    pub fn load(&self, layouter: &mut impl Layouter<Fr>, tables: &[FuncTable]) -> Result<(), Error> {
        layouter.assign_table(
            || "functions",
            |mut t| {
                let rows = std::iter::once((0, 0, 0)).chain(
                    tables.iter().enumerate().flat_map(|(i, f)| f.entries().map(move |(x, y)| (i as i128 + 1, x, y))),
                );
                for (row, (tag, x, y)) in rows.enumerate() {
                    for (col, v) in self.table.iter().zip([tag, x, y]) {
                        t.assign_cell(|| "function", *col, row, || Value::known(super::fe(v)))?;
                    }
                }
                Ok(())
            },
        )
    }
}

/// Rows the tables take (with the zero row).
pub fn table_rows(tables: &[FuncTable]) -> usize {
    if tables.is_empty() {
        0
    } else {
        1 + tables.iter().map(|t| t.rows()).sum::<usize>()
    }
}

impl Trace {
    /// f(x) from table number `tag`; None outside its domain.
    pub fn lookup(&mut self, x: Wire, table: &FuncTable, tag: usize) -> Option<Wire> {
        let y = match table.value(self.value(x)) {
            None if !self.checked => 0,
            y => y?,
        };
        let row = self.push_row(Gate::Lookup);
        self.place(row, 0, x);
        self.set_fixed(row, 0, tag as i128 + 1);
        Some(self.new_wire(row, 1, y))
    }
}
