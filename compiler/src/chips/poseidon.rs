//! Poseidon over BN254's scalar field (p = the order of BN254's G1): width 3 (rate 2, capacity 1),
//! S-box x^5, 8 full and 57 partial rounds, with the round constants and MDS matrix the Poseidon
//! reference implementation's Grain LFSR gives for these parameters: the 128-bit parameters
//! circomlib uses (circomlib's `poseidon([a, b])` is `permute([0, a, b])[0]`).
//!
//! The permutation: for each of the 65 rounds, add the round's three constants to the state, apply
//! x^5 to every element (rounds 0-3 and 61-64, full) or to element 0 only (rounds 4-60, partial),
//! then multiply the state by the MDS matrix: `s'_j = sum_i M[j][i] s_i`.
//!
//! The hash of a message m_1 .. m_n (field elements; a signed integer v is v mod p) is a sponge:
//!
//! ```text
//! state = [n, 0, 0]                      the capacity holds the length: domain separation
//! for each chunk (m_2k+1, m_2k+2), the last one padded with a zero:
//!     state[1] += m_2k+1;  state[2] += m_2k+2;  state = permute(state)
//! hash = state[0]
//! ```
//!
//! An empty message is one chunk of zeros (one permutation of [0, 0, 0]), so a hash runs
//! max(1, ceil(n / 2)) permutations.
//!
//! The circuit (advice a0..a5, fixed f0..f6; `x_i = a_i + f_i` is a round's S-box input, `'` the
//! next row, `M` the MDS matrix):
//! - full round: state in a0..a2, `a_{3+i} = x_i^2`, round constants in f0..f2;
//!   `a'_j = sum_i M[j][i] a_{3+i}^2 x_i`.
//! - a block of n partial rounds (n = 5 in two rows, n = 2 in one: 57 = 11 * 5 + 2): the cells
//!   of its rows, read row by row, are `s_0 s_1 s_2 q_0 e_1 q_1 e_2 q_2 ...`: the state, then per
//!   round its element 0 `e_j` (e_0 = s_0) and `q_j = (e_j + c_j)^2`, c_j the round's constant for
//!   element 0. Only element 0 goes through the S-box (`u_j = q_j^2 (e_j + c_j)`), so elements 1
//!   and 2 stay linear forms in s_1, s_2, u_0 .. u_j, with coefficients from M alone: the gate
//!   checks `e_{j+1} = (M (u_j, .., ..))_0 + o_j` and after the last round the state in the row
//!   after the block. The offsets o fold the round constants of elements 1 and 2 (computed here,
//!   `partial_fixed`); the fixed cells of the block's rows, read row by row, hold c_0 .. c_{n-1},
//!   the n - 1 offsets of e_1 .. e_{n-1} and the three of the output.
//! - absorb: the state before in a0..a2, the chunk (copies) in a3, a4;
//!   `a'_0 = f1 a0 + f0`, `a'_1 = f1 a1 + f2 a3`, `a'_2 = f1 a2 + f3 a4`. The first absorb row has
//!   f1 = 0 (no state before: its a0..a2 are empty and read by nothing) and f0 = n; the others
//!   f1 = 1, f0 = 0. f2, f3 are 1 for a message element, 0 for padding (the cell is then empty).
//!
//! Rows: per chunk, an absorb row and 31 round rows (4 full, 11 blocks of 5 partial rounds, a block
//! of 2, 4 full); then a row with the final state, whose a0 is the hash: 32 per permutation plus 1.
//! Every degree is at most 3 before the selector.
//!
//! Soundness: each cell the prover fills is an explicit polynomial of earlier cells (q_j and e_j
//! by their block's gate, each state by the gate of the block or round before it, the squares of
//! a full round by its own) or a copy of a message wire, so the whole trace of the sponge, and the
//! hash, is the one the message gives. No integer bound is needed: every equation is meant over
//! the field.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector, VirtualCells};
use halo2curves::bn256::Fr;
use halo2curves::ff::Field;
use poseidon_primitives::poseidon::primitives::Spec;
use std::array::from_fn;
use std::sync::OnceLock;

pub const WIDTH: usize = 3;
pub const RATE: usize = 2;
pub const FULL_ROUNDS: usize = 8;
pub const PARTIAL_ROUNDS: usize = 57;

/// The parameters, for poseidon-primitives to generate the constants from (its own BN254 spec is
/// private).
#[derive(Debug)]
pub struct Bn254Spec;

impl Spec<Fr, WIDTH, RATE> for Bn254Spec {
    fn full_rounds() -> usize {
        FULL_ROUNDS
    }

    fn partial_rounds() -> usize {
        PARTIAL_ROUNDS
    }

    fn sbox(val: Fr) -> Fr {
        val.pow_vartime([5])
    }

