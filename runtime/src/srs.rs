//! Structured reference strings: a dev SRS generated once per k and cached, or a real one read
//! from a file (halo2's raw format, as EZKL and the PSE ceremony ship) and downsized to k.

use crate::error::{Result, RuntimeError};
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
    let params = generate(k, rand::rngs::OsRng);
    let mut bytes = vec![];
    params.write_custom(&mut bytes, SerdeFormat::RawBytes).map_err(|e| RuntimeError::Other(e.to_string()))?;
    crate::files::write_atomic(path, &bytes)
}

/// The prover's SRS for 2^k rows.
pub fn load(source: &SrsSource, k: u32) -> Result<Params> {
    match source {
        SrsSource::Dev => {
            let path = dev_srs_path(k);
            if let Some(cache) = path.parent() {
                crate::files::remove_stale_temp_files(cache);
            }
            if path.exists() {
                return read_params(&path);
            }
            let params = generate(k, rand::rngs::OsRng);
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

/// A fresh SRS for 2^k rows: the same points `ParamsKZG::setup(k, rng)` makes (a test checks
/// it), an order of magnitude faster. Every point is a multiple of the generator: powers of the
/// secret s for the monomial basis, L_i(s) = (s^n - 1) w^i / (n (s - w^i)) for the Lagrange basis,
/// each multiplied by a table of the generator's multiples (one 8-bit window per byte of the
/// scalar: 32 additions) instead of a full scalar multiplication (2^21 rows: ~4.5 minutes with
/// `setup` on 2 cores).
pub fn generate(k: u32, rng: impl rand::RngCore) -> Params {
    use halo2curves::bn256::{Fr, G1};
    use halo2curves::ff::{BatchInvert, Field, PrimeField};
    use halo2curves::group::{prime::PrimeCurveAffine, Curve, Group};
    use rayon::prelude::*;

    let n = 1usize << k;
    let s = Fr::random(rng);
    // Window w holds d * 2^(8w) * G for d in 0..256.
    let table: Vec<Vec<G1Affine>> = {
        let mut base = G1::generator();
        let mut windows = vec![];
        for _ in 0..32 {
            let mut row = vec![G1::identity(); 256];
            for d in 1..256 {
                row[d] = row[d - 1] + base;
            }
            let mut affine = vec![G1Affine::identity(); 256];
            G1::batch_normalize(&row, &mut affine);
            windows.push(affine);
            base = row[255] + base; // 256 * base
        }
        windows
    };
    let times_g = |scalars: &[Fr]| -> Vec<G1Affine> {
        let projective: Vec<G1> = scalars
            .par_iter()
            .map(|x| {
                let repr = x.to_repr();
                repr.as_ref().iter().enumerate().fold(G1::identity(), |acc, (w, &d)| acc + table[w][d as usize])
            })
            .collect();
        let mut affine = vec![G1Affine::identity(); n];
        affine.par_chunks_mut(1 << 14).zip(projective.par_chunks(1 << 14)).for_each(|(a, p)| G1::batch_normalize(p, a));
        affine
    };
    let mut powers = Vec::with_capacity(n);
    let mut p = Fr::ONE;
    for _ in 0..n {
        powers.push(p);
        p *= s;
    }
    let g = times_g(&powers);
    // The n-th root of unity halo2's domain uses, as `setup` derives it.
    let mut root = Fr::ROOT_OF_UNITY; // the inverse of ROOT_OF_UNITY_INV, as `setup` takes it
    for _ in k..Fr::S {
        root = root.square();
    }
    let mut roots = Vec::with_capacity(n);
    let mut r = Fr::ONE;
    for _ in 0..n {
        roots.push(r);
        r *= root;
    }
    let n_inv = Fr::TWO_INV.pow_vartime([k as u64]); // 1 / 2^k
    let multiplier = (p - Fr::ONE) * n_inv; // p = s^n
    let mut denominators: Vec<Fr> = roots.par_iter().map(|w| s - w).collect();
    denominators.iter_mut().batch_invert();
    let lagrange: Vec<Fr> = roots.par_iter().zip(&denominators).map(|(w, inv)| multiplier * w * inv).collect();
    let g_lagrange = times_g(&lagrange);
    let g2 = G2Affine::generator();
    let s_g2: G2Affine = (g2 * s).into();
    // `from_parts` is a method; any small params serve as the receiver.
    Params::setup(1, rand::rngs::OsRng).from_parts(k, g, Some(g_lagrange), g2, s_g2)
}

/// `params` for 2^k rows (k at most params' own), kept in the file `cache`. Downsizing computes
/// the Lagrange basis again, an FFT over curve points (minutes at 2^20 rows), so each k is
/// computed once and later jobs read the file. A cached file serves only if it holds the same
/// secret as `params` (same first points and s·g2); otherwise it is made again.
pub fn downsized_cached(params: &Params, k: u32, cache: &Path) -> Result<Params> {
    if k >= params.k() {
        return Ok(params.clone());
    }
    if let Ok(cached) = read_params(cache) {
        if cached.k() == k && same_secret(&cached, params) {
            return Ok(cached);
        }
    }
    let mut downsized = params.clone();
    downsized.downsize(k);
    let mut bytes = vec![];
    downsized.write_custom(&mut bytes, SerdeFormat::RawBytes).map_err(|e| RuntimeError::Other(e.to_string()))?;
    crate::files::write_atomic(cache, &bytes)?;
    Ok(downsized)
}

/// Whether two SRSs (of any sizes) come from the same secret s: equal G, s·G, G2 and s·G2.
fn same_secret(a: &Params, b: &Params) -> bool {
    a.get_g().get(..2) == b.get_g().get(..2) && a.g2() == b.g2() && a.s_g2() == b.s_g2()
}

fn read_params(path: &Path) -> Result<Params> {
    let bytes = crate::files::read(path)?;
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
    crate::files::guarded(path, "SRS file", || Params::read_custom(&mut &bytes[..], SerdeFormat::RawBytes))
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn bytes(p: &Params) -> Vec<u8> {
        let mut b = vec![];
        p.write_custom(&mut b, SerdeFormat::RawBytes).unwrap();
        b
    }

    /// A cached downsized SRS equals halo2's downsize, is read back rather than made again,
    /// and is made again when it holds another secret.
    #[test]
    fn downsized_srs_is_cached_per_secret() {
        let dir = std::env::temp_dir().join(format!("zkonnx-srs-cache-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cache = dir.join("srs-k4.srs");
        let downsize = |p: &Params| {
            let mut d = p.clone();
            d.downsize(4);
            bytes(&d)
        };
        let big = generate(6, rand_chacha::ChaCha20Rng::seed_from_u64(1));
        assert_eq!(bytes(&downsized_cached(&big, 4, &cache).unwrap()), downsize(&big));
        let written = std::fs::metadata(&cache).unwrap().modified().unwrap();
        assert_eq!(bytes(&downsized_cached(&big, 4, &cache).unwrap()), downsize(&big));
        assert_eq!(std::fs::metadata(&cache).unwrap().modified().unwrap(), written, "the cache was not reused");

        let other = generate(6, rand_chacha::ChaCha20Rng::seed_from_u64(2));
        assert_eq!(bytes(&downsized_cached(&other, 4, &cache).unwrap()), downsize(&other), "another secret's cache");
        assert_eq!(downsized_cached(&other, 6, &cache).unwrap().k(), 6);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The fast generator gives exactly halo2's SRS for the same secret.
    #[test]
    fn generated_srs_equals_halo2s_setup() {
        for k in [1, 4, 7] {
            let fast = generate(k, rand_chacha::ChaCha20Rng::seed_from_u64(k as u64));
            let reference = Params::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(k as u64));
            assert_eq!(bytes(&fast), bytes(&reference), "k = {k}");
        }
    }
}
