//! Key generation and key files.

use crate::error::{Result, RuntimeError};
use crate::files::{guarded, open_binary, read_binary, write_binary, write_binary_streamed, Kind};
use crate::memory;
use crate::model::{ArtifactDir, Model};
use crate::srs::{self, Params, SrsSource};
use compiler::CircuitShape;
use compiler::ZkCircuit;
use halo2_proofs::plonk::{keygen_pk, keygen_vk_custom, ProvingKey, VerifyingKey};
use halo2_proofs::SerdeFormat;
use halo2curves::bn256::G1Affine;
use std::path::Path;

/// Estimate the peak memory of keygen and refuse early when it cannot fit.
pub fn check_keygen_memory(shape: CircuitShape, what: &str) -> Result<u64> {
    check_fits(compiler::estimate_keygen_memory(&shape), shape, what)
}

/// Estimate the peak memory of proving and refuse early when it cannot fit.
pub fn check_prove_memory(shape: CircuitShape, what: &str) -> Result<u64> {
    check_fits(compiler::estimate_prove_memory(&shape), shape, what)
}

/// Estimate the peak memory of a mock run and refuse early when one cannot fit.
pub fn check_mock_memory(shape: CircuitShape, what: &str) -> Result<u64> {
    check_fits(compiler::estimate_mock_memory(&shape), shape, what)
}

/// Estimate the peak memory of lowering a witness to the trace and refuse early when one cannot fit.
pub fn check_trace_memory(shape: CircuitShape, what: &str) -> Result<u64> {
    check_fits(compiler::estimate_trace_memory(&shape), shape, what)
}

/// Refuse early when `need` bytes cannot fit in the memory free now.
pub fn check_bytes(need: u64, what: &str) -> Result<u64> {
    match memory::available() {
        Some(free) if need > free => Err(RuntimeError::Other(format!(
            "{what} needs about {} MB but {} MB is free; use a machine with more memory",
            need >> 20,
            free >> 20
        ))),
        _ => Ok(need),
    }
}

/// How many runs needing `need` bytes each fit in the memory free now (at least 1).
pub fn runs_that_fit(need: u64) -> usize {
    memory::available().map_or(1, |free| (free / need.max(1)).max(1) as usize)
}

fn check_fits(need: u64, shape: CircuitShape, what: &str) -> Result<u64> {
    if let Some(free) = memory::available() {
        if need > free {
            return Err(RuntimeError::Other(format!(
                "{what} needs about {} MB (k={}, {}) but {} MB is free; \
                 calibrate with --target resources or a lower --max-logrows, or use a machine with more memory",
                need >> 20,
                shape.k,
                shape.columns(),
                free >> 20
            )));
        }
    }
    Ok(need)
}

pub struct SetupReport {
    pub k: u32,
    pub rows: usize,
    pub pk_bytes: u64,
    pub vk_bytes: u64,
}

/// `zkonnx setup`: SRS, then verifying and proving keys, written into the artifact folder.
pub fn setup(model: &Model, art: &ArtifactDir, params: &Params) -> Result<SetupReport> {
    let _lock = art.lock("setup")?;
    let circuit = ZkCircuit::for_keygen(model.keygen_trace()?, model.key_digest());
    let vk =
        keygen_vk_custom(params, &circuit, true).map_err(|e| RuntimeError::Other(format!("keygen failed: {e}")))?;
    let pk = keygen_pk(params, vk.clone(), &circuit).map_err(|e| RuntimeError::Other(format!("keygen failed: {e}")))?;
    let mut vk_bytes = vec![];
    vk.write(&mut vk_bytes, SerdeFormat::RawBytes).map_err(|e| RuntimeError::Other(e.to_string()))?;
    // The keygen trace (and its plan's copy of the tables) is done with before the key is written.
    drop(circuit);
    write_binary(&art.verifying_key(), Kind::VerifyingKey, &model.binding, &vk_bytes)?;
    if let Some(path) = art.verifier_srs() {
        write_binary(&path, Kind::VerifierSrs, &model.binding, &srs::verifier_bytes(params))?;
    }
    // Streamed: the key in memory is as large as its bytes, and a model's can be gigabytes.
    let pk_bytes = write_binary_streamed(&art.proving_key(), Kind::ProvingKey, &model.binding, |mut w| {
        pk.write(&mut w, SerdeFormat::RawBytesUnchecked)
    })?;
    Ok(SetupReport {
        k: model.settings.circuit.k,
        rows: model.settings.rows,
        pk_bytes,
        vk_bytes: vk_bytes.len() as u64,
    })
}