    fn secure_mds() -> usize {
        0
    }
}

/// The round constants (one triple per round) and the MDS matrix.
#[derive(Debug)]
pub struct Constants {
    pub rounds: Vec<[Fr; WIDTH]>,
    pub mds: [[Fr; WIDTH]; WIDTH],
}

/// Generated once: the Grain LFSR takes a few milliseconds.
pub fn constants() -> &'static Constants {
    static CONSTANTS: OnceLock<Constants> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let (rounds, mds, _) = Bn254Spec::constants();
        Constants { rounds, mds }
    })
}

/// Whether round `r` applies the S-box to every element.
pub fn is_full_round(r: usize) -> bool {
    !(FULL_ROUNDS / 2..FULL_ROUNDS / 2 + PARTIAL_ROUNDS).contains(&r)
}

pub fn sbox(x: Fr) -> Fr {
    x.square().square() * x
}

/// The MDS matrix times `v`.
pub fn mix(v: [Fr; WIDTH]) -> [Fr; WIDTH] {
    constants().mds.map(|row| row.iter().zip(&v).map(|(m, x)| m * x).sum())
}

/// The Poseidon permutation.
pub fn permute(state: &mut [Fr; WIDTH]) {
    for (r, rc) in constants().rounds.iter().enumerate() {
        for (s, c) in state.iter_mut().zip(rc) {
            *s += c;
        }
        let sboxed = if is_full_round(r) { WIDTH } else { 1 };
        for s in &mut state[..sboxed] {
            *s = sbox(*s);
        }
        *state = mix(*state);
    }
}

/// The chunks the sponge absorbs: pairs, the last one possibly single; one empty chunk for an
/// empty message.
pub fn chunks<T>(message: &[T]) -> Vec<&[T]> {
    if message.is_empty() {
        vec![&[]]
    } else {
        message.chunks(RATE).collect()
    }
}

/// The hash of `message` (the sponge in the module doc).
pub fn hash(message: &[Fr]) -> Fr {
    let mut state = [Fr::from(message.len() as u64), Fr::ZERO, Fr::ZERO];
    for chunk in chunks(message) {
        for (s, m) in state[1..].iter_mut().zip(chunk) {
            *s += m;
        }
        permute(&mut state);
    }
    state[0]
}

/// Rounds in a block of partial rounds: n rounds take 2n + 2 cells, so two rows hold five. (Longer
/// blocks save little: 3 rows hold 8.)
const BLOCK: usize = 5;
/// The rounds left for the last block (`Gate::PoseidonPartial2`).
const REST: usize = PARTIAL_ROUNDS % BLOCK;
const _: () = assert!(REST == 2);
const ADVICE: usize = 6;

/// Advice columns the chip needs (the planner gives them to a model that hashes).
pub const MIN_ADVICE: usize = ADVICE;
const FIXED: usize = 7;

/// Rows of a block of `n` partial rounds: the state and two cells per round but the first.
fn block_rows(n: usize) -> usize {
    (2 * n + 2).div_ceil(ADVICE)
}

/// Cell index (row-major over the block's rows) of round j's element 0, and of its square.
fn element_cell(j: usize) -> usize {
    if j == 0 {
        0
    } else {
        2 * j + 2
    }
}

fn square_cell(j: usize) -> usize {
    if j == 0 {
        3
    } else {
        2 * j + 3
    }
}

fn square(x: &Expression<Fr>) -> Expression<Fr> {
    x.clone() * x.clone()
}

/// The partial blocks of a permutation: 11 of 5 rounds, then one of 2.
fn partial_blocks() -> impl Iterator<Item = usize> {
    std::iter::repeat_n(BLOCK, PARTIAL_ROUNDS / BLOCK).chain([REST])
}

/// Rows of one permutation's rounds.
pub fn round_rows() -> usize {
    FULL_ROUNDS + partial_blocks().map(block_rows).sum::<usize>()
}

/// Rows `Trace::poseidon` takes for a message of `message_len` elements.
pub fn poseidon_rows(message_len: usize) -> usize {
    message_len.div_ceil(RATE).max(1) * (1 + round_rows()) + 1
}

/// The fixed values of a block of partial rounds with constants `rounds`: each round's constant
/// for element 0, then the offsets the constants of elements 1 and 2 add to each later element 0
/// and to the state after the block (the map from the constants to those is linear: it is the
/// block run on zeros with no S-box input).
pub fn partial_fixed(rounds: &[[Fr; WIDTH]]) -> Vec<Fr> {
    let mut fixed: Vec<Fr> = rounds.iter().map(|c| c[0]).collect();
    let mut offset = [Fr::ZERO; WIDTH];
    for (j, c) in rounds.iter().enumerate() {
        offset = mix([Fr::ZERO, offset[1] + c[1], offset[2] + c[2]]);
        if j + 1 < rounds.len() {
            fixed.push(offset[0]);
        }
    }
    fixed.extend(offset);
    fixed
}

