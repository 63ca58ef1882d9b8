//! A matrix product `Y = W X + b` with constant W, proven by a random check (Freivalds) instead
//! of one multiplication per MAC.
//!
//! Y and the copies of X are first-phase advice. After they are committed, the verifier's
//! challenge d is drawn, and second-phase advice folds every row of Y and X over its p columns:
//!   fold(a) = sum_k a_k d^(P-1-k)        (P = p rounded up to whole rows)
//! The check is, for every output row i,
//!   fold(Y_i) = sum_j W_ij fold(X_j) + b_i fold(1)
//! which is sum_k d^(P-1-k) (Y_ik - sum_j W_ij X_jk - b_i) = 0: a polynomial in d of degree < P
//! that is zero everywhere only if Y = W X + b. A wrong Y passes with probability < m p / |F|.
//! It costs m p + n p + m n cells instead of m n p.
//!
//! Fold row (first-phase lanes, the accumulator in second-phase column 0; fixed 0..A-1 the lane
//! flags, fixed A the chain flag; A = advice columns):
//!   acc = chain * acc[-1] * d^A + sum_l f_l x_l d^(A-1-l)
//! A lane whose flag is 0 (a padding zero of X, a free slot) contributes nothing.
//! Check row (second phase only: lanes in columns 1..=CHECK_LANES hold copies of fold results;
//! fixed 0..CHECK_LANES their weights, fixed A-1 the end flag, fixed A the chain flag):
//!   acc = chain * acc[-1] + sum_l w_l z_l,   end * acc = 0
//! An output row's check starts with fold(Y_i) at weight -1 and ends where the sum must be 0.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
use crate::quant::product::Product;
use halo2_proofs::plonk::{Advice, Challenge, Column, ConstraintSystem, Expression, FirstPhase, SecondPhase, Selector};
use halo2curves::bn256::Fr;

pub use crate::circuit::shape::{CHECK_LANES, PHASE2_COLUMNS};

#[derive(Clone, Debug)]
pub struct FreivaldsConfig {
    pub fold: Selector,
    pub check: Selector,
    pub challenge: Challenge,
    /// Second-phase advice: the accumulator, then the check lanes (equality enabled).
    pub columns: Vec<Column<Advice>>,
}

impl FreivaldsConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        // The challenge is drawn after every first-phase column is committed.
        let challenge = meta.challenge_usable_after(FirstPhase);
        let columns: Vec<Column<Advice>> = (0..PHASE2_COLUMNS).map(|_| meta.advice_column_in(SecondPhase)).collect();
        for &c in &columns {
            meta.enable_equality(c);
        }
        let (fold, check) = (meta.selector(), meta.selector());
        let a = cols.width();
        meta.create_gate("freivalds fold", |m| {
            let q = m.query_selector(fold);
            let d = m.query_challenge(challenge);
            let acc = m.query_advice(columns[0], cols.rotation(0));
            let prev = m.query_advice(columns[0], cols.rotation(-1));
            let chain = cols.fixed(m, a, 0);
            // d^(a-1-l) for lane l, and d^a for the previous row's sum.
            let mut powers = vec![Expression::Constant(Fr::one())];
            for _ in 0..a {
                let next = powers[powers.len() - 1].clone() * d.clone();
                powers.push(next);
            }
            let sum = (0..a).fold(chain * prev * powers[a].clone(), |s, l| {
                let x = cols.advice(m, l, 0);
                let f = cols.fixed(m, l, 0);
                s + f * x * powers[a - 1 - l].clone()
            });
            vec![q * (sum - acc)]
        });
        meta.create_gate("freivalds check", |m| {
            let q = m.query_selector(check);
            let acc = m.query_advice(columns[0], cols.rotation(0));
            let prev = m.query_advice(columns[0], cols.rotation(-1));
            let chain = cols.fixed(m, a, 0);
            let end = cols.fixed(m, a - 1, 0);
            let sum = (0..CHECK_LANES).fold(chain * prev, |s, l| {
                let z = m.query_advice(columns[1 + l], cols.rotation(0));
                s + cols.fixed(m, l, 0) * z
            });
            vec![q.clone() * (sum - acc.clone()), q * end * acc]
        });
        FreivaldsConfig { fold, check, challenge, columns }
    }
}

/// Rows of a fold of p values with `advice` lanes a row.
pub fn fold_rows(p: usize, advice: usize) -> usize {
    p.max(1).div_ceil(advice)
}

/// Rows the random check of a product takes: the folds of Y's m rows, X's n rows and (with a
/// bias) the ones, then per output row a check of fold(Y_i), its nonzero weights and its bias.
pub fn rows(prod: &Product, advice: usize) -> usize {
    let has_bias = prod.bias.iter().any(|&b| b != 0);
    let folds = (prod.m + prod.n + has_bias as usize) * fold_rows(prod.p, advice);
    let checks: usize = (0..prod.m)
        .map(|i| {
            let terms = 1 + (0..prod.n).filter(|&j| prod.weight(i, j) != 0).count() + (prod.bias[i] != 0) as usize;
            terms.div_ceil(CHECK_LANES)
        })
        .sum();
    folds + checks
}

