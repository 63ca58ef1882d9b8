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
use halo2_proofs::poly::Rotation;
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
            let tag = m.query_fixed(cols.fixed[0], Rotation::cur());
            let x = m.query_advice(cols.advice[0], Rotation::cur());
            let y = m.query_advice(cols.advice[1], Rotation::cur());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chips::testing::{assert_rejected, assert_satisfied, input_wire, set_input, test_trace};
    use crate::ir::Func;

    fn tables() -> Vec<FuncTable> {
        vec![
            FuncTable { func: Func::Sigmoid, in_exp: -4, out_scale: 4, bound: 20 },
            FuncTable { func: Func::Exp, in_exp: -4, out_scale: 4, bound: 20 },
        ]
    }

    fn one_lookup(x: i128, tag: usize) -> (Trace, usize, Wire) {
        let mut t = test_trace();
        t.tables = tables();
        let xw = input_wire(&mut t, x);
        let table = t.tables[tag].clone();
        let y = t.lookup(xw, &table, tag).unwrap();
        t.expose(y);
        let row = t.rows() - 1;
        (t, row, y)
    }

    #[test]
    fn semantics_matches_the_function() {
        let t = &tables()[0];
        for x in -20..=20 {
            let y = t.value(x).unwrap();
            assert!((y as f64 / 16.0 - Func::Sigmoid.eval(x as f64 / 16.0)).abs() <= 0.5 / 16.0);
        }
        assert_eq!(t.value(21), None);
    }

    #[test]
    fn honest_witnesses_pass() {
        for (x, tag) in [(0, 0), (-20, 0), (20, 1), (7, 1)] {
            let (t, _, _) = one_lookup(x, tag);
            assert_satisfied(&t);
        }
    }

    #[test]
    fn wrong_output_fails() {
        let (mut t, _, y) = one_lookup(7, 0);
        t.tamper_wire(y, t.value(y) + 1);
        assert_rejected(&t);
    }

    #[test]
    fn another_functions_output_fails() {
        // exp's value at x, claimed under sigmoid's tag.
        let (mut t, _, y) = one_lookup(7, 0);
        t.tamper_wire(y, tables()[1].value(7).unwrap());
        assert_rejected(&t);
    }

    #[test]
    fn input_outside_the_domain_fails() {
        // x = 21 is in no table; claim the value the function would have there.
        let (mut t, row, y) = one_lookup(20, 0);
        set_input(&mut t, row - 1, 21);
        let wider = FuncTable { bound: 21, ..tables()[0].clone() };
        t.tamper_wire(y, wider.value(21).unwrap());
        assert_rejected(&t);
    }
}
