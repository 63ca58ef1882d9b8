//! File plumbing: atomic writes, JSON artifacts, and the binary artifact container.
//!
//! A binary artifact is `MAGIC | kind | format version | binding (32 bytes) | sha256 of payload
//! (32 bytes) | payload`. The binding is the hash of the model and settings it was made for, so a
//! key or proof of another model is refused before Halo2 ever parses it; the payload hash catches
//! a truncated or corrupted file.

use crate::error::{read_err, Result, RuntimeError};
use halo2curves::bn256::Fr;
use halo2curves::ff::PrimeField;
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"ZKONNX\0\0";
pub const BINARY_FORMAT: u32 = 2;

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha256(bytes))
}

fn write_err(path: &Path, e: &dyn std::fmt::Display) -> RuntimeError {
    RuntimeError::Write { path: path.display().to_string(), reason: e.to_string() }
}

/// `bytes`, written and synced to a temporary file in `path`'s folder (created if missing).
fn temp_file_with(path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| write_err(path, &e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .tempfile_in(dir)
        .map_err(|e| write_err(path, &e))?;
    tmp.write_all(bytes).map_err(|e| write_err(path, &e))?;
    tmp.as_file().sync_all().map_err(|e| write_err(path, &e))?;
    Ok(tmp)
}

/// Temporary files are `.zkonnx-tmp-<pid>-<random>`: the pid tells a live writer's from one a
/// killed process left behind.
const TEMP_PREFIX: &str = ".zkonnx-tmp-";

/// Remove the temporary files in `dir` whose writer no longer runs (a process killed while it
/// wrote a key leaves gigabytes behind). Only ours, by name; a live writer's file is kept.
/// Returns the bytes freed.
pub fn remove_stale_temp_files(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut freed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            if std::fs::remove_file(entry.path()).is_ok() {
                freed += size;
            }
        }
    }
    freed
}

/// Write `bytes` to `path` through a temporary file in the same folder, so a crash never leaves
/// half a file behind.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    temp_file_with(path, bytes)?.persist(path).map_err(|e| write_err(path, &e.error))?;
    Ok(())
}

/// Like `write_atomic`, but never replaces an existing file. Returns false when another writer
/// got there first (the caller should then use that file).
pub fn write_atomic_new(path: &Path, bytes: &[u8]) -> Result<bool> {
    match temp_file_with(path, bytes)?.persist_noclobber(path) {
        Ok(_) => Ok(true),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(write_err(path, &e.error)),
    }
}

/// A file's bytes. Only regular files: a FIFO or a device would block or never end.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| read_err(path, e))?;
    if !meta.is_file() {
        return Err(read_err(path, "it is not a regular file"));
    }
    std::fs::read(path).map_err(|e| read_err(path, e))
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| RuntimeError::Other(e.to_string()))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

pub fn read_json<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T> {
    let bytes = read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| RuntimeError::Corrupt {
        path: path.display().to_string(),
        what,
        reason: e.to_string(),
    })
}

/// What a binary artifact holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    ProvingKey = 1,
    VerifyingKey = 2,
    VerifierSrs = 3,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::ProvingKey => "proving key",
            Kind::VerifyingKey => "verifying key",
            Kind::VerifierSrs => "verifier SRS",
        }
    }
}

pub fn write_binary(path: &Path, kind: Kind, binding: &[u8; 32], payload: &[u8]) -> Result<()> {
    write_binary_streamed(path, kind, binding, |w| w.write_all(payload)).map(|_| ())
}

const HEADER: usize = 8 + 1 + 4 + 32 + 32;

