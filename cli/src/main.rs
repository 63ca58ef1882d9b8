//! `zkonnx`: parse arguments, show progress, print results and errors. No logic of its own.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use compiler::segment::tree::Child;
use compiler::settings::{LayoutGoal, LayoutOptions, Mode, SegmentLayout, Visibility};
use indicatif::{ProgressBar, ProgressStyle};
use runtime::srs::{self, SrsSource};
use runtime::{evm, proof, witness, workflow, ArtifactDir, Model};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "zkonnx",
    version,
    about = "Compile ONNX models to Halo2 circuits; prove and verify their predictions"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Translate an ONNX model into a circuit and default settings in an artifact folder.
    Compile(CompileArgs),
    /// Choose scales, ranges, lookup bits and k from data; rewrite settings.json; report the error.
    Calibrate(CalibrateArgs),
    /// The quantization error of the current settings on a data set.
    Report {
        art: PathBuf,
        #[arg(long)]
        data: PathBuf,
        /// Also write the report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Print the IR graph and the circuit's shape.
    Inspect { art: PathBuf },
    /// List the supported ONNX ops and how each is proven (a Markdown table).
    Ops,
    /// Write an SRS file for 2^k rows, for testing `--srs` (UNSAFE: its secret was on this machine).
    GenSrs {
        #[arg(long)]
        k: u32,
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Make the proving and verifying keys (and the SRS, when none is given).
    Setup {
        art: PathBuf,
        /// A KZG SRS file (halo2 raw format); without it a cached dev SRS is used (unsafe for production).
        #[arg(long)]
        srs: Option<PathBuf>,
    },
    /// Run the model on an input file ({"input_data": [[...]]}) and write the witness.
    GenWitness {
        art: PathBuf,
        #[arg(short, long)]
        input: PathBuf,
        /// Prove with the weights of this ONNX file (same architecture; hashed params only).
        #[arg(long)]
        params: Option<PathBuf>,
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Print the Poseidon commitments of an input file, a witness's outputs, or a model's weights:
    /// what a proof with hashed visibility exposes, 0x hex.
    Hash {
        art: PathBuf,
        /// An input file ({"input_data": [[...]]}).
        #[arg(short, long)]
        input: Option<PathBuf>,
        /// A witness file: the commitment of its outputs.
        #[arg(short, long)]
        witness: Option<PathBuf>,
        /// An ONNX file of the compiled architecture: the commitment of its weights (hashed
        /// params). Without it, with hashed params, the compiled model's.
        #[arg(long)]
        params: Option<PathBuf>,
    },
    /// Check every constraint on a witness, without making a proof.
    Mock {
        art: PathBuf,
        #[arg(short, long)]
        witness: PathBuf,
    },
    /// Make a proof that the witness's outputs come from the model.
    Prove {
        art: PathBuf,
        #[arg(short, long)]
        witness: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
        /// The SRS given to setup, if any.
        #[arg(long)]
        srs: Option<PathBuf>,
        /// A segmented model: prove only segment I (for `zkonnx aggregate`; any scheduler can run
        /// one per machine).
        #[arg(long, value_name = "I")]
        segment: Option<usize>,
    },
    /// A segmented model: aggregate its segment proofs (`prove --segment i`, in order) into one proof.
    Aggregate {
        art: PathBuf,
        /// The segment proofs, segment 0 first.
        #[arg(long, num_args = 1.., required = true)]
        segment_proofs: Vec<PathBuf>,
        #[arg(short, long)]
        out: PathBuf,
        /// The SRS given to setup, if any.
        #[arg(long)]
        srs: Option<PathBuf>,
    },
    /// Verify a proof; prints the verified public values, exits non-zero if the proof is invalid.
    Verify(VerifyArgs),
    /// Write the Solidity verifier of the model: Verifier.sol, Verifier.bin (deployment bytecode,
    /// hex) and abi.json. Needs solc 0.8.19 (`npm install -g solc@0.8.19`, or ZKONNX_SOLC).
    CreateEvmVerifier {
        art: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
        /// Write a verifier over Ethereum's 24,576-byte contract limit (EIP-170), for chains
        /// without it.
        #[arg(long)]
        no_size_limit: bool,
    },
    /// Write the calldata of a proof for the verifier contract (instances, then proof bytes).
    EncodeEvmCalldata {
        art: PathBuf,
        #[arg(short, long)]
        proof: PathBuf,
        #[arg(short, long)]
        out: PathBuf,
    },
    /// Deploy the verifier contract to a chain (a JSON-RPC node); prints its address.
    DeployEvm {
        art: PathBuf,
        /// The node's JSON-RPC URL (e.g. http://127.0.0.1:8545).
        #[arg(long)]
        rpc_url: String,
        /// A file holding the deploying account's private key (hex), never the key itself.
        #[arg(long)]
        private_key_file: PathBuf,
        /// The verifier's Verifier.bin (from create-evm-verifier); without it, it is generated.
        #[arg(long)]
        verifier: Option<PathBuf>,
        /// Also write the address to this file (EZKL's --addr-path).
        #[arg(long)]
        addr_path: Option<PathBuf>,
    },
    /// Check a proof with the verifier contract: in an in-process EVM (prints the gas it costs),
    /// or with --rpc-url and --addr on a chain where it is deployed (an eth_call; --send makes it
    /// a transaction and prints the receipt's gas).
    VerifyEvm(VerifyEvmArgs),
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum TargetArg {
    Resources,
    Accuracy,
}

#[derive(clap::Args)]
struct CompileArgs {
    model: PathBuf,
    /// Artifact folder to write (created if missing).
    #[arg(short, long)]
    out: PathBuf,
    /// Largest log2 of the row count the planner may choose.
    #[arg(long, default_value_t = 22)]
    max_logrows: u32,
    /// Who sees the model inputs: private, public (in the proof's instances) or hashed
    /// (EZKL's names accepted where they mean the same).
    #[arg(long, default_value = "private")]
    input_visibility: String,
    /// Who sees the model outputs: public, private or hashed.
    #[arg(long, default_value = "public")]
    output_visibility: String,
    /// The weights: fixed (in the verifying key) or hashed.
    #[arg(long, default_value = "fixed")]
    param_visibility: String,
    /// What the layout minimises: prover (prove time, key size) or evm (the verifier
    /// contract's gas and size: fewest columns, more rows). Calibration keeps it.
    #[arg(long, default_value = "prover")]
    layout: LayoutGoal,
    /// Prove every convolution and batched MatMul by dot rows, never by a random check
    /// (the check is the default wherever it takes fewer rows).
    #[arg(long)]
    no_random_checks: bool,
    /// Cut the model into segments of at most 2^K rows each, proven apart and aggregated
    /// into one proof (for models too large for one circuit on one machine).
    #[arg(long, value_name = "K")]
    segment_logrows: Option<u32>,
    /// With --segment-logrows: how many proofs each aggregation job verifies (a tree of
    /// aggregations; 2 keeps every job near 8 GB, more means fewer, larger jobs).
    #[arg(long, value_name = "N", default_value_t = compiler::settings::Segmentation::DEFAULT_ARITY)]
    aggregation_arity: usize,
    /// With --segment-logrows: stacked segments (cheap to aggregate, ~arity to a node) or the
    /// row layout (~5x the rows a segment, a node each; fewer jobs for large models).
    #[arg(long, default_value = "stacked")]
    segment_layout: SegmentLayout,
}

#[derive(clap::Args)]
struct CalibrateArgs {
    art: PathBuf,
    /// Samples in EZKL's layout: per input, N samples' flattened values concatenated.
    #[arg(long)]
    data: PathBuf,
    /// resources: cheapest proof within --max-error and with top-1 agreement;
    /// accuracy: smallest error within --max-logrows.
    #[arg(long, value_enum, default_value_t = TargetArg::Resources)]
    target: TargetArg,
    /// Largest log2 of the row count.
    #[arg(long, default_value_t = 22)]
    max_logrows: u32,
    /// The `resources` target's bound on each output's max error, as a fraction of the
    /// output's largest |value| on the data.
    #[arg(long, default_value_t = 0.01)]
    max_rel_error: f64,
    /// An absolute bound on every output's max error instead.
    #[arg(long, conflicts_with = "max_rel_error")]
    max_error: Option<f64>,
    /// Widen every calibrated range by this fraction, so inputs a bit beyond the data still prove.
    #[arg(long, default_value_t = 0.5)]
    margin: f64,
    /// Where to write the report (default: ART/calibration.json).
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(clap::Args)]
struct VerifyArgs {
    art: PathBuf,
    #[arg(short, long)]
    proof: PathBuf,
    /// Check the proof against this SRS (must be the one setup used).
    #[arg(long)]
    srs: Option<PathBuf>,
    /// Print one JSON object on stdout: the verified public values (outputs, inputs).
    #[arg(long)]
    json: bool,
    /// Refuse the proof unless its input commitment is this one (0x hex, from `zkonnx hash
    /// --input`): without it, a hashed input proves only that *some* input was used.
    #[arg(long, value_name = "0xHASH")]
    expect_input_hash: Option<String>,
    /// Refuse the proof unless its output commitment is this one (`zkonnx hash --witness`).
    #[arg(long, value_name = "0xHASH")]
    expect_output_hash: Option<String>,
    /// Refuse the proof unless it used the weights of this commitment (hashed params; `zkonnx
    /// hash --params MODEL.onnx`): without it, any weights of the compiled architecture pass.
    #[arg(long, value_name = "0xHASH")]
    expect_params_hash: Option<String>,
}

#[derive(clap::Args)]
struct VerifyEvmArgs {
    art: PathBuf,
    #[arg(short, long, required_unless_present = "calldata", conflicts_with = "calldata")]
    proof: Option<PathBuf>,
    /// Call the contract with these bytes as they are (e.g. from encode-evm-calldata, or
    /// read from a transaction) instead of a proof file's.
    #[arg(long)]
    calldata: Option<PathBuf>,
    /// The verifier's Verifier.bin (from create-evm-verifier); without it, it is generated.
    #[arg(long, conflicts_with = "rpc_url")]
    verifier: Option<PathBuf>,
    /// Run an EVM without Ethereum's contract size limit (EIP-170).
    #[arg(long, conflicts_with = "rpc_url")]
    no_size_limit: bool,
    /// Verify on this chain (JSON-RPC URL) instead of in-process.
    #[arg(long, requires = "addr")]
    rpc_url: Option<String>,
    /// The deployed verifier's address (EZKL's --addr-verifier).
    #[arg(long, alias = "addr-verifier", requires = "rpc_url")]
    addr: Option<String>,
    /// Send the proof as a transaction (from --private-key-file's account) instead of a call.
    #[arg(long, requires = "private_key_file")]
    send: bool,
    /// The sending account's private key file, with --send.
    #[arg(long, requires = "rpc_url")]
    private_key_file: Option<PathBuf>,
}

fn main() {
    // Output piped into a reader that stops early (`zkonnx inspect art | head`): end quietly, as
    // Unix tools do, instead of panicking on the broken pipe (Rust ignores SIGPIPE by default).
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition at startup, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if let Err(e) = run(cli.command) {
        // One line: the outermost context, then its cause.
        let msg: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("error: {}", msg.join(": "));
        std::process::exit(1);
    }
}

fn spinner(msg: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(msg.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Run `f` under a spinner that stops when it ends, ok or not.
fn step<T>(msg: &str, f: impl FnOnce() -> runtime::Result<T>) -> Result<T> {
    let bar = spinner(msg);
    let out = f();
    bar.finish_and_clear();
    Ok(out?)
}

/// "aggregation: 2 nodes of 2 proofs, 2 levels, k=21".
fn tree_summary(seg: &compiler::settings::Segmentation) -> String {
    let tree = seg.tree();
    let most = tree.nodes.iter().map(|n| n.children.len()).max().unwrap_or(0);
    format!(
        "aggregation: {} node{} of at most {most} proof{}, {} level{}, k={}",
        tree.nodes.len(),
        if tree.nodes.len() == 1 { "" } else { "s" },
        if most == 1 { "" } else { "s" },
        tree.depth(),
        if tree.depth() == 1 { "" } else { "s" },
        seg.aggregate_k
    )
}

/// Write an aggregate proof and its one-line summary.
fn write_aggregate(out: &Path, p: &proof::ProofFile, segments: usize, start: Instant) -> Result<()> {
    proof::write(out, p)?;
    println!(
        "proof written to {}: {}; {segments} segments aggregated{} ({:.1?})",
        out.display(),
        size(file_size(out)),
        measured_peak(),
        start.elapsed()
    );
    Ok(())
}

/// ", peak memory 7.6 GB": this process's, measured (the largest of the jobs it ran in turn).
fn measured_peak() -> String {
    runtime::memory::process_peak().map_or(String::new(), |b| format!(", peak memory {}", size(b)))
}

use workflow::size;

/// A long step's stages as a spinner each, its finished jobs as lines above it.
#[derive(Default)]
struct Stages(std::sync::Mutex<Option<ProgressBar>>);

impl workflow::Progress for Stages {
    fn stage(&self, what: &str) {
        if let Ok(mut bar) = self.0.lock() {
            if let Some(old) = bar.replace(spinner(what)) {
                old.finish_and_clear();
            }
        }
    }

    fn done(&self, line: String) {
        match self.0.lock().ok().as_deref().and_then(Option::as_ref) {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl Drop for Stages {
    fn drop(&mut self) {
        if let Some(bar) = self.0.lock().ok().and_then(|mut b| b.take()) {
            bar.finish_and_clear();
        }
    }
}

/// The dev SRS's warning, when it is the one used.
fn warn_dev_srs(source: &SrsSource, m: &Model) {
    if let Some(w) = workflow::dev_srs_warning(source, workflow::srs_k(&m.settings)) {
        eprintln!("warning: {w}. Pass --srs FILE for a real one.");
    }
}

fn size_limit(no_size_limit: bool) -> evm::SizeLimit {
    if no_size_limit {
        evm::SizeLimit::None
    } else {
        evm::SizeLimit::Eip170
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn visibility_summary(v: &Visibility) -> String {
    format!("input {}, output {}, params {}", v.input, v.output, v.params)
}

fn compile(args: CompileArgs) -> Result<()> {
    let CompileArgs {
        model,
        out,
        max_logrows,
        input_visibility,
        output_visibility,
        param_visibility,
        layout,
        no_random_checks,
        segment_logrows,
        aggregation_arity,
        segment_layout,
    } = args;
    let start = Instant::now();
    let layout = LayoutOptions::new(layout, !no_random_checks);
    let mode = |s: &str| s.parse::<Mode>().map_err(anyhow::Error::msg);
    let visibility = Visibility::new(mode(&input_visibility)?, mode(&output_visibility)?, mode(&param_visibility)?)
        .map_err(anyhow::Error::msg)?;
    let art = ArtifactDir::new(&out);
    let segments = segment_logrows.map(|logrows| workflow::SegmentOptions {
        logrows,
        arity: aggregation_arity,
        layout: segment_layout,
    });
    let m = workflow::compile(&model, &art, visibility, layout, max_logrows, segments)?;
    let s = &m.settings;
    println!(
        "compiled {} -> {}: {} nodes, {}, k={}, {} rows, {}, scales 2^{}/2^{} ({:.1?})",
        model.display(),
        out.display(),
        m.graph.nodes.len(),
        visibility_summary(&s.visibility),
        s.circuit.k,
        s.rows,
        s.circuit.columns(),
        s.scales.input,
        s.scales.param,
        start.elapsed()
    );
    if let Some(seg) = &m.settings.segments {
        let max = seg.parts.iter().map(|p| p.rows).max().unwrap_or(0);
        println!(
            "{} segments of at most 2^{} rows (largest {max} rows); {}",
            seg.parts.len(),
            seg.logrows,
            tree_summary(seg)
        );
    }
    Ok(())
}

fn calibrate(args: CalibrateArgs) -> Result<()> {
    let CalibrateArgs { art, data, target, max_logrows, max_rel_error, max_error, margin, json } = args;
    let start = Instant::now();
    let dir = ArtifactDir::new(&art);
    let opts = compiler::calibrate::Options {
        target: match target {
            TargetArg::Resources => compiler::calibrate::Target::Resources,
            TargetArg::Accuracy => compiler::calibrate::Target::Accuracy,
        },
        max_logrows,
        max_error: match max_error {
            Some(e) => compiler::calibrate::ErrorBound::Absolute(e),
            None => compiler::calibrate::ErrorBound::Relative(max_rel_error),
        },
        margin,
        ..Default::default()
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("calibrating {bar:30} {pos}/{len} candidates {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report_path = json.unwrap_or_else(|| dir.calibration_report());
    let result = runtime::calibrate::calibrate(&dir, &data, &opts, &report_path, &|total| {
        bar.set_length(total);
        bar.inc(1)
    });
    bar.finish_and_clear();
    let (model, report) = result?;
    let s = &model.settings;
    let accepted =
        report.candidates.iter().filter(|c| matches!(c.outcome, compiler::calibrate::Outcome::Accepted { .. })).count();
    let err = report.error.as_ref().map_or(0.0, |e| e.max_abs);
    let top1 = report.error.as_ref().map_or(1.0, |e| e.top1_agreement());
    let reference = report.reference.as_ref().map_or(String::new(), |r| format!("; float reference the IR, {r}"));
    println!(
        "calibrated on {} samples: scales 2^{}/2^{}, k={}, {} rows, {}; \
         max error {err:.4}, top-1 agreement {:.0}%; {accepted}/{} candidates met the target{reference}; report {} ({:.1?})",
        report.samples,
        s.scales.input,
        s.scales.param,
        s.circuit.k,
        s.rows,
        s.circuit.columns(),
        100.0 * top1,
        report.candidates.len(),
        report_path.display(),
        start.elapsed()
    );
    Ok(())
}

fn verify(args: VerifyArgs) -> Result<()> {
    let VerifyArgs { art, proof: ppath, srs, json, expect_input_hash, expect_output_hash, expect_params_hash } = args;
    let start = Instant::now();
    let source = srs.map(SrsSource::File);
    let expected = proof::Expected {
        input_hash: expect_input_hash,
        output_hash: expect_output_hash,
        params_hash: expect_params_hash,
    };
    let public = proof::verify(&ArtifactDir::new(&art), &ppath, source.as_ref(), &expected)
        .with_context(|| format!("verify {}", ppath.display()))?;
    if json {
        println!("{}", serde_json::to_string(&public)?);
    } else {
        let mut parts = vec![];
        if let Some(outputs) = &public.outputs {
            parts.push(format!("outputs: {}", serde_json::to_string(outputs)?));
        }
        if let Some(inputs) = &public.inputs {
            parts.push(format!("inputs: {}", serde_json::to_string(inputs)?));
        }
        let hashes = [
            ("input_hash", &public.input_hash),
            ("output_hash", &public.output_hash),
            ("params_hash", &public.params_hash),
        ];
        for (name, hash) in hashes {
            if let Some(h) = hash {
                parts.push(format!("{name}: {h}"));
            }
        }
        if parts.is_empty() {
            parts.push("no public values (private input and output, weights in the key)".into());
        }
        println!("verified ({:.1?}); {}", start.elapsed(), parts.join("; "));
    }
    Ok(())
}

/// The graph, visibility, layout, circuit and any segments of a compiled folder.
fn inspect(art: &Path) -> Result<()> {
    let m = Model::load(&ArtifactDir::new(art))?;
    print!("{}", m.graph);
    println!("visibility: {}", visibility_summary(&m.settings.visibility));
    println!("layout: for the {}", if m.settings.layout == LayoutGoal::Evm { "EVM verifier" } else { "prover" });
    println!("circuit: {}", serde_json::to_string(&m.settings.circuit)?);
    for (i, p) in m.settings.segments.iter().flat_map(|s| s.parts.iter()).enumerate() {
        let crossing = |ids: &[usize]| -> String {
            let named: Vec<String> = ids
                .iter()
                .map(|&id| {
                    let n = &m.graph.nodes[id];
                    format!("{} ({})", n.name, n.shape.iter().product::<usize>())
                })
                .collect();
            named.join(", ")
        };
        println!(
            "segment {i}: nodes {}..{}, k={}, {}, {} rows; in: {}; out: {}",
            p.segment.start,
            p.segment.end,
            p.circuit.k,
            if p.circuit.stacked { "stacked" } else { "row layout" },
            p.rows,
            crossing(&p.segment.inputs),
            crossing(&p.segment.outputs)
        );
    }
    if let Some(seg) = &m.settings.segments {
        let tree = seg.tree();
        for (j, node) in tree.nodes.iter().enumerate() {
            let children: Vec<String> = node
                .children
                .iter()
                .map(|c| match c {
                    Child::Segment(i) => format!("segment {i}"),
                    Child::Node(n) => format!("node {n}"),
                })
                .collect();
            println!(
                "aggregation node {j}{}: level {}, segments {}..{}; verifies {}",
                if j == tree.root() { " (root)" } else { "" },
                node.level,
                node.span.start,
                node.span.end,
                children.join(", ")
            );
        }
    }
    Ok(())
}

/// `prove`: the model's proof (one circuit's, or its segments' aggregate), or with `--segment`
/// one segment's.
fn prove(art: &Path, wpath: &Path, out: &Path, srs: Option<PathBuf>, segment: Option<usize>) -> Result<()> {
    let start = Instant::now();
    let dir = ArtifactDir::new(art);
    let m = Model::load(&dir)?;
    let w = witness::read(wpath, &m)?;
    let source = SrsSource::from_option(srs);
    if let Some(i) = segment {
        let proven = workflow::prove_segment(&m, &dir, &w, &source, i, &Stages::default())?;
        runtime::files::write_json(out, &proven.proof)?;
        println!(
            "segment {i} proof written to {}: {}, k={}, {} rows{} ({:.1?})",
            out.display(),
            size(file_size(out)),
            proven.k,
            proven.rows,
            measured_peak(),
            start.elapsed()
        );
        return Ok(());
    }
    let proven = workflow::prove(&m, &dir, &w, &source, &Stages::default())?;
    match proven.segments {
        Some(parts) => write_aggregate(out, &proven.proof, parts, start),
        None => {
            proof::write(out, &proven.proof)?;
            println!("proof written to {}: {} ({:.1?})", out.display(), size(file_size(out)), start.elapsed());
            Ok(())
        }
    }
}

/// `verify-evm`: the verifier contract on a proof, in-process or on a chain.
fn verify_evm(args: VerifyEvmArgs) -> Result<()> {
    let VerifyEvmArgs { art, proof: ppath, calldata, verifier, no_size_limit, rpc_url, addr, send, private_key_file } =
        args;
    let start = Instant::now();
    let dir = ArtifactDir::new(&art);
    let (data, source) = match (ppath, calldata) {
        (Some(p), _) => (evm::calldata(&dir, &p)?, p),
        (None, Some(c)) => (runtime::files::read(&c)?, c),
        (None, None) => anyhow::bail!("say what to verify: --proof FILE or --calldata FILE"),
    };
    let context = || format!("verify-evm {}", source.display());
    if let (Some(url), Some(addr)) = (rpc_url, addr) {
        let address = runtime::chain::parse_address(&addr)?;
        match private_key_file.filter(|_| send) {
            Some(key) => {
                let signer = runtime::chain::read_signer(&key)?;
                let sent = step(&format!("sending the proof to {address}"), || {
                    runtime::chain::send(&url, signer, address, data)
                })
                .with_context(context)?;
                let block = sent.block.map_or(String::new(), |b| format!(", block {b}"));
                println!(
                    "verified on chain: transaction {}{block}, {} gas ({:.1?})",
                    sent.tx_hash,
                    sent.gas_used,
                    start.elapsed()
                );
            }
            None => {
                step(&format!("calling the verifier at {address}"), || runtime::chain::call(&url, address, data))
                    .with_context(context)?;
                println!("verified on chain: the verifier at {address} accepts it ({:.1?})", start.elapsed());
            }
        }
        return Ok(());
    }
    let limit = size_limit(no_size_limit);
    let bytecode = match verifier {
        Some(path) => evm::read_bytecode(&path)?,
        None => step("generating and compiling the verifier", || evm::create_bytecode(&dir, None, limit))?,
    };
    let run = step("running the verifier in the EVM", || evm::run(bytecode, data, limit)).with_context(context)?;
    println!(
        "verified on EVM: {} gas; deployed code {} bytes, calldata {} bytes ({:.1?})",
        run.gas,
        run.deployed_size,
        run.calldata_size,
        start.elapsed()
    );
    Ok(())
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Compile(args) => compile(args)?,
        Command::Calibrate(args) => calibrate(args)?,
        Command::Report { art, data, json } => {
            let r = runtime::calibrate::report(&ArtifactDir::new(&art), &data)?;
            if let Some(path) = json {
                runtime::files::write_json(&path, &r)?;
            }
            println!("{}", serde_json::to_string_pretty(&r)?);
        }
        Command::Ops => print!("{}", compiler::frontend::ops_table()),
        Command::Inspect { art } => inspect(&art)?,
        Command::GenSrs { k, out } => {
            eprintln!("warning: a generated SRS is NOT safe for production; use one from a ceremony");
            step(&format!("generating an SRS for 2^{k} rows"), || srs::generate_file(&out, k))?;
            println!("SRS written to {} ({})", out.display(), size(file_size(&out)));
        }
        Command::Setup { art, srs } => {
            let start = Instant::now();
            let dir = ArtifactDir::new(&art);
            let m = Model::load(&dir)?;
            let source = SrsSource::from_option(srs);
            warn_dev_srs(&source, &m);
            let done = workflow::setup(&m, &dir, &source, &Stages::default())?;
            let (keys, need) = (&done.keys, done.estimated_peak >> 20);
            match &m.settings.segments {
                Some(seg) => println!(
                    "setup done: {} segments (largest {} rows), {}, root pk {}, vk {}, estimated peak memory {need} MB{} ({:.1?})",
                    seg.parts.len(),
                    keys.rows,
                    tree_summary(seg),
                    size(keys.pk_bytes),
                    size(keys.vk_bytes),
                    measured_peak(),
                    start.elapsed()
                ),
                None => println!(
                    "setup done: k={}, {} rows, pk {}, vk {}, estimated peak memory {need} MB ({:.1?})",
                    keys.k,
                    keys.rows,
                    size(keys.pk_bytes),
                    size(keys.vk_bytes),
                    start.elapsed()
                ),
            }
        }
        Command::GenWitness { art, input, params, out } => {
            let m = Model::load(&ArtifactDir::new(&art))?;
            let inputs = witness::read_inputs(&input, &m.settings)?;
            let other = params.map(|p| m.plan_with_weights_of(&p)).transpose()?;
            let w = witness::generate(&m, &inputs, other.as_ref())?;
            witness::write(&out, &w)?;
            println!("witness written to {}; outputs: {}", out.display(), serde_json::to_string(&w.outputs)?);
        }
        Command::Hash { art, input, witness: wpath, params } => {
            let m = Model::load(&ArtifactDir::new(&art))?;
            let hashed_params = m.settings.visibility.params == Mode::Hashed;
            if input.is_none() && wpath.is_none() && !hashed_params {
                anyhow::bail!("say what to hash: --input FILE, --witness FILE and/or --params MODEL.onnx");
            }
            let other = params.map(|p| m.plan_with_weights_of(&p)).transpose()?;
            if hashed_params {
                println!("params_hash: {}", witness::params_hash(other.as_ref().unwrap_or(&m.plan))?);
            }
            if let Some(path) = input {
                let inputs = witness::read_inputs(&path, &m.settings)?;
                println!("input_hash: {}", witness::input_hash(&m, &witness::quantize_inputs(&m, &inputs))?);
            }
            if let Some(path) = wpath {
                let w = witness::read(&path, &m)?;
                println!("output_hash: {}", witness::output_hash(&m, &w.outputs_quantized)?);
            }
        }
        Command::Mock { art, witness: wpath } => {
            let m = Model::load(&ArtifactDir::new(&art))?;
            let w = witness::read(&wpath, &m)?;
            let need = runtime::keys::check_mock_memory(m.settings.circuit, "mock")? >> 20;
            step(&format!("checking constraints (estimated peak memory {need} MB)"), || proof::mock(&m, &w))?;
            println!("mock: all constraints satisfied ({} rows, k={})", m.settings.rows, m.settings.circuit.k);
        }
        Command::Aggregate { art, segment_proofs, out, srs } => {
            let start = Instant::now();
            let dir = ArtifactDir::new(&art);
            let m = Model::load(&dir)?;
            let source = SrsSource::from_option(srs);
            let proven = workflow::aggregate(&m, &dir, &segment_proofs, &source, &Stages::default())?;
            write_aggregate(&out, &proven.proof, proven.segments.unwrap_or(0), start)?;
        }
        Command::Prove { art, witness: wpath, out, srs, segment } => prove(&art, &wpath, &out, srs, segment)?,
        Command::CreateEvmVerifier { art, out, no_size_limit } => {
            let start = Instant::now();
            let limit = size_limit(no_size_limit);
            let v = step("generating and compiling the verifier", || {
                evm::create_verifier(&ArtifactDir::new(&art), None, &evm::VerifierFiles::in_folder(&out), limit)
            })?;
            println!(
                "verifier written to {}: Verifier.sol {}, deployment bytecode {}, deployed code {} bytes (limit {}) ({:.1?})",
                out.display(),
                size(v.solidity.len() as u64),
                size(v.bytecode.len() as u64),
                v.deployed_size,
                evm::MAX_CODE_SIZE,
                start.elapsed()
            );
        }
        Command::EncodeEvmCalldata { art, proof: ppath, out } => {
            let data = evm::calldata(&ArtifactDir::new(&art), &ppath)?;
            runtime::files::write_atomic(&out, &data)?;
            println!("calldata written to {}: {} bytes", out.display(), data.len());
        }
        Command::DeployEvm { art, rpc_url, private_key_file, verifier, addr_path } => {
            let start = Instant::now();
            let dir = ArtifactDir::new(&art);
            let signer = runtime::chain::read_signer(&private_key_file)?;
            let bytecode = match verifier {
                Some(path) => evm::read_bytecode(&path)?,
                None => step("generating and compiling the verifier", || {
                    evm::create_bytecode(&dir, None, evm::SizeLimit::Eip170)
                })?,
            };
            let deployed =
                step(&format!("deploying to {rpc_url}"), || runtime::chain::deploy(&rpc_url, signer, bytecode))?;
            if let Some(path) = addr_path {
                runtime::files::write_atomic(&path, format!("{}\n", deployed.address).as_bytes())?;
            }
            println!(
                "verifier deployed at {} (transaction {}, {} gas) ({:.1?})",
                deployed.address,
                deployed.tx_hash,
                deployed.gas_used,
                start.elapsed()
            );
        }
        Command::VerifyEvm(args) => verify_evm(args)?,
        Command::Verify(args) => verify(args)?,
    }
    Ok(())
}
