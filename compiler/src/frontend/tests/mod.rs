use super::*;
use crate::ir::Op;

fn load(name: &str) -> Result<Graph> {
    let path = format!("{}/../testdata/{name}/model.onnx", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).map_err(|source| CompileError::Io { path: path.clone(), source })?;
    load_onnx(&bytes, &path)
}

#[test]
fn ir_dumps_of_testdata_models() {
    for name in ["mlp", "lenet", "mixed", "pooling", "transformer", "cnn", "activations", "structure", "logic"] {
        let graph = load(name).unwrap();
        insta::assert_snapshot!(format!("ir_{name}"), graph.to_string());
    }
}

#[test]
fn batchnorm_and_bias_add_fold_into_the_layer_before() {
    let graph = load("mixed").unwrap();
    assert!(!graph.nodes.iter().any(|n| matches!(&n.op, Op::Affine { mul: Some(m), add: Some(_) } if m.shape == [4])));
    let conv = graph.nodes.iter().find(|n| n.name == "/conv/Conv").unwrap();
    assert!(matches!(&conv.op, Op::Conv { bias: Some(_), .. }), "BN gave the bias-less conv a bias");
    let mm = graph.nodes.iter().find(|n| n.name == "/fc/MatMul").unwrap();
    assert!(matches!(&mm.op, Op::MatMul { bias: Some(_), .. }), "the Add after MatMul became its bias");
}

#[test]
fn unsupported_ops_are_all_listed_with_node_names() {
    let err = load("unsupported").unwrap_err().to_string();
    assert!(err.contains("Trilu (node /act/Trilu)"), "{err}");
    assert!(err.contains("CumSum (node /head/CumSum)"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

#[test]
fn garbage_is_not_onnx() {
    let err = load_onnx(b"this is not a protobuf", "x.onnx").unwrap_err();
    assert!(matches!(err, CompileError::NotOnnx { .. }), "{err}");
}

#[test]
fn logic_of_a_number_is_refused_in_one_line() {
    let path = format!("{}/../testdata/logic/not_of_a_number.onnx", env!("CARGO_MANIFEST_DIR"));
    let err = load_onnx(&std::fs::read(&path).unwrap(), &path).unwrap_err().to_string();
    assert!(err.contains("/not") && err.contains("not a comparison's or logic op's result"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}
