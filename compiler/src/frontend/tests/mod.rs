use super::*;
mod fuzz;
use crate::ir::Op;
use tract_onnx::prelude::Framework;

fn load(name: &str) -> Result<Graph> {
    let path = format!("{}/../testdata/{name}/model.onnx", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).map_err(|source| CompileError::Io { path: path.clone(), source })?;
    load_onnx(&bytes, &path)
}

#[test]
fn ir_dumps_of_testdata_models() {
    for name in ["mlp", "lenet", "mixed", "pooling", "transformer", "cnn", "activations", "structure", "logic", "tree"]
    {
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
    assert!(err.contains("Det (node /act/Det)"), "{err}");
    assert!(err.contains("Einsum (node /head/Einsum)"), "{err}");
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
    assert!(err.contains("/not") && err.contains("not a comparison's"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
}

/// testdata/`model` with its first `op` node edited by `edit`: the one-line error.
fn edited_error(model: &str, op: &str, edit: impl Fn(&mut pb::NodeProto)) -> String {
    let path = format!("{}/../testdata/{model}/model.onnx", env!("CARGO_MANIFEST_DIR"));
    let mut model = tract_onnx::onnx().proto_model_for_read(&mut &std::fs::read(&path).unwrap()[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    edit(graph.node.iter_mut().find(|n| n.op_type == op).unwrap());
    let err = load_proto(&model, &path).unwrap_err().to_string();
    assert!(!err.contains('\n'), "one line: {err}");
    err
}

/// testdata/tree (a skl2onnx export) with its tree node edited.
fn tree_error(edit: impl Fn(&mut pb::NodeProto)) -> String {
    edited_error("tree", "TreeEnsembleClassifier", edit)
}

fn attribute<'a>(node: &'a mut pb::NodeProto, name: &str) -> &'a mut pb::AttributeProto {
    node.attribute.iter_mut().find(|a| a.name == name).unwrap()
}

#[test]
fn tree_ensembles_with_what_a_circuit_cannot_prove_are_refused_naming_the_node() {
    let err = tree_error(|n| attribute(n, "nodes_modes").strings[0] = b"BRANCH_SOMETIMES".to_vec());
    assert!(err.contains("TreeEnsembleClassifier") && err.contains("unknown node mode \"BRANCH_SOMETIMES\""), "{err}");
    let err = tree_error(|n| {
        n.attribute.retain(|a| a.name != "post_transform");
        n.attribute.push(pb::AttributeProto {
            name: "post_transform".into(),
            s: b"PROBIT".to_vec(),
            ..Default::default()
        });
    });
    assert!(err.contains("post_transform PROBIT is not supported"), "{err}");
    let err = tree_error(|n| {
        let labels = attribute(n, "classlabels_int64s");
        labels.name = "classlabels_strings".into();
        labels.strings = labels.ints.iter().map(|i| format!("class {i}").into_bytes()).collect();
        labels.ints.clear();
    });
    assert!(err.contains("class labels are strings"), "{err}");
    let err = tree_error(|n| attribute(n, "nodes_truenodeids").ints[0] = 999);
    assert!(err.contains("points to node 999, which does not exist"), "{err}");
    // An ai.onnx.ml op that is not a tree: refused with the others, by name.
    let err = tree_error(|n| n.op_type = "SVMClassifier".into());
    assert!(err.contains("SVMClassifier (node TreeEnsembleClassifier)"), "{err}");
}

/// testdata/recurrent with its LSTM edited: the error names the node.
fn lstm_error(edit: impl Fn(&mut pb::NodeProto)) -> String {
    let err = edited_error("recurrent", "LSTM", edit);
    assert!(err.contains("/lstm/LSTM"), "{err}");
    err
}

#[test]
fn recurrent_layers_a_circuit_cannot_unroll_are_refused_naming_the_attribute() {
    let string_attr = |name: &str, values: &[&str]| pb::AttributeProto {
        name: name.into(),
        strings: values.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    };
    let err =
        lstm_error(|n| n.attribute.push(pb::AttributeProto { name: "clip".into(), f: 3.0, ..Default::default() }));
    assert!(err.contains("clip"), "{err}");
    let err = lstm_error(|n| {
        n.attribute.push(pb::AttributeProto { name: "input_forget".into(), i: 1, ..Default::default() })
    });
    assert!(err.contains("input_forget"), "{err}");
    let err = lstm_error(|n| {
        n.attribute.push(string_attr("activations", &["Sigmoid", "Tanh", "Tanh", "HardSigmoid", "Tanh", "Tanh"]))
    });
    assert!(err.contains("activation HardSigmoid is not supported"), "{err}");
    let err = lstm_error(|n| n.attribute.push(string_attr("activations", &["Sigmoid", "Tanh", "Tanh"])));
    assert!(err.contains("3 activations given; 3 per direction expected"), "{err}");
    // A sequence length that is an activation (padded batches).
    let err = lstm_error(|n| n.input[4] = "input".into());
    assert!(err.contains("sequence_lens must be a constant equal to the sequence length 5"), "{err}");
    let err = lstm_error(|n| n.input[1] = "lr".into());
    assert!(err.contains("do not fit 2 direction(s), 4 gate(s) and input size 3"), "{err}");
}

#[test]
fn top_k_and_nd_indexing_outside_what_is_supported_are_refused() {
    let k_of = |k: i64| {
        move |n: &mut pb::NodeProto| {
            n.input[1] = "k".into();
            n.attribute.push(pb::AttributeProto { name: "k".into(), i: k, ..Default::default() });
            n.input.truncate(1);
        }
    };
    let err = edited_error("selection", "TopK", k_of(7));
    assert!(err.contains("/top/TopK") && err.contains("K = 7 is outside 1..=6"), "{err}");
    let err = edited_error("selection", "TopK", k_of(0));
    assert!(err.contains("K = 0 is outside"), "{err}");
    let err = edited_error("selection", "ScatterND", |n| {
        n.attribute.push(pb::AttributeProto { name: "reduction".into(), s: b"add".to_vec(), ..Default::default() })
    });
    assert!(err.contains("/scatter/ScatterND") && err.contains("only reduction none"), "{err}");
    // Computed indices into ScatterElements: only reduction none (ONNX's order of updates).
    let err = edited_error("scatter", "ScatterElements", |n| {
        n.attribute.push(pb::AttributeProto { name: "reduction".into(), s: b"max".to_vec(), ..Default::default() })
    });
    assert!(err.contains("/scattered/ScatterElements") && err.contains("only reduction none"), "{err}");
    let err = edited_error("conv3d", "Conv", |n| n.op_type = "ConvTranspose".into());
    assert!(err.contains("3-D ConvTranspose is not supported, only 1-D and 2-D"), "{err}");
    // Row 3 of a [2, 6] input.
    let err = edited_error("selection", "GatherND", |n| n.input[1] = "k3".into());
    assert!(err.contains("/pick/GatherND") && err.contains("index 3 is out of range for an axis of 2"), "{err}");
}

/// testdata/`model` with its parsed proto edited by `edit`: the translation's result.
fn load_edited(model: &str, edit: impl Fn(&mut pb::GraphProto)) -> Result<Graph> {
    let path = format!("{}/../testdata/{model}/model.onnx", env!("CARGO_MANIFEST_DIR"));
    let mut model = tract_onnx::onnx().proto_model_for_read(&mut &std::fs::read(&path).unwrap()[..]).unwrap();
    edit(model.graph.as_mut().unwrap());
    load_proto(&model, &path)
}

/// Issue 26: a weight the integer semantics cannot hold (2^56 once quantized to 0 and was
/// proven; 1e30, 3e38, NaN, inf) is refused at compile, naming the node.
#[test]
fn a_constant_beyond_what_quantization_holds_is_refused_by_node() {
    for value in [2f32.powi(56), 1e30, 3e38, f32::NAN, f32::INFINITY, -f32::INFINITY] {
        let err = load_edited("mlp", |g| {
            let t = g.initializer.iter_mut().find(|t| t.dims.len() == 2).unwrap();
            if t.raw_data.is_empty() {
                t.float_data[0] = value;
            } else {
                t.raw_data[..4].copy_from_slice(&value.to_le_bytes());
            }
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("node ") && err.contains("must be finite and at most 2^40"), "{value}: {err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }
    // The largest magnitude allowed still compiles.
    load_edited("mlp", |g| {
        let t = g.initializer.iter_mut().find(|t| t.dims.len() == 2).unwrap();
        let value = 2f32.powi(40);
        if t.raw_data.is_empty() {
            t.float_data[0] = value;
        } else {
            t.raw_data[..4].copy_from_slice(&value.to_le_bytes());
        }
    })
    .unwrap();
}

/// Issue 26: a model without outputs, and inputs whose dimensions are not positive or too many.
#[test]
fn no_outputs_and_bad_input_dimensions_are_refused() {
    let err = load_edited("mlp", |g| g.output.clear()).unwrap_err().to_string();
    assert!(err.contains("no outputs"), "{err}");
    use pb::tensor_shape_proto::dimension::Value as Dim;
    for (dim, says) in [(0i64, "must be positive"), (-7, "must be positive"), (1 << 40, "more than")] {
        let err = load_edited("mlp", |g| {
            let Some(pb::type_proto::Value::TensorType(t)) = g.input[0].r#type.as_mut().unwrap().value.as_mut() else {
                panic!("a tensor input")
            };
            t.shape.as_mut().unwrap().dim.last_mut().unwrap().value = Some(Dim::DimValue(dim));
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains(says) && err.contains("model input"), "{dim}: {err}");
    }
}

/// Issue 26: a node given another op's inputs or attributes (the mutation harness swapped op types
/// and got proofs of a model onnxruntime refuses), or an attribute zkonnx does not implement, is
/// refused naming the input or attribute: nothing the translation does not read is dropped.
#[test]
fn inputs_and_attributes_the_translation_does_not_read_are_refused_by_name() {
    // Conv -> Relu: Relu has one input and no attributes; Conv's weight, bias and geometry remain.
    let err = edited_error("cnn", "Conv", |n| n.op_type = "Relu".into());
    assert!(err.contains("(Relu)") && err.contains("input 1") && err.contains("does not read it"), "{err}");
    // Sub -> Neg: the subtrahend would be dropped.
    let err = edited_error("pooling", "Sub", |n| n.op_type = "Neg".into());
    assert!(err.contains("(Neg)") && err.contains("input 1"), "{err}");
    // An attribute the op does not define.
    let err = edited_error("mlp", "Relu", |n| {
        let mut a = n.attribute.first().cloned().unwrap_or_default();
        a.name = "alpha".into();
        a.f = 0.5;
        n.attribute.push(a);
    });
    assert!(err.contains("(Relu)") && err.contains("attribute alpha is not supported"), "{err}");
    // An attribute that does not change the integer semantics is read as harmless.
    let path = format!("{}/../testdata/transformer/model.onnx", env!("CARGO_MANIFEST_DIR"));
    let mut model = tract_onnx::onnx().proto_model_for_read(&mut &std::fs::read(&path).unwrap()[..]).unwrap();
    let norm = model.graph.as_mut().unwrap().node.iter_mut().find(|n| n.op_type == "LayerNormalization").unwrap();
    let mut stash = norm.attribute[0].clone();
    stash.name = "stash_type".into();
    norm.attribute.push(stash);
    load_proto(&model, &path).unwrap();
}

/// Issue 31: weights in a file beside the model (torch's dynamo exporter writes `model.onnx.data`)
/// are read in; the translation equals the self-contained model's. A location outside the model's
/// folder, a missing file and a range past its end are refused in one line.
#[test]
fn external_weights_are_read_from_beside_the_model() {
    use prost::Message;
    let path = format!("{}/../testdata/mlp/model.onnx", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    let dir = std::env::temp_dir().join(format!("zkonnx-external-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let split = |location: &str| -> Vec<u8> {
        let mut model = pb::ModelProto::decode(&bytes[..]).unwrap();
        let mut data = vec![];
        for t in &mut model.graph.as_mut().unwrap().initializer {
            if t.raw_data.is_empty() {
                t.raw_data = t.float_data.iter().flat_map(|f| f.to_le_bytes()).collect();
                t.float_data.clear();
            }
            let entry = |k: &str, v: String| pb::StringStringEntryProto { key: k.into(), value: v };
            t.external_data = vec![
                entry("location", location.into()),
                entry("offset", data.len().to_string()),
                entry("length", t.raw_data.len().to_string()),
            ];
            t.data_location = Some(pb::tensor_proto::DataLocation::External as i32);
            data.append(&mut t.raw_data);
        }
        std::fs::write(dir.join("model.onnx.data"), &data).unwrap();
        model.encode_to_vec()
    };
    let external = split("model.onnx.data");
    assert!(load_onnx(&external, "model.onnx").is_err(), "the weights are not in the file itself");
    let inlined = inline_external_data(&external, "model.onnx", &dir).unwrap().expect("it had external data");
    let (a, b) = (load_onnx(&inlined, "model.onnx").unwrap(), load_onnx(&bytes, &path).unwrap());
    assert_eq!(a.to_string(), b.to_string());
    assert!(inline_external_data(&bytes, &path, &dir).unwrap().is_none(), "a self-contained model is kept as it is");
    for (location, says) in [("../model.onnx.data", "relative path inside"), ("missing.data", "missing.data")] {
        let err = inline_external_data(&split(location), "model.onnx", &dir).unwrap_err().to_string();
        assert!(err.contains(says) && !err.contains('\n'), "{location}: {err}");
    }
    std::fs::write(dir.join("model.onnx.data"), [0u8; 8]).unwrap();
    let mut short = pb::ModelProto::decode(&external[..]).unwrap();
    short.graph.as_mut().unwrap().initializer.truncate(1);
    let err = inline_external_data(&short.encode_to_vec(), "model.onnx", &dir).unwrap_err().to_string();
    assert!(err.contains("past the end"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The constant folds issue 27's examples needed (NonZero, reductions, Pow, n-ary Max/Min), on a
/// small tensor: each expected value is what onnxruntime gives for the same one-op model (opset 18).
#[test]
fn constants_fold_as_onnx_defines_the_ops() {
    let node = |op: &str, attrs: Vec<pb::AttributeProto>| pb::NodeProto {
        op_type: op.into(),
        attribute: attrs,
        ..Default::default()
    };
    let ints = |name: &str, v: &[i64]| pb::AttributeProto { name: name.into(), ints: v.to_vec(), ..Default::default() };
    let int = |name: &str, v: i64| pb::AttributeProto { name: name.into(), i: v, ..Default::default() };
    let fold = |n: &pb::NodeProto, inputs: &[Tensor<f64>]| consts::fold(&n.op_type, inputs, &Attrs::new(n)).unwrap();
    // x = [[0, 2, 0], [-1, 0, 3]]
    let x = Tensor::new(vec![2, 3], vec![0.0, 2.0, 0.0, -1.0, 0.0, 3.0]);
    // NonZero: row indices [0, 1, 1], column indices [1, 0, 2], row-major.
    let nz = fold(&node("NonZero", vec![]), std::slice::from_ref(&x));
    assert_eq!((nz.shape.clone(), nz.data.clone()), (vec![2, 3], vec![0.0, 1.0, 1.0, 1.0, 0.0, 2.0]));
    // ReduceSum over axis 1, keepdims: [[2], [2]]; over all axes without keepdims: 4.
    let s = fold(&node("ReduceSum", vec![ints("axes", &[1])]), std::slice::from_ref(&x));
    assert_eq!((s.shape.clone(), s.data.clone()), (vec![2, 1], vec![2.0, 2.0]));
    let all = fold(&node("ReduceSum", vec![int("keepdims", 0)]), std::slice::from_ref(&x));
    assert_eq!((all.shape.clone(), all.data.clone()), (vec![], vec![4.0]));
    // Opset 18: axes as input 1; ReduceMax over axis 0: [0, 2, 3]; ReduceProd over -1: [0, 0].
    let axes = Tensor::new(vec![1], vec![0.0]);
    let m = fold(&node("ReduceMax", vec![int("keepdims", 0)]), &[x.clone(), axes]);
    assert_eq!(m.data, vec![0.0, 2.0, 3.0]);
    let p = fold(&node("ReduceProd", vec![ints("axes", &[-1])]), std::slice::from_ref(&x));
    assert_eq!(p.data, vec![0.0, 0.0]);
    // Empty axes with noop_with_empty_axes: x itself.
    let noop = fold(&node("ReduceSum", vec![int("noop_with_empty_axes", 1)]), std::slice::from_ref(&x));
    assert_eq!(noop.data, x.data);
    // Pow broadcasts: 2^[0, 1, 3] = [1, 2, 8]; Max of three, broadcast: max(x, 1, [[0], [5]]).
    let pw = fold(&node("Pow", vec![]), &[Tensor::new(vec![], vec![2.0]), Tensor::new(vec![3], vec![0.0, 1.0, 3.0])]);
    assert_eq!(pw.data, vec![1.0, 2.0, 8.0]);
    let mx = fold(
        &node("Max", vec![]),
        &[x.clone(), Tensor::new(vec![], vec![1.0]), Tensor::new(vec![2, 1], vec![0.0, 5.0])],
    );
    assert_eq!((mx.shape.clone(), mx.data.clone()), (vec![2, 3], vec![1.0, 2.0, 1.0, 5.0, 5.0, 5.0]));
    let mn = fold(&node("Min", vec![]), &[x.clone(), Tensor::new(vec![], vec![1.0])]);
    assert_eq!(mn.data, vec![0.0, 1.0, 0.0, -1.0, 0.0, 1.0]);
}

/// Opset 15's Shape start and end (negative from the end): Shape(start=1, end=-1) of a [1, 6, 1]
/// tensor is [6], as onnxruntime gives; a Reshape to it proves the slice was taken.
#[test]
fn shape_start_and_end_slice_the_shape() {
    use pb::tensor_shape_proto::{dimension::Value as Dim, Dimension};
    let tensor = |name: &str, dims: &[i64]| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: 1,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension { value: Some(Dim::DimValue(d)), ..Default::default() })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    let attr = |name: &str, i: i64| pb::AttributeProto { name: name.into(), i, ..Default::default() };
    let node = |op: &str, inputs: &[&str], output: &str, attribute: Vec<pb::AttributeProto>| pb::NodeProto {
        op_type: op.into(),
        name: format!("/{op}"),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    };
    let model = pb::ModelProto {
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 15 }],
        graph: Some(pb::GraphProto {
            node: vec![
                node("Shape", &["x"], "s", vec![attr("start", 1), attr("end", -1)]),
                node("Reshape", &["x", "s"], "y", vec![]),
            ],
            input: vec![tensor("x", &[1, 6, 1])],
            output: vec![tensor("y", &[6])],
            ..Default::default()
        }),
        ..Default::default()
    };
    let graph = load_proto(&model, "shape.onnx").unwrap();
    assert_eq!(graph.nodes[graph.outputs[0]].shape, vec![6]);
}