#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    pub full: Selector,
    /// A block of 2 partial rounds (one row).
    pub partial2: Selector,
    /// A block of 5 partial rounds (two rows).
    pub partial5: Selector,
    pub absorb: Selector,
}

impl PoseidonConfig {
    /// Whether the columns are wide enough for the rows: 6 advice, 7 fixed.
    pub fn fits(cols: &Columns) -> bool {
        cols.width() >= ADVICE && cols.fixed_width() >= FIXED
    }

    /// The selector of a Poseidon row's gate.
    pub fn selector(&self, gate: Gate) -> Selector {
        match gate {
            Gate::PoseidonFull => self.full,
            Gate::PoseidonPartial2 => self.partial2,
            Gate::PoseidonPartial5 => self.partial5,
            Gate::PoseidonAbsorb => self.absorb,
            _ => unreachable!("not a Poseidon row: {gate:?}"),
        }
    }

    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        debug_assert!(Self::fits(cols), "the Poseidon rows need 6 advice and 7 fixed columns");
        let config = PoseidonConfig {
            full: meta.selector(),
            partial2: meta.selector(),
            partial5: meta.selector(),
            absorb: meta.selector(),
        };
        let a = |m: &mut VirtualCells<Fr>, i| cols.advice(m, i, 0);
        let next = |m: &mut VirtualCells<Fr>, i| cols.advice(m, i, 1);
        let f = |m: &mut VirtualCells<Fr>, i| cols.fixed(m, i, 0);
        meta.create_gate("poseidon full round", |m| {
            let q = m.query_selector(config.full);
            let x: [_; WIDTH] = from_fn(|i| a(m, i) + f(m, i));
            let squares: [_; WIDTH] = from_fn(|i| a(m, 3 + i));
            let sboxed: [_; WIDTH] = from_fn(|i| square(&squares[i]) * x[i].clone());
            let mds = &constants().mds;
            let mut cs: Vec<_> = (0..WIDTH).map(|i| squares[i].clone() - square(&x[i])).collect();
            for (j, row) in mds.iter().enumerate() {
                let out = (0..WIDTH)
                    .fold(Expression::Constant(Fr::ZERO), |s, i| s + Expression::Constant(row[i]) * sboxed[i].clone());
                cs.push(next(m, j) - out);
            }
            cs.into_iter().map(|c| q.clone() * c).collect::<Vec<_>>()
        });
        Self::partial_block_gate(meta, cols, config.partial2, REST);
        Self::partial_block_gate(meta, cols, config.partial5, BLOCK);
        meta.create_gate("poseidon absorb", |m| {
            let q = m.query_selector(config.absorb);
            let (capacity, keep) = (f(m, 0), f(m, 1));
            let state: [_; WIDTH] = from_fn(|i| keep.clone() * a(m, i));
            let [s0, s1, s2] = state;
            let absorbed = [s0 + capacity, s1 + f(m, 2) * a(m, 3), s2 + f(m, 3) * a(m, 4)];
            let cs: Vec<_> = absorbed.into_iter().enumerate().map(|(j, v)| next(m, j) - v).collect();
            cs.into_iter().map(|c| q.clone() * c).collect::<Vec<_>>()
        });
        config
    }

    /// The gate of a block of `n` partial rounds (the module doc). Elements 1 and 2 are tracked as
    /// coefficient vectors over (s_1, s_2, u_0 .. u_{n-1}), so each constraint is one flat sum.
    fn partial_block_gate(meta: &mut ConstraintSystem<Fr>, cols: &Columns, selector: Selector, n: usize) {
        let cell = |m: &mut VirtualCells<Fr>, i: usize| cols.advice(m, i % ADVICE, (i / ADVICE) as i32);
        let fixed = |m: &mut VirtualCells<Fr>, i: usize| cols.fixed(m, i % FIXED, (i / FIXED) as i32);
        let unit = |b: usize| -> Vec<Fr> { (0..n + 2).map(|i| Fr::from((i == b) as u64)).collect() };
        let mds = &constants().mds;
        meta.create_gate(if n == BLOCK { "poseidon 5 partial rounds" } else { "poseidon 2 partial rounds" }, |m| {
            let q = m.query_selector(selector);
            let mut terms = vec![cell(m, 1), cell(m, 2)];
            let mut lin = [unit(0), unit(1)];
            let mut cs = vec![];
            for j in 0..n {
                let x = cell(m, element_cell(j)) + fixed(m, j);
                let q_j = cell(m, square_cell(j));
                cs.push(q_j.clone() - square(&x));
                terms.push(square(&q_j) * x);
                let v = [unit(2 + j), lin[0].clone(), lin[1].clone()];
                let mixed: [Vec<Fr>; WIDTH] =
                    from_fn(|r| (0..n + 2).map(|b| (0..WIDTH).map(|i| mds[r][i] * v[i][b]).sum()).collect());
                let form = |coefs: &[Fr]| {
                    coefs
                        .iter()
                        .zip(&terms)
                        .filter(|(c, _)| !bool::from(c.is_zero()))
                        .fold(Expression::Constant(Fr::ZERO), |s, (&c, t)| s + Expression::Constant(c) * t.clone())
                };
                if j + 1 < n {
                    cs.push(cell(m, element_cell(j + 1)) - form(&mixed[0]) - fixed(m, n + j));
                } else {
                    let out = block_rows(n) * ADVICE;
                    for (i, coefs) in mixed.iter().enumerate() {
                        cs.push(cell(m, out + i) - form(coefs) - fixed(m, 2 * n - 1 + i));
                    }
                }
                lin = [mixed[1].clone(), mixed[2].clone()];
            }
            cs.into_iter().map(|c| q.clone() * c).collect::<Vec<_>>()
        });
    }
}

