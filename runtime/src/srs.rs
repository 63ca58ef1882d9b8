//! Structured reference strings: a dev SRS generated once per k and cached, or a real one read
//! from a file (halo2's raw format, as EZKL and the PSE ceremony ship) and downsized to k.

use crate::error::{read_err, Result, RuntimeError};
use crate::files::write_atomic_new;
use halo2_proofs::poly::commitment::{Params as _, ParamsProver as _};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use halo2curves::bn256::{Bn256, G1Affine, G2Affine};
use halo2curves::serde::SerdeObject;
use std::path::{Path, PathBuf};

pub type Params = ParamsKZG<Bn256>;

/// The cache folder: `$ZKONNX_HOME`, else `~/.zkonnx`.
pub fn zkonnx_home() -> PathBuf {
    match std::env::var_os("ZKONNX_HOME") {
        Some(h) => PathBuf::from(h),
        None => std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".zkonnx"),
    }
}

/// Which SRS to use.
#[derive(Clone, Debug)]
pub enum SrsSource {
    /// Generated here: its secret was in this process's memory, so it is not safe for production.
    Dev,
    File(PathBuf),
}

impl SrsSource {
    pub fn from_option(path: Option<PathBuf>) -> Self {
        path.map_or(SrsSource::Dev, SrsSource::File)
    }
}

pub fn dev_srs_path(k: u32) -> PathBuf {
    zkonnx_home().join("srs").join(format!("dev-k{k}.srs"))
}

/// Write a freshly generated SRS for 2^k rows to `path` in halo2's raw format. Its secret was in
/// this process's memory: for tests and development only.
pub fn generate_file(path: &Path, k: u32) -> Result<()> {
    if !(1..=28).contains(&k) {
        return Err(RuntimeError::Other(format!("k = {k} is out of range (1 to 28)")));
    }
    let params = Params::setup(k, rand::rngs::OsRng);
    let mut bytes = vec![];
    params.write_custom(&mut bytes, SerdeFormat::RawBytes).map_err(|e| RuntimeError::Other(e.to_string()))?;
    crate::files::write_atomic(path, &bytes)
}

/// The prover's SRS for 2^k rows.
pub fn load(source: &SrsSource, k: u32) -> Result<Params> {
    match source {
        SrsSource::Dev => {
            let path = dev_srs_path(k);
            if path.exists() {
                return read_params(&path);
            }
            let params = Params::setup(k, rand::rngs::OsRng);
            let mut bytes = vec![];
            params.write_custom(&mut bytes, SerdeFormat::RawBytes).map_err(|e| RuntimeError::Other(e.to_string()))?;
            // Two processes may generate the same k at once: the first file written is the one
            // everybody uses, or keys and proofs would be made with different SRSs.
            if write_atomic_new(&path, &bytes)? {
                Ok(params)
            } else {
                read_params(&path)
            }
        }
        SrsSource::File(path) => {
            let mut params = read_params(path)?;
            if params.k() < k {
                return Err(RuntimeError::Other(format!(
                    "{} is an SRS for 2^{} rows but the circuit needs 2^{k}; use a larger SRS",
                    path.display(),
                    params.k()
                )));
            }
            if params.k() > k {
                params.downsize(k);
            }
            Ok(params)
        }
    }
}

fn read_params(path: &Path) -> Result<Params> {
    let bytes = std::fs::read(path).map_err(|e| read_err(path, e))?;
    let corrupt = |reason: String| RuntimeError::Corrupt { path: path.display().to_string(), what: "SRS file", reason };
    if bytes.len() < 4 {
        return Err(corrupt("too short".into()));
    }
    let k = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    // k, then 2 * 2^k uncompressed G1 points, then two G2 points.
    let expected = k.checked_sub(0).filter(|&k| k <= 28).map(|k| 4 + 2 * (1usize << k) * 64 + 2 * 128);
    if expected != Some(bytes.len()) {
        return Err(corrupt(format!("its size does not match an SRS for k = {k}")));
    }
    Params::read_custom(&mut &bytes[..], SerdeFormat::RawBytes).map_err(|e| corrupt(e.to_string()))
}

/// The verifier's part of an SRS: k, the first G1 point and the two G2 points.
pub fn verifier_bytes(params: &Params) -> Vec<u8> {
    verifier_bytes_at(params, params.k())
}

/// The verifier's part of `params` downsized to k, without downsizing it: g[0], g2 and s·g2 do
/// not change with k.
fn verifier_bytes_at(params: &Params, k: u32) -> Vec<u8> {
    let mut out = k.to_le_bytes().to_vec();
    out.extend_from_slice(&params.get_g()[0].to_raw_bytes());
    out.extend_from_slice(&params.g2().to_raw_bytes());
    out.extend_from_slice(&params.s_g2().to_raw_bytes());
    out
}

/// The verifier's part of the SRS in `path` for 2^k rows (what `verify --srs` compares).
pub fn verifier_bytes_of_file(path: &Path, k: u32) -> Result<Vec<u8>> {
    let params = read_params(path)?;
    if params.k() < k {
        return Err(RuntimeError::Other(format!(
            "{} is an SRS for 2^{} rows but the circuit needs 2^{k}; use a larger SRS",
            path.display(),
            params.k()
        )));
    }
    Ok(verifier_bytes_at(&params, k))
}

pub fn verifier_from_bytes(bytes: &[u8]) -> Option<Params> {
    if bytes.len() != 4 + 64 + 128 + 128 {
        return None;
    }
    let k = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if k > 28 {
        return None;
    }
    let g0 = G1Affine::from_raw_bytes(&bytes[4..68])?;
    let g2 = G2Affine::from_raw_bytes(&bytes[68..196])?;
    let s_g2 = G2Affine::from_raw_bytes(&bytes[196..324])?;
    // `from_parts` is a method; any small params serve as the receiver.
    let seed = Params::setup(1, rand::rngs::OsRng);
    Some(seed.from_parts(k, vec![g0], Some(vec![]), g2, s_g2))
}
