//! A real chain: anvil, a local node started inside the test on 127.0.0.1, the verifier deployed
//! with `deploy-evm`, proofs checked with `verify-evm --rpc-url` as calls and as transactions.

use crate::common::*;
use crate::evm::{changed_proof, flip, solc_available};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The first of anvil's dev accounts: its key is published with anvil and funded on every node.
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const DEV_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/// A node for one test, stopped when dropped.
struct Anvil {
    child: Child,
    url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// anvil on a free local port (`anvil`, or ZKONNX_ANVIL), ready for requests; None where there
/// is none (CI installs it and sets ZKONNX_REQUIRE_ANVIL, so there the test never skips).
fn anvil(test: &str) -> Option<Anvil> {
    let program = std::env::var("ZKONNX_ANVIL").unwrap_or_else(|_| "anvil".into());
    if !Command::new(&program).arg("--version").output().is_ok_and(|o| o.status.success()) {
        assert!(std::env::var_os("ZKONNX_REQUIRE_ANVIL").is_none(), "ZKONNX_REQUIRE_ANVIL is set but no anvil");
        eprintln!("{test}: skipped, no anvil (npm install @foundry-rs/anvil)");
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(&program)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--silent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let node = Anvil { child, url: format!("http://127.0.0.1:{port}") };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "anvil did not listen on {port} in 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(node)
}

fn key_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("deployer.key");
    std::fs::write(&path, format!("{DEV_KEY}\n")).unwrap();
    path
}

/// Issue 30: deploy, verify an honest proof by a call and by a transaction (the gas read from the
/// receipt), and see a proof with a changed byte, a changed public value and a wrong address
/// refused.
#[test]
fn a_verifier_deployed_to_a_node_accepts_the_proof_and_refuses_tampering() {
    let test = "a_verifier_deployed_to_a_node_accepts_the_proof_and_refuses_tampering";
    if !solc_available(test) {
        return;
    }
    let Some(node) = anvil(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("mlp");
    ok(zk(&[&"compile", &testdata("mlp", "model.onnx"), &"-o", &art, &"--layout", &"evm"]));
    let proof = setup_and_prove(&art, "mlp");
    let key = key_file(dir.path());
    let addr_file = dir.path().join("verifier.address");
    let url = node.url.as_str();
    let out =
        ok(zk(&[&"deploy-evm", &art, &"--rpc-url", &url, &"--private-key-file", &key, &"--addr-path", &addr_file]));
    let address = out.split("verifier deployed at ").nth(1).unwrap().split(' ').next().unwrap().to_string();
    assert_eq!(std::fs::read_to_string(&addr_file).unwrap().trim(), address);

    let on_chain = |p: &Path, send: bool| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> =
            vec![&"verify-evm", &art, &"-p", &p, &"--rpc-url", &url, &"--addr", &address];
        if send {
            args.extend([&"--send" as &dyn AsRef<std::ffi::OsStr>, &"--private-key-file", &key]);
        }
        zk(&args)
    };
    let called = ok(on_chain(&proof, false));
    assert!(called.contains("accepts it"), "{called}");
    let sent = ok(on_chain(&proof, true));
    let gas: u64 = sent
        .split(" gas (")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|g| g.parse().ok())
        .unwrap_or_else(|| panic!("no gas in {sent}"));
    assert!(gas > 21_000, "{sent}");
    eprintln!("on anvil: {gas} gas");

    let byte = changed_proof(&proof, "byte.json", |p| flip(&mut p["proof"], 40));
    let n = json(&proof)["instances"].as_array().unwrap().len();
    let public = changed_proof(&proof, "public.json", |p| flip(&mut p["instances"][n - 1], 0));
    for (name, p) in [("a changed byte", &byte), ("a changed public value", &public)] {
        for send in [false, true] {
            let line = refused(on_chain(p, send));
            assert!(line.contains("rejected") || line.contains("invalid"), "{name}, send {send}: {line}");
        }
    }
    let nothing_there = refused(zk(&[&"verify-evm", &art, &"-p", &proof, &"--rpc-url", &url, &"--addr", &DEV_ADDRESS]));
    assert!(nothing_there.contains("no contract is deployed"), "{nothing_there}");
}