/// Hashes what passes through it on the way to the file.
struct HashingWriter<W: Write> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Like `write_binary`, with the payload streamed by `payload` to a temporary file (hashed on
/// the way, the checksum written into the header afterwards) and never held in memory: a
/// large model's proving key is gigabytes. Returns the payload's size.
pub fn write_binary_streamed(
    path: &Path,
    kind: Kind,
    binding: &[u8; 32],
    payload: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<u64> {
    use std::io::{Seek, SeekFrom};
    let tmp = temp_file_with(path, &[])?;
    // A second handle on the temporary file, so the file itself can be persisted afterwards.
    let file = tmp.as_file().try_clone().map_err(|e| write_err(path, &e))?;
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(MAGIC);
    header.push(kind as u8);
    header.extend_from_slice(&BINARY_FORMAT.to_le_bytes());
    header.extend_from_slice(binding);
    header.extend_from_slice(&[0; 32]);
    let mut out = HashingWriter { inner: std::io::BufWriter::new(file), hash: Sha256::new() };
    out.inner.write_all(&header).map_err(|e| write_err(path, &e))?;
    // halo2's key writers unwrap some of their writes (a full disk panicked there): the panic's
    // message is the error.
    compiler::panics::caught(|| payload(&mut out))
        .map_err(|why| write_err(path, &why))?
        .map_err(|e| write_err(path, &e))?;
    out.flush().map_err(|e| write_err(path, &e))?;
    let digest: [u8; 32] = out.hash.finalize().into();
    let mut file = out.inner.into_inner().map_err(|e| write_err(path, &e.error()))?;
    let size = file.seek(SeekFrom::End(0)).map_err(|e| write_err(path, &e))? - HEADER as u64;
    file.seek(SeekFrom::Start((HEADER - 32) as u64)).map_err(|e| write_err(path, &e))?;
    file.write_all(&digest).map_err(|e| write_err(path, &e))?;
    file.sync_all().map_err(|e| write_err(path, &e))?;
    tmp.persist(path).map_err(|e| write_err(path, &e.error))?;
    Ok(size)
}

/// Open a binary artifact for reading its payload: the header is checked (kind, version,
/// binding) and the payload's checksum verified in one streaming pass, without holding the file
/// in memory; the reader is left at the start of the payload.
pub fn open_binary(path: &Path, kind: Kind, binding: &[u8; 32]) -> Result<std::io::BufReader<std::fs::File>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(|e| read_err(path, e))?;
    let mut header = [0u8; HEADER];
    if file.read_exact(&mut header).is_err() {
        return Err(RuntimeError::Corrupt {
            path: path.display().to_string(),
            what: kind.name(),
            reason: "not a zkonnx artifact".into(),
        });
    }
    check_header(path, kind, binding, &header)?;
    let mut hasher = Sha256::new();
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    std::io::copy(&mut reader, &mut hasher).map_err(|e| read_err(path, e))?;
    if header[45..77] != hasher.finalize()[..] {
        return Err(RuntimeError::Corrupt {
            path: path.display().to_string(),
            what: kind.name(),
            reason: "its checksum does not match (truncated or corrupted)".into(),
        });
    }
    reader.seek(SeekFrom::Start(HEADER as u64)).map_err(|e| read_err(path, e))?;
    Ok(reader)
}

fn check_header(path: &Path, kind: Kind, binding: &[u8; 32], bytes: &[u8]) -> Result<()> {
    let corrupt = |reason: &str| RuntimeError::Corrupt {
        path: path.display().to_string(),
        what: kind.name(),
        reason: reason.to_string(),
    };
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(corrupt("not a zkonnx artifact"));
    }
    if bytes[8] != kind as u8 {
        return Err(corrupt("it holds another kind of artifact"));
    }
    let version = u32::from_le_bytes([bytes[9], bytes[10], bytes[11], bytes[12]]);
    if version != BINARY_FORMAT {
        return Err(corrupt(&format!(
            "format version {version}, this zkonnx reads {BINARY_FORMAT}; run `zkonnx setup` again"
        )));
    }
    if &bytes[13..45] != binding {
        return Err(RuntimeError::Mismatch {
            path: path.display().to_string(),
            reason: "its binding hash differs from settings.json's".into(),
        });
    }
    Ok(())
}

/// Read a small binary artifact whole, checking kind, version, binding and integrity; returns
/// the payload.
pub fn read_binary(path: &Path, kind: Kind, binding: &[u8; 32]) -> Result<Vec<u8>> {
    let bytes = read(path)?;
    check_header(path, kind, binding, &bytes)?;
    let corrupt = |reason: &str| RuntimeError::Corrupt {
        path: path.display().to_string(),
        what: kind.name(),
        reason: reason.to_string(),
    };
    let payload = &bytes[HEADER..];
    if bytes[45..77] != sha256(payload) {
        return Err(corrupt("its checksum does not match (truncated or corrupted)"));
    }
    Ok(payload.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 26: a key half-written by a killed process is removed by the next command; a live
    /// writer's temporary file and files that are not ours stay.
    #[test]
    fn temporary_files_of_dead_writers_are_removed_and_no_others() {
        let dir = tempfile::tempdir().unwrap();
        // A pid no process has (above the kernel's pid_max of 2^22).
        let dead = dir.path().join(format!("{TEMP_PREFIX}{}-abc", 1u32 << 23));
        let live = dir.path().join(format!("{TEMP_PREFIX}{}-def", std::process::id()));
        let theirs = dir.path().join(".tmpXYZ");
        for f in [&dead, &live, &theirs] {
            std::fs::write(f, [0u8; 100]).unwrap();
        }
        assert_eq!(remove_stale_temp_files(dir.path()), 100);
        assert!(!dead.exists() && live.exists() && theirs.exists());
        // A write in progress names its file with this process's pid.
        let tmp = temp_file_with(&dir.path().join("pk.bin"), b"x").unwrap();
        let name = tmp.path().file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.starts_with(&format!("{TEMP_PREFIX}{}-", std::process::id())), "{name}");
    }
}

/// A field element as the proof file writes it: 32 bytes little-endian, hex.
pub fn fr_to_hex(f: &Fr) -> String {
    hex::encode(f.to_repr())
}

/// The field element `fr_to_hex` wrote (None: not 32 bytes of hex, or not in the field).
pub fn fr_from_hex(h: &str) -> Option<Fr> {
    let bytes: [u8; 32] = hex::decode(h).ok()?.try_into().ok()?;
    Option::<Fr>::from(Fr::from_repr(bytes))
}

/// Halo2's readers panic on malformed bytes; ours have passed a checksum, but never let a panic out.
pub(crate) fn guarded<T>(path: &Path, what: &'static str, f: impl FnOnce() -> std::io::Result<T>) -> Result<T> {
    let corrupt = |reason: String| RuntimeError::Corrupt { path: path.display().to_string(), what, reason };
    match compiler::panics::caught(f) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(corrupt(e.to_string())),
        Err(_) => Err(corrupt("it could not be parsed".into())),
    }
}
