//! Poseidon over BN254's scalar field: width 3 (rate 2, capacity 1), S-box x^5, 8 full and 57
//! partial rounds, the round constants and MDS matrix of the Poseidon reference implementation's
//! Grain LFSR (the 128-bit parameters circomlib uses: `permute([0, 1, 2])` is circomlib's
//! `poseidon([1, 2])` state).
//!
//! The permutation: for each of the 65 rounds, add the round's three constants to the state, apply
//! x^5 to every element (rounds 0-3 and 61-64, full) or to element 0 only (rounds 4-60, partial),
//! then multiply the state by the MDS matrix: `s'_j = sum_i M[j][i] s_i`.
//!
//! The hash of a message m_1 .. m_n (field elements; a signed integer v is v mod p) is a sponge:
//!   state = [n, 0, 0]                          (the capacity holds the length: domain separation)
//!   for each chunk (m_2k+1, m_2k+2) of the message, the last one padded with a zero:
//!       state[1] += m_2k+1;  state[2] += m_2k+2;  state = permute(state)
//!   (an empty message is one chunk of zeros: one permutation of [0, 0, 0])
//!   hash = state[0]
//! So `hash(m)` runs max(1, ceil(n / 2)) permutations.
//!
//! The chip (six advice columns; every gate of degree at most 4 with its selector):
//! - a round row: `s0 s1 s2 | q0 q1 q2` with the round's constants c in fixed 0..3, and the next
//!   row's s0..s2 the state after the round. Full round: `q_i = (s_i + c_i)^2` and
//!   `s'_j = Σ_i M_ji q_i^2 (s_i + c_i)`; partial round: `q_0 = (s_0 + c_0)^2` and
//!   `s'_j = M_j0 q_0^2 (s_0 + c_0) + Σ_(i>0) M_ji (s_i + c_i)` (q1, q2 unused).
//! - an absorb row: the state in s0..s2, the chunk (m1, m2) in advice 3, 4 (copies of the message
//!   wires; a missing m2 is a copy of a constant 0), and the next row is the next permutation's
//!   first round: `s'_0 = s_0`, `s'_1 = s_1 + m1`, `s'_2 = s_2 + m2`; on the sponge's first row
//!   also `s_i = f_i` with (f0, f1, f2) = (n, 0, 0) fixed (flag in fixed 5).
//! - the last permutation's output row holds the final state; s0 there is the hash.
//!
//! Every cell is a gate output or a copy: the state after each round is pinned by the round's
//! gate, the q's by theirs, and the message by copy constraints. So a sponge of n elements takes
//! 1 + 66 max(1, ceil(n / 2)) rows.

use super::Columns;
use crate::circuit::trace::{Gate, Trace, Wire};
use halo2_proofs::plonk::{ConstraintSystem, Expression, Selector, VirtualCells};
use halo2_proofs::poly::Rotation;
use halo2curves::bn256::Fr;
use halo2curves::ff::Field;
use poseidon_primitives::poseidon::primitives::Spec;
use std::sync::OnceLock;

pub const WIDTH: usize = 3;
pub const RATE: usize = 2;
pub const FULL_ROUNDS: usize = 8;
pub const PARTIAL_ROUNDS: usize = 57;
pub const ROUNDS: usize = FULL_ROUNDS + PARTIAL_ROUNDS;

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

/// Advice columns the chip needs.
pub const MIN_ADVICE: usize = 6;

/// Rows of one permutation: a row per round and the output row (shared with the next absorb).
const PERMUTATION_ROWS: usize = ROUNDS + 1;

/// Rows `Trace::poseidon` takes for a message of `n` elements.
pub fn poseidon_rows(n: usize) -> usize {
    1 + PERMUTATION_ROWS * chunks(&vec![(); n]).len()
}

#[derive(Clone, Debug)]
pub struct PoseidonConfig {
    pub full: Selector,
    pub partial: Selector,
    pub absorb: Selector,
}

