//! Benchmark harness: for each model, run `zkonnx` compile, calibrate (resources), setup,
//! gen-witness, prove and verify, each as its own process under `/usr/bin/time`, and print one
//! table of k, rows, columns, times, sizes and peak memory.
//!
//! cargo build --release -p zkonnx-cli && cargo run --release -p zkonnx-benches [-- [--no-random-checks] MODEL.onnx:CALIB.json:INPUT.json ...]
//! Without models it runs the testdata models; `--no-random-checks` compiles them so (the
//! "before" of issue 11's scaling table).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Case {
    name: String,
    model: PathBuf,
    calib: PathBuf,
    input: PathBuf,
}

/// Wall time and peak resident memory of one step.
struct Step {
    secs: f64,
    peak_mb: f64,
}

/// Run one zkonnx command as a child of /usr/bin/time (peak RSS per step, not per harness).
fn step(zkonnx: &Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Result<Step> {
    let report = tempfile::NamedTempFile::new()?;
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(report.path())
        .arg(zkonnx)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .context("running /usr/bin/time (apt-get install time)")?;
    if !out.status.success() {
        bail!("zkonnx failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let text = std::fs::read_to_string(report.path())?;
    let mut fields = text.split_whitespace();
    let secs: f64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let kb: f64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    Ok(Step { secs, peak_mb: kb / 1024.0 })
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn json(path: &Path) -> Result<serde_json::Value> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn run(zk: &Path, case: &Case, work: &Path, compile_flags: &[String]) -> Result<String> {
    let art = work.join(&case.name);
    let mut compile: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"compile", &case.model, &"-o", &art];
    compile.extend(compile_flags.iter().map(|f| f as &dyn AsRef<std::ffi::OsStr>));
    step(zk, &compile)?;
    let calibrate =
        step(zk, &[&"calibrate", &art, &"--data", &case.calib, &"--target", &"resources", &"--max-error", &"0.05"])?;
    let setup = step(zk, &[&"setup", &art])?;
    let w = art.join("witness.json");
    let gen = step(zk, &[&"gen-witness", &art, &"-i", &case.input, &"-o", &w])?;
    let p = art.join("proof.json");
    let prove = step(zk, &[&"prove", &art, &"-w", &w, &"-o", &p])?;
    let verify = step(zk, &[&"verify", &art, &"-p", &p])?;
    let settings = json(&art.join("settings.json"))?;
    let c = &settings["circuit"];
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let lanes = n(&c["rem_lanes"]) + n(&c["mag_lanes"]);
    let proof_bytes = json(&p)?["proof"].as_str().map_or(0, |h| h.len() / 2);
    Ok(format!(
        "| {} | {} | {} | {} / {} / {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.3} s | {:.1} kB | {:.1} MB | {:.1} kB | {:.0} / {:.0} / {:.0} MB |",
        case.name,
        n(&c["k"]),
        n(&settings["rows"]),
        n(&c["advice"]) + lanes,
        n(&c["advice"]) + 1 + lanes,
        lanes,
        calibrate.secs,
        setup.secs,
        gen.secs,
        prove.secs,
        verify.secs,
        proof_bytes as f64 / 1e3,
        size(&art.join("pk.bin")) as f64 / 1e6,
        size(&art.join("vk.bin")) as f64 / 1e3,
        setup.peak_mb,
        prove.peak_mb,
        verify.peak_mb,
    ))
}

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let compile_flags: Vec<String> = args.iter().filter(|a| *a == "--no-random-checks").cloned().collect();
    args.retain(|a| a != "--no-random-checks");
    let cases: Vec<Case> = if args.is_empty() {
        ["mlp", "lenet", "mixed", "pooling", "transformer", "cnn", "activations", "structure", "refcnn"]
            .iter()
            .map(|m| {
                let d = root.join("testdata").join(m);
                Case {
                    name: m.to_string(),
                    model: d.join("model.onnx"),
                    calib: d.join("calib.json"),
                    input: d.join("input.json"),
                }
            })
            .collect()
    } else {
        args.iter()
            .map(|a| {
                let parts: Vec<&str> = a.split(':').collect();
                anyhow::ensure!(parts.len() == 3, "expected MODEL.onnx:CALIB.json:INPUT.json, got {a}");
                // testdata-style folders hold model.onnx: name the case by its folder.
                let path = Path::new(parts[0]);
                let named = if path.file_stem().is_some_and(|s| s == "model") { path.parent() } else { Some(path) };
                let name =
                    named.and_then(|p| p.file_stem()).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
                Ok(Case { name, model: parts[0].into(), calib: parts[1].into(), input: parts[2].into() })
            })
            .collect::<Result<_>>()?
    };
    let zk = std::env::current_exe()?.with_file_name("zkonnx");
    if !zk.exists() {
        bail!("{} is missing: cargo build --release -p zkonnx-cli first", zk.display());
    }
    let work = tempfile::tempdir()?;
    println!("| model | k | rows | advice / fixed / lookup cols | calibrate | setup | gen-witness | prove | verify | proof | pk | vk | peak mem setup / prove / verify |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for case in &cases {
        println!(
            "{}",
            run(&zk, case, work.path(), &compile_flags).with_context(|| format!("benchmark {}", case.name))?
        );
    }
    Ok(())
}