impl Trace {
    /// The Poseidon hash (the sponge in the module doc) of `message`; returns the hash's wire, a
    /// field element (`field_value`). Takes `poseidon_rows(message.len())` rows.
    pub fn poseidon(&mut self, message: &[Wire]) -> Wire {
        debug_assert!(self.shape.advice >= ADVICE && self.shape.fixed_columns() >= FIXED, "the layout gives 6 columns");
        let mut state = [Fr::from(message.len() as u64), Fr::ZERO, Fr::ZERO];
        let chunks = chunks(message);
        let mut hash = 0;
        let mut row = self.push_row(Gate::PoseidonAbsorb);
        self.set_fixed(row, 0, message.len() as i128);
        for (k, chunk) in chunks.iter().enumerate() {
            self.set_fixed(row, 1, (k > 0) as i128);
            for (j, &w) in chunk.iter().enumerate() {
                self.place(row, 3 + j, w);
                self.set_fixed(row, 2 + j, 1);
                state[1 + j] += self.field_value(w);
            }
            self.permutation_rows(&mut state);
            row = self.push_row(if k + 1 < chunks.len() { Gate::PoseidonAbsorb } else { Gate::None });
            hash = self.state_wires(row, &state)[0];
        }
        hash
    }

    /// New wires holding `state` in a0..a2 of `row`.
    fn state_wires(&mut self, row: usize, state: &[Fr; WIDTH]) -> [Wire; WIDTH] {
        from_fn(|i| self.new_field_wire(row, i, state[i]))
    }

    /// The rows of one permutation of `state` (which they start with); `state` becomes its image.
    fn permutation_rows(&mut self, state: &mut [Fr; WIDTH]) {
        let half = FULL_ROUNDS / 2;
        let mut r = 0;
        for _ in 0..half {
            self.full_round_row(state, r);
            r += 1;
        }
        for n in partial_blocks() {
            self.partial_block_rows(state, r, n);
            r += n;
        }
        for _ in 0..half {
            self.full_round_row(state, r);
            r += 1;
        }
    }

    fn full_round_row(&mut self, state: &mut [Fr; WIDTH], r: usize) {
        let c = constants().rounds[r];
        let row = self.push_row(Gate::PoseidonFull);
        self.state_wires(row, state);
        let x: [Fr; WIDTH] = from_fn(|i| state[i] + c[i]);
        for i in 0..WIDTH {
            self.set_fixed_field(row, i, c[i]);
            self.new_field_wire(row, 3 + i, x[i].square());
        }
        *state = mix(x.map(sbox));
    }

    /// The rows of a block of `n` partial rounds from round `r`.
    fn partial_block_rows(&mut self, state: &mut [Fr; WIDTH], r: usize, n: usize) {
        let rounds = &constants().rounds[r..r + n];
        let first = self.push_row(if n == BLOCK { Gate::PoseidonPartial5 } else { Gate::PoseidonPartial2 });
        for _ in 1..block_rows(n) {
            self.push_row(Gate::None);
        }
        self.state_wires(first, state);
        for (j, c) in rounds.iter().enumerate() {
            if j > 0 {
                let e = element_cell(j);
                self.new_field_wire(first + e / ADVICE, e % ADVICE, state[0]);
            }
            let x: [Fr; WIDTH] = from_fn(|i| state[i] + c[i]);
            let sq = square_cell(j);
            self.new_field_wire(first + sq / ADVICE, sq % ADVICE, x[0].square());
            *state = mix([sbox(x[0]), x[1], x[2]]);
        }
        for (i, v) in partial_fixed(rounds).into_iter().enumerate() {
            self.set_fixed_field(first + i / FIXED, i % FIXED, v);
        }
    }
}