fn missing_keys(art: &ArtifactDir, path: &Path) -> RuntimeError {
    RuntimeError::Other(format!("{} is missing; run `zkonnx setup {}` first", path.display(), art.dir.display()))
}

pub fn load_proving_key(art: &ArtifactDir, binding: &[u8; 32], shape: CircuitShape) -> Result<ProvingKey<G1Affine>> {
    let path = art.proving_key();
    if !path.exists() {
        return Err(missing_keys(art, &path));
    }
    // Streamed: a proving key can be hundreds of MB, and a second copy of it would be waste.
    let mut reader = open_binary(&path, Kind::ProvingKey, binding)?;
    guarded(&path, "proving key", || {
        ProvingKey::read::<_, ZkCircuit>(&mut reader, SerdeFormat::RawBytesUnchecked, shape)
    })
}

pub fn load_verifying_key(
    art: &ArtifactDir,
    binding: &[u8; 32],
    shape: CircuitShape,
) -> Result<VerifyingKey<G1Affine>> {
    let path = art.verifying_key();
    if !path.exists() {
        return Err(missing_keys(art, &path));
    }
    let bytes = read_binary(&path, Kind::VerifyingKey, binding)?;
    guarded(&path, "verifying key", || {
        VerifyingKey::read::<_, ZkCircuit>(&mut &bytes[..], SerdeFormat::RawBytes, shape)
    })
}

/// The verifier SRS setup used (or the one from `--srs`, which must be the same). Without a
/// record of it, the given SRS file's, else the cached dev SRS's.
pub fn load_verifier_srs(
    art: &ArtifactDir,
    binding: &[u8; 32],
    srs_file: Option<&SrsSource>,
    k: u32,
) -> Result<Params> {
    let (bytes, path) = match art.verifier_srs() {
        Some(path) => {
            if !path.exists() {
                return Err(missing_keys(art, &path));
            }
            let recorded = read_binary(&path, Kind::VerifierSrs, binding)?;
            if let Some(SrsSource::File(file)) = srs_file {
                let given = srs::verifier_bytes_of_file(file, k)?;
                if given != recorded {
                    return Err(RuntimeError::Mismatch {
                        path: file.display().to_string(),
                        reason: "this SRS is not the one the keys were made with".into(),
                    });
                }
            }
            (recorded, path)
        }
        None => {
            let path = match srs_file {
                Some(SrsSource::File(file)) => file.clone(),
                _ => srs::dev_srs_path(k),
            };
            if !path.exists() {
                return Err(RuntimeError::Other(format!(
                    "no SRS to verify with: {} does not exist; give the SRS setup used",
                    path.display()
                )));
            }
            (srs::verifier_bytes_of_file(&path, k)?, path)
        }
    };
    srs::verifier_from_bytes(&bytes).ok_or_else(|| RuntimeError::Corrupt {
        path: path.display().to_string(),
        what: "verifier SRS",
        reason: "its points are not on the curve".into(),
    })
}

/// Check that the prover's SRS is the one the keys were made with (where setup recorded it).
pub fn check_prover_srs(art: &ArtifactDir, binding: &[u8; 32], params: &Params) -> Result<()> {
    let Some(path) = art.verifier_srs() else { return Ok(()) };
    let recorded = read_binary(&path, Kind::VerifierSrs, binding)?;
    if recorded != srs::verifier_bytes(params) {
        return Err(RuntimeError::Other(format!(
            "this SRS is not the one `zkonnx setup` used: pass the same --srs to setup and prove; without --srs, \
             the cached dev SRS ({}) was deleted or replaced since setup (a new one was made): run `zkonnx setup` again",
            srs::dev_srs_path(halo2_proofs::poly::commitment::Params::k(params)).display()
        )));
    }
    Ok(())
}
