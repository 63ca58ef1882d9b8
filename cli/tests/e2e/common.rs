//! Helpers every theme shares: the binary, testdata paths, the one-line refusal check.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn testdata(model: &str, file: &str) -> PathBuf {
    root().join("testdata").join(model).join(file)
}

/// One SRS cache for the whole test binary, so each k is generated once.
pub(crate) fn home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

pub(crate) fn zk(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkonnx"))
        .args(args.iter().map(|a| a.as_ref()))
        .env("ZKONNX_HOME", home())
        .output()
        .unwrap()
}

pub(crate) fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "command failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A refusal: non-zero exit, one `error:` line, no panic. Returns the line.
pub(crate) fn refused(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "expected a failure, got success: {stderr}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected: {stderr}");
    assert_eq!(stderr.lines().filter(|l| !l.starts_with("warning:")).count(), 1, "only one line: {stderr}");
    let head: String = errors[0].chars().skip(7).take(30).collect();
    assert_eq!(errors[0].matches(head.as_str()).count(), 1, "the message repeats itself: {stderr}");
    errors[0].to_string()
}

/// compile, setup, gen-witness, mock, prove; returns the artifact folder.
pub(crate) fn prove_model(model: &str, dir: &Path) -> PathBuf {
    let art = dir.join(model);
    ok(zk(&[&"compile", &testdata(model, "model.onnx"), &"-o", &art]));
    ok(zk(&[&"setup", &art]));
    ok(zk(&[&"gen-witness", &art, &"-i", &testdata(model, "input.json"), &"-o", &art.join("witness.json")]));
    ok(zk(&[&"mock", &art, &"-w", &art.join("witness.json")]));
    ok(zk(&[&"prove", &art, &"-w", &art.join("witness.json"), &"-o", &art.join("proof.json")]));
    art
}

/// Compile, calibrate with `--max-error`, set up, witness and prove a testdata model.
pub(crate) fn calibrate_and_prove(model: &str, dir: &Path, max_error: &str) -> PathBuf {
    let art = dir.join(model);
    ok(zk(&[&"compile", &testdata(model, "model.onnx"), &"-o", &art]));
    ok(zk(&[&"calibrate", &art, &"--data", &testdata(model, "calib.json"), &"--max-error", &max_error]));
    setup_and_prove(&art, model);
    art
}

/// setup, gen-witness on the model's input.json and prove in `art`; returns the proof's path.
pub(crate) fn setup_and_prove(art: &Path, model: &str) -> PathBuf {
    ok(zk(&[&"setup", &art]));
    let (witness, proof) = (art.join("witness.json"), art.join("proof.json"));
    ok(zk(&[&"gen-witness", &art, &"-i", &testdata(model, "input.json"), &"-o", &witness]));
    ok(zk(&[&"prove", &art, &"-w", &witness, &"-o", &proof]));
    proof
}

pub(crate) fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// Verified outputs vs onnxruntime. Default scales are 2^8: each rounding moves a value by at most
/// 2^-9, and through the few layers of these models the error stays below 16 units of 2^-8.
pub(crate) const OUTPUT_BOUND: f64 = 16.0 / 256.0;