impl Trace {
    /// Prove `Y = W X + b` for `prod`, where `x` are the wires of the layer's input and
    /// `y_values` the outputs the evaluator computes (in the layer's output order). Returns Y's
    /// wires in that order. Each Y element is born in a fold row; only the check pins it.
    pub fn freivalds(&mut self, prod: &Product, x: &[Wire], y_values: &[i128]) -> Vec<Wire> {
        let mut y = vec![Wire::MAX; prod.m * prod.p];
        let mut y_folds = Vec::with_capacity(prod.m);
        for i in 0..prod.m {
            let fold = self.fold(prod.p, |t, row, lane, k| {
                let o = prod.output(i, k);
                y[o] = t.new_wire(row, lane, y_values[o]);
                true
            });
            y_folds.push(fold);
        }
        let x_folds: Vec<Wire> = (0..prod.n)
            .map(|j| {
                self.fold(prod.p, |t, row, lane, k| match prod.x(j, k) {
                    Some(e) => {
                        t.place(row, lane, x[e as usize]);
                        true
                    }
                    None => false,
                })
            })
            .collect();
        let ones = prod.bias.iter().any(|&b| b != 0).then(|| {
            let one = self.one();
            self.fold(prod.p, |t, row, lane, _| {
                t.place(row, lane, one);
                true
            })
        });
        for (i, &t_i) in y_folds.iter().enumerate() {
            let weighted =
                (0..prod.n).filter(|&j| prod.weight(i, j) != 0).map(|j| (x_folds[j], prod.weight(i, j) as i128));
            let bias = ones.filter(|_| prod.bias[i] != 0).map(|s| (s, prod.bias[i]));
            let terms: Vec<(Wire, i128)> = std::iter::once((t_i, -1)).chain(weighted).chain(bias).collect();
            self.check_rows(&terms);
        }
        y
    }

    /// Fold rows over p positions: `place(trace, row, lane, k)` fills lane `lane` of `row` with
    /// position k and says whether it holds a value (its flag). Returns the fold's second-phase wire.
    fn fold(&mut self, p: usize, mut place: impl FnMut(&mut Trace, usize, usize, usize) -> bool) -> Wire {
        let a = self.shape.advice;
        let mut acc = Wire::MAX;
        for r in 0..fold_rows(p, a) {
            let row = self.push_row(Gate::FreivaldsFold);
            for lane in 0..a {
                let k = r * a + lane;
                if k < p && place(self, row, lane, k) {
                    self.set_fixed(row, lane, 1);
                }
            }
            self.set_fixed(row, a, (r > 0) as i128);
            acc = self.new_phase2_wire(row);
        }
        acc
    }

    /// Check rows over (fold result, weight) terms: their weighted sum must be 0.
    fn check_rows(&mut self, terms: &[(Wire, i128)]) {
        let a = self.shape.advice;
        let chunks = terms.chunks(CHECK_LANES).count();
        for (c, chunk) in terms.chunks(CHECK_LANES).enumerate() {
            let row = self.push_row(Gate::FreivaldsCheck);
            for (l, &(w, weight)) in chunk.iter().enumerate() {
                self.place_phase2(row, 1 + l, w);
                self.set_fixed(row, l, weight);
            }
            self.set_fixed(row, a - 1, (c + 1 == chunks) as i128);
            self.set_fixed(row, a, (c > 0) as i128);
            self.new_phase2_wire(row);
        }
    }
}

/// The second-phase wires' values for the challenge d, by wire: each fold or check row's
/// accumulator from its lanes (`cell(row, lane)`: a first-phase cell as assigned) and the row
/// before it. Synthesis calls it once the challenge is known.
pub(crate) fn phase2_values(t: &Trace, d: Fr, cell: impl Fn(usize, usize) -> Fr) -> Vec<Fr> {
    use crate::chips::fe;
    let a = t.shape.advice;
    let mut powers = vec![Fr::one(); a + 1];
    for i in 1..=a {
        powers[i] = powers[i - 1] * d;
    }
    let mut values = vec![Fr::zero(); t.phase2_wires as usize];
    // The accumulator as assigned on the row before (0 where a row has none).
    let mut prev = Fr::zero();
    for row in 0..t.rows() {
        let chain = fe(t.fixed(row, a));
        let acc = match t.gates[row] {
            Gate::FreivaldsFold => (0..a).fold(chain * prev * powers[a], |s, l| match t.fixed(row, l) {
                0 => s,
                f => s + fe(f) * cell(row, l) * powers[a - 1 - l],
            }),
            Gate::FreivaldsCheck => (0..CHECK_LANES).fold(chain * prev, |s, l| match t.phase2_cell(row, 1 + l) {
                Some(z) => s + fe(t.fixed(row, l)) * values[z as usize],
                None => s,
            }),
            _ => {
                prev = Fr::zero();
                continue;
            }
        };
        let acc = acc + t.phase2_delta(row);
        if let Some(w) = t.phase2_cell(row, 0) {
            values[w as usize] = acc;
        }
        prev = acc;
    }
    values
}

/// Whether a random check proves this layer in fewer rows than dot rows would with `advice`
/// columns (a product over one column, p = 1, never gains).
pub fn prefers(lin: &crate::quant::Linear, advice: usize) -> bool {
    lin.product.as_ref().is_some_and(|p| rows(p, advice) < dot_rows(lin, advice))
}

/// Rows of a layer's dot products (affine ops, one term each, pack `advice / 2` to a row).
pub fn dot_rows(lin: &crate::quant::Linear, advice: usize) -> usize {
    let (rows, affines) = lin.dot_layout(advice);
    rows + affines / (advice / 2)
}