impl PoseidonConfig {
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns) -> Self {
        let (full, partial, absorb) = (meta.selector(), meta.selector(), meta.selector());
        let mds = constants().mds;
        let m = |i: usize, j: usize| Expression::Constant(mds[j][i]);
        let adv = |v: &mut VirtualCells<Fr>, i: usize, r: Rotation| v.query_advice(cols.advice[i], r);
        let fix = |v: &mut VirtualCells<Fr>, i: usize| v.query_fixed(cols.fixed[i], Rotation::cur());
        meta.create_gate("poseidon full round", |v| {
            let q = v.query_selector(full);
            let x: Vec<_> = (0..WIDTH).map(|i| adv(v, i, Rotation::cur()) + fix(v, i)).collect();
            let sq: Vec<_> = (0..WIDTH).map(|i| adv(v, WIDTH + i, Rotation::cur())).collect();
            let mut out: Vec<_> =
                (0..WIDTH).map(|i| q.clone() * (sq[i].clone() - x[i].clone() * x[i].clone())).collect();
            for j in 0..WIDTH {
                let mixed = (0..WIDTH).fold(Expression::Constant(Fr::ZERO), |acc, i| {
                    acc + m(i, j) * sq[i].clone() * sq[i].clone() * x[i].clone()
                });
                out.push(q.clone() * (adv(v, j, Rotation::next()) - mixed));
            }
            out
        });
        meta.create_gate("poseidon partial round", |v| {
            let q = v.query_selector(partial);
            let x: Vec<_> = (0..WIDTH).map(|i| adv(v, i, Rotation::cur()) + fix(v, i)).collect();
            let sq = adv(v, WIDTH, Rotation::cur());
            let sboxed = sq.clone() * sq.clone() * x[0].clone();
            let mut out = vec![q.clone() * (sq - x[0].clone() * x[0].clone())];
            for j in 0..WIDTH {
                let mixed = (1..WIDTH).fold(m(0, j) * sboxed.clone(), |acc, i| acc + m(i, j) * x[i].clone());
                out.push(q.clone() * (adv(v, j, Rotation::next()) - mixed));
            }
            out
        });
        meta.create_gate("poseidon absorb", |v| {
            let q = v.query_selector(absorb);
            let s: Vec<_> = (0..WIDTH).map(|i| adv(v, i, Rotation::cur())).collect();
            let next: Vec<_> = (0..WIDTH).map(|i| adv(v, i, Rotation::next())).collect();
            let (m1, m2) = (adv(v, 3, Rotation::cur()), adv(v, 4, Rotation::cur()));
            let first = fix(v, 5);
            let mut out = vec![
                q.clone() * (next[0].clone() - s[0].clone()),
                q.clone() * (next[1].clone() - s[1].clone() - m1),
                q.clone() * (next[2].clone() - s[2].clone() - m2),
            ];
            for (i, si) in s.iter().enumerate() {
                out.push(q.clone() * first.clone() * (si.clone() - fix(v, i)));
            }
            out
        });
        PoseidonConfig { full, partial, absorb }
    }
}

impl Trace {
    /// The Poseidon hash of `message` (the sponge in the module doc); returns its wire.
    pub fn poseidon(&mut self, message: &[Wire]) -> Wire {
        debug_assert!(self.shape.advice >= MIN_ADVICE, "the layout gives Poseidon six columns");
        let zero = if message.len() % 2 == 1 || message.is_empty() { Some(self.constant(0)) } else { None };
        let mut state = [Fr::from(message.len() as u64), Fr::ZERO, Fr::ZERO];
        // The sponge's first row: its state is (n, 0, 0), fixed.
        let mut row = self.push_row(Gate::PoseidonAbsorb);
        let mut cells: [Wire; WIDTH] = [0; WIDTH];
        for (i, cell) in cells.iter_mut().enumerate() {
            *cell = self.new_field_wire(row, i, state[i]);
            self.set_fixed(row, i, [message.len() as i128, 0, 0][i]);
        }
        self.set_fixed(row, 5, 1);
        let c = constants();
        for chunk in chunks(message) {
            // Absorb on `row` (the previous output row, or the first row).
            let m: Vec<Wire> = (0..RATE).map(|k| chunk.get(k).copied().or(zero).unwrap_or_default()).collect();
            for (k, &w) in m.iter().enumerate() {
                self.place(row, 3 + k, w);
                state[1 + k] += self.field_value(w);
            }
            for (r, rc) in c.rounds.iter().enumerate() {
                let round = self.push_row(if is_full_round(r) { Gate::PoseidonFull } else { Gate::PoseidonPartial });
                for (i, value) in state.iter().enumerate() {
                    cells[i] = self.new_field_wire(round, i, *value);
                    self.set_fixed_field(round, i, rc[i]);
                }
                let sboxed = if is_full_round(r) { WIDTH } else { 1 };
                for i in 0..WIDTH {
                    state[i] += rc[i];
                }
                for (i, s) in state.iter_mut().enumerate().take(sboxed) {
                    self.new_field_wire(round, WIDTH + i, s.square());
                    *s = sbox(*s);
                }
                state = mix(state);
            }
            row = self.push_row(Gate::PoseidonAbsorb);
            for (i, cell) in cells.iter_mut().enumerate() {
                *cell = self.new_field_wire(row, i, state[i]);
            }
        }
        // The last output row absorbs nothing: no gate on it.
        self.gates[row] = Gate::None;
        cells[0]
    }
}
