//! A bounded fuzz run (issue 26): testdata models with one field of their ONNX proto mutated, as
//! a corrupted or hostile file would have it, go through the frontend and the planner. Each must
//! give a graph and a plan, or one error line: never a panic, never an allocation past the
//! bounds. Deterministic (seeded); `ZKONNX_FUZZ_CASES` runs more (the longer run is documented
//! in docs/cli.md, Reliability checks: `ZKONNX_FUZZ_CASES=20000 cargo test -p zkonnx-compiler fuzz`).

use super::*;
use crate::settings::{LayoutOptions, Visibility};
use tract_onnx::prelude::Framework;

/// xorshift64*: enough randomness for choosing mutations, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break assumptions: zero, negatives, huge, the edges of i64.
const NASTY_INTS: [i64; 9] = [0, -1, -7, 2, 1 << 20, 1 << 32, 1 << 40, i64::MAX, i64::MIN];
const NASTY_FLOATS: [f32; 7] = [f32::NAN, f32::INFINITY, -f32::INFINITY, 3e38, 1e30, 72057594037927936.0, -0.0];

fn mutate(g: &mut pb::GraphProto, rng: &mut Rng) -> &'static str {
    match rng.below(9) {
        0 if !g.initializer.is_empty() => {
            let i = rng.below(g.initializer.len());
            let t = &mut g.initializer[i];
            let v = NASTY_FLOATS[rng.below(NASTY_FLOATS.len())];
            if !t.raw_data.is_empty() {
                let i = rng.below(t.raw_data.len() / 4) * 4;
                t.raw_data[i..i + 4].copy_from_slice(&v.to_le_bytes());
            } else if !t.float_data.is_empty() {
                let i = rng.below(t.float_data.len());
                t.float_data[i] = v;
            }
            "initializer value"
        }
        1 if !g.initializer.is_empty() => {
            let i = rng.below(g.initializer.len());
            let t = &mut g.initializer[i];
            if !t.dims.is_empty() {
                let i = rng.below(t.dims.len());
                t.dims[i] = NASTY_INTS[rng.below(NASTY_INTS.len())];
            }
            "initializer dims"
        }
        2 => {
            let attrs: Vec<&mut pb::AttributeProto> = g.node.iter_mut().flat_map(|n| n.attribute.iter_mut()).collect();
            if let Some(a) = attrs.into_iter().nth(rng.below(8)) {
                let v = NASTY_INTS[rng.below(NASTY_INTS.len())];
                a.i = v;
                if !a.ints.is_empty() {
                    let i = rng.below(a.ints.len());
                    a.ints[i] = v;
                }
            }
            "attribute"
        }
        3 => {
            use pb::tensor_shape_proto::dimension::Value as Dim;
            if let Some(pb::type_proto::Value::TensorType(t)) =
                g.input[0].r#type.as_mut().and_then(|t| t.value.as_mut())
            {
                if let Some(shape) = t.shape.as_mut().filter(|s| !s.dim.is_empty()) {
                    let i = rng.below(shape.dim.len());
                    shape.dim[i].value = Some(Dim::DimValue(NASTY_INTS[rng.below(NASTY_INTS.len())]));
                }
            }
            "input dim"
        }
        4 if g.node.len() > 1 => {
            let (a, b) = (rng.below(g.node.len()), rng.below(g.node.len()));
            let op = g.node[b].op_type.clone();
            g.node[a].op_type = op;
            "op type"
        }
        5 if g.node.len() > 1 => {
            let (a, b) = (rng.below(g.node.len()), rng.below(g.node.len()));
            g.node.swap(a, b);
            "node order"
        }
        6 => {
            let i = rng.below(g.node.len());
            let n = &mut g.node[i];
            if rng.below(2) == 0 && !n.input.is_empty() {
                n.input.pop();
            } else {
                n.input.push(format!("bogus{}", rng.below(3)));
            }
            "node inputs"
        }
        7 => {
            g.output.truncate(rng.below(g.output.len() + 1));
            "outputs"
        }
        _ => {
            let i = rng.below(g.node.len());
            let n = &mut g.node[i];
            n.output.clear();
            "node outputs"
        }
    }
}

#[test]
fn mutated_models_compile_or_are_refused_in_one_line_never_panic() {
    let cases: usize = std::env::var("ZKONNX_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(300);
    let models = ["mlp", "lenet", "mixed", "pooling", "logic", "embedding", "structure", "indexing"];
    let protos: Vec<pb::ModelProto> = models
        .iter()
        .map(|m| {
            let path = format!("{}/../testdata/{m}/model.onnx", env!("CARGO_MANIFEST_DIR"));
            tract_onnx::onnx().proto_model_for_read(&mut &std::fs::read(&path).unwrap()[..]).unwrap()
        })
        .collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut failures = vec![];
    let (mut compiled, mut refused) = (0, 0);
    for case in 0..cases {
        let m = case % models.len();
        let mut proto = protos[m].clone();
        let kind = mutate(proto.graph.as_mut().unwrap(), &mut rng);
        if std::env::var_os("ZKONNX_FUZZ_TRACE").is_some() {
            eprintln!("case {case} ({}, {kind})", models[m]);
        }
        let run = crate::panics::caught(|| {
            let graph = load_proto(&proto, models[m])?;
            let ranges = crate::default_input_ranges(&graph);
            crate::plan_settings(
                &graph,
                "fuzz",
                crate::DEFAULT_SCALES,
                ranges,
                &Default::default(),
                Visibility::default(),
                LayoutOptions::default(),
                22,
            )
            .map(drop)
        });
        match run {
            Ok(Ok(())) => compiled += 1,
            Ok(Err(e)) if !e.to_string().contains('\n') => refused += 1,
            Ok(Err(e)) => failures.push(format!("case {case} ({}, {kind}): a multi-line error: {e}", models[m])),
            Err(why) => failures.push(format!("case {case} ({}, {kind}): panicked: {why}", models[m])),
        }
    }
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));
    // The run exercised both ways out.
    assert!(compiled > 0 && refused > 0, "compiled {compiled}, refused {refused}");
}
