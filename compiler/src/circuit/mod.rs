//! The Halo2 circuit: columns and gates from the chips, rows from a `Trace`.

pub mod instance;
pub mod lower;
pub mod plan;
pub mod shape;
pub mod trace;

#[cfg(test)]
mod tests;

use crate::chips::{
    affine::AffineConfig, div::DivConfig, dot::DotConfig, freivalds::FreivaldsConfig, input::InputConfig,
    lookup::LookupConfig, max::MaxConfig, mul::MulConfig, param_dot::ParamDotConfig, poseidon::PoseidonConfig,
    range::RangeConfig, requant::RequantConfig, sqrt::SqrtConfig, Columns,
};
use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{Circuit, Column, ConstraintSystem, Error, Fixed};
use halo2curves::bn256::Fr;
use shape::{Chip, CircuitShape};
use std::sync::Arc;
use trace::{Gate, Trace};

#[derive(Clone, Debug)]
pub struct ZkConfig {
    cols: Columns,
    /// The arithmetic chips are configured only where the plan uses them (`CircuitShape::chips`).
    dot: Option<DotConfig>,
    /// Only when weights are witnessed.
    param_dot: Option<ParamDotConfig>,
    requant: Option<RequantConfig>,
    mul: Option<MulConfig>,
    affine: Option<AffineConfig>,
    div: Option<DivConfig>,
    max: Option<MaxConfig>,
    sqrt: Option<SqrtConfig>,
    input: Option<InputConfig>,
    /// Only when a layer is proven by a random check (second-phase columns and a challenge).
    freivalds: Option<FreivaldsConfig>,
    /// Only when the settings commit to values (the layout then gives six advice columns).
    poseidon: Option<PoseidonConfig>,
    /// Only when the model has function lookups (an unused lookup argument still costs columns).
    lookup: Option<LookupConfig>,
    range: RangeConfig,
    /// Holds the `KeyDigest` in its first row; no gate reads it.
    digest: Column<Fixed>,
}

/// What a verifying key commits to beside the constraints: a digest of the settings that say
/// how its public values are read (scales, visibility, layout; the binding hash of model and
/// settings). It sits in a fixed column of its own that no gate queries, so it costs a proof and
/// its verifier nothing, yet it is in the key's fixed commitments, so in halo2's digest of the
/// key, in every proof's transcript and in the EVM verifier: settings edited after setup make
/// another key, and one published key fixes what its public values mean.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyDigest(Fr);

impl KeyDigest {
    /// The digest of a 32-byte hash: its first 31 bytes, little-endian (below the field's size).
    pub fn of(hash: &[u8; 32]) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..31].copy_from_slice(&hash[..31]);
        KeyDigest(Fr::from_bytes(&bytes).unwrap_or(Fr::zero()))
    }
}

/// The circuit of one compiled model. Keygen and proving build the same trace; proving also
/// assigns its values.
#[derive(Clone, Debug)]
pub struct ZkCircuit {
    trace: Arc<Trace>,
    witness: bool,
    digest: KeyDigest,
}

impl ZkCircuit {
    pub fn with_witness(trace: Trace, digest: KeyDigest) -> Self {
        ZkCircuit { trace: Arc::new(trace), witness: true, digest }
    }

    pub fn for_keygen(trace: Trace, digest: KeyDigest) -> Self {
        ZkCircuit { trace: Arc::new(trace), witness: false, digest }
    }

    pub fn shape(&self) -> CircuitShape {
        self.trace.shape
    }

    /// The public instance column: the exposed outputs as field elements.
    pub fn instances(&self) -> Vec<Fr> {
        self.trace.outputs.iter().map(|&w| self.trace.field_value(w)).collect()
    }
}

impl Circuit<Fr> for ZkCircuit {
    type Config = ZkConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = CircuitShape;

    fn without_witnesses(&self) -> Self {
        ZkCircuit { trace: self.trace.clone(), witness: false, digest: self.digest }
    }

    fn params(&self) -> CircuitShape {
        self.trace.shape
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, shape: CircuitShape) -> ZkConfig {
        // Degree 5 costs no larger FFT domain than 4 (both quotients fit 4n) and lets the
        // permutation argument take three columns per product instead of two. Stacked, the
        // permutation has two columns (advice and instance) and one product at any degree: the
        // gates' own degree saves the verifier a quotient piece.
        if !shape.stacked {
            meta.set_minimum_degree(5);
        }
        let cols = Columns::configure(meta, &shape);
        let has = |chip: Chip| shape.chips.has(chip);
        ZkConfig {
            dot: has(Chip::Dot).then(|| DotConfig::configure(meta, &cols)),
            param_dot: shape.witness_weights.then(|| ParamDotConfig::configure(meta, &cols)),
            requant: has(Chip::Requant).then(|| RequantConfig::configure(meta, &cols, &shape)),
            mul: has(Chip::Mul).then(|| MulConfig::configure(meta, &cols)),
            affine: has(Chip::Affine).then(|| AffineConfig::configure(meta, &cols)),
            div: has(Chip::Div).then(|| DivConfig::configure(meta, &cols, shape.lookup_bits)),
            max: has(Chip::Max).then(|| MaxConfig::configure(meta, &cols, shape.rem_lanes, shape.lookup_bits)),
            sqrt: has(Chip::Sqrt).then(|| SqrtConfig::configure(meta, &cols, shape.lookup_bits)),
            input: has(Chip::Input).then(|| InputConfig::configure(meta, &cols, shape.lookup_bits, shape.mag_lanes)),
            freivalds: has(Chip::Freivalds).then(|| FreivaldsConfig::configure(meta, &cols)),
            poseidon: (shape.poseidon && PoseidonConfig::fits(&cols)).then(|| PoseidonConfig::configure(meta, &cols)),
            lookup: (shape.table_rows > 0).then(|| LookupConfig::configure(meta, &cols)),
            range: RangeConfig::configure(meta, &cols),
            digest: meta.fixed_column(),
            cols,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ZkConfig {
        Self::configure_with_params(meta, CircuitShape::default())
    }

    fn synthesize(&self, config: ZkConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        config.range.load(&mut layouter, &self.trace.shape)?;
        let t = &*self.trace;
        if let Some(lookup) = &config.lookup {
            lookup.load(&mut layouter, &t.tables)?;
        }
        let known = |v: Fr| if self.witness { Value::known(v) } else { Value::unknown() };
        let homes = layouter.assign_region(
            || "model",
            |mut region| {
                let mut homes: Vec<Option<Cell>> = vec![None; t.wires()];
                region.assign_fixed(config.digest, 0, self.digest.0);
                let cols = &config.cols;
                let stride = cols.stride();
                for row in 0..t.rows() {
                    // A row whose gate the configuration lacks is a planner bug: refuse it.
                    let selector = match t.gates[row] {
                        Gate::Dot => config.dot.as_ref().map(|c| c.q),
                        Gate::ParamDot => config.param_dot.as_ref().map(|c| c.q),
                        Gate::Requant => config.requant.as_ref().map(|c| c.q),
                        Gate::Mul => config.mul.as_ref().map(|c| c.q),
                        Gate::Affine => config.affine.as_ref().map(|c| c.q),
                        Gate::Div => config.div.as_ref().map(|c| c.q),
                        Gate::Max => config.max.as_ref().map(|c| c.q),
                        Gate::Sqrt => config.sqrt.as_ref().map(|c| c.q),
                        Gate::Input => config.input.as_ref().map(|c| c.q),
                        Gate::PoseidonFull | Gate::PoseidonPartial2 | Gate::PoseidonPartial5 | Gate::PoseidonAbsorb => {
                            config.poseidon.as_ref().map(|p| p.selector(t.gates[row]))
                        }
                        Gate::Lookup => config.lookup.as_ref().map(|l| l.q),
                        Gate::FreivaldsFold => config.freivalds.as_ref().map(|f| f.fold),
                        Gate::FreivaldsCheck => config.freivalds.as_ref().map(|f| f.check),
                        Gate::None => None,
                    };
                    // A trace row starts at circuit row `base`; stacked, its cells lie on the rows after.
                    let base = row * stride;
                    match selector {
                        Some(q) => q.enable(&mut region, base)?,
                        None if t.gates[row] != Gate::None => return Err(Error::Synthesis),
                        None => {}
                    }
                    for col in 0..t.shape.advice {
                        let wire = t.cell(row, col);
                        let value = t.assigned_value(row, col);
                        let (column, offset) = cols.advice_column(col);
                        let cell = region.assign_advice(column, base + offset, known(value)).cell();
                        if let Some(w) = wire {
                            match homes[w as usize] {
                                None => homes[w as usize] = Some(cell),
                                Some(home) => region.constrain_equal(home, cell),
                            }
                        }
                    }
                    for col in 0..t.shape.fixed_columns() {
                        let (column, offset) = cols.fixed_column(col);
                        region.assign_fixed(column, base + offset, t.fixed_value(row, col));
                    }
                    // Stacked, the lane column has a row for every offset: the unused ones hold limb 0 of width 0.
                    for lane in 0..if t.shape.stacked { stride } else { t.shape.lanes() } {
                        let (limb, offset) = cols.limb_column(lane);
                        let (width, _) = cols.width_column(lane);
                        let (value, w) = if lane < t.shape.lanes() {
                            (t.field_limb(row, lane), t.width(row, lane))
                        } else {
                            (Fr::zero(), 0)
                        };
                        region.assign_advice(limb, base + offset, known(value));
                        region.assign_fixed(width, base + offset, Fr::from(w as u64));
                    }
                }
                if let Some(freivalds) = &config.freivalds {
                    // The challenge comes after the first phase's columns are committed.
                    region.next_phase();
                    let mut d = None;
                    region.get_challenge(freivalds.challenge).map(|v| d = Some(v));
                    let values = d
                        .filter(|_| self.witness)
                        .map(|d| crate::chips::freivalds::phase2_values(t, d, |row, col| t.assigned_value(row, col)));
                    let mut homes2: Vec<Option<Cell>> = vec![None; t.phase2_wires as usize];
                    for row in 0..t.rows() {
                        for (col, &column) in freivalds.columns.iter().enumerate() {
                            let wire = t.phase2_cell(row, col);
                            let value = match (&values, wire) {
                                (Some(v), Some(w)) => Value::known(v[w as usize]),
                                (Some(_), None) => Value::known(Fr::zero()),
                                (None, _) => Value::unknown(),
                            };
                            let cell = region.assign_advice(column, row * stride, value).cell();
                            if let Some(w) = wire {
                                match homes2[w as usize] {
                                    None => homes2[w as usize] = Some(cell),
                                    Some(home) => region.constrain_equal(home, cell),
                                }
                            }
                        }
                    }
                }
                Ok(homes)
            },
        )?;
        for (i, &w) in t.outputs.iter().enumerate() {
            let cell = homes[w as usize].ok_or(Error::Synthesis)?;
            layouter.constrain_instance(cell, config.cols.instance, i);
        }
        Ok(())
    }
}
