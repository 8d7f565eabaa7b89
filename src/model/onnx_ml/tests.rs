use super::*;

fn node(
    op_type: &str,
    inputs: &[&str],
    output: &str,
    attribute: Vec<pb::AttributeProto>,
) -> pb::NodeProto {
    pb::NodeProto {
        input: inputs.iter().map(ToString::to_string).collect(),
        output: vec![output.to_string()],
        name: op_type.to_lowercase(),
        op_type: op_type.to_string(),
        domain: ML_DOMAIN.to_string(),
        attribute,
        ..Default::default()
    }
}

fn floats(name: &str, v: &[f32]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.to_string(),
        floats: v.to_vec(),
        ..Default::default()
    }
}

fn output(name: &str) -> pb::ValueInfoProto {
    pb::ValueInfoProto {
        name: name.to_string(),
        ..Default::default()
    }
}

/// A skl2onnx-style graph: Imputer, Scaler, a classifier, a ZipMap on the probabilities and a
/// LabelEncoder on the label output.
fn pipeline() -> pb::ModelProto {
    let zipmap = pb::AttributeProto {
        name: "classlabels_int64s".to_string(),
        ints: vec![0, 1, 2],
        ..Default::default()
    };
    let mut imputer = vec![floats("imputed_value_floats", &[7.0, 8.0])];
    imputer.push(pb::AttributeProto {
        name: "replaced_value_float".to_string(),
        f: f32::NAN,
        ..Default::default()
    });
    pb::ModelProto {
        graph: Some(pb::GraphProto {
            node: vec![
                node("Imputer", &["x"], "filled", imputer),
                node(
                    "Scaler",
                    &["filled"],
                    "scaled",
                    vec![floats("offset", &[1.0, 2.0]), floats("scale", &[0.5, 0.25])],
                ),
                node("LinearClassifier", &["scaled"], "probabilities", vec![]),
                node(
                    "ZipMap",
                    &["probabilities"],
                    "output_probability",
                    vec![zipmap],
                ),
                node("ArgMax", &["probabilities"], "index", vec![]),
                node("LabelEncoder", &["index"], "output_label", vec![]),
            ],
            output: vec![output("output_label"), output("output_probability")],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn zipmap_goes_the_label_branch_goes_and_scaler_and_imputer_become_standard_operators() {
    let mut proto = pipeline();
    let zipmaps = remove_zipmaps(&mut proto);
    assert_eq!(zipmaps.len(), 1);
    assert!(
        zipmaps[0].contains("'probabilities'") && zipmaps[0].contains("0, 1, 2"),
        "{}",
        zipmaps[0]
    );

    let pruned = keep_only(&mut proto, "probabilities").expect("the label branch goes");
    assert!(
        pruned.contains("output_label") && pruned.contains("LabelEncoder"),
        "{pruned}"
    );

    let done = rewrite_operators(&mut proto);
    assert_eq!(done.len(), 2, "{done:?}");
    let graph = proto.graph.unwrap();
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["IsNaN", "Where", "Sub", "Mul", "LinearClassifier"]);
    assert_eq!(graph.node[1].output, ["filled"]);
    assert_eq!(graph.node[3].output, ["scaled"]);
    assert_eq!(graph.output.len(), 1);
    assert_eq!(graph.output[0].name, "probabilities");
    let constants: Vec<&[f32]> = graph
        .initializer
        .iter()
        .map(|t| &t.float_data[..])
        .collect();
    assert_eq!(constants, [&[7.0, 8.0][..], &[1.0, 2.0], &[0.5, 0.25]]);
    assert!(proto.opset_import.iter().any(|o| o.domain.is_empty()));
}

#[test]
fn one_hot_encoding_follows_the_opset_and_binarizer_and_extractor_are_rewritten() {
    for (opset, unsqueeze_inputs) in [(9, 1), (17, 2)] {
        let cats = pb::AttributeProto {
            name: "cats_int64s".to_string(),
            ints: vec![0, 1, 2, 3],
            ..Default::default()
        };
        let mut proto = pb::ModelProto {
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: opset,
            }],
            graph: Some(pb::GraphProto {
                node: vec![
                    node("ArrayFeatureExtractor", &["x", "columns"], "picked", vec![]),
                    node("Binarizer", &["picked"], "flags", vec![]),
                    node("OneHotEncoder", &["flags"], "encoded", vec![cats]),
                ],
                output: vec![output("encoded")],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(rewrite_operators(&mut proto).len(), 3);
        let graph = proto.graph.unwrap();
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(
            ops,
            [
                "Gather",
                "Greater",
                "Cast",
                "Cast",
                "Unsqueeze",
                "Equal",
                "Cast"
            ]
        );
        assert_eq!(graph.node[4].input.len(), unsqueeze_inputs, "opset {opset}");
        assert_eq!(graph.node.last().unwrap().output, ["encoded"]);
        assert_eq!(proto.opset_import.len(), 1, "the model's own opset is kept");
    }
}

#[test]
fn nothing_is_pruned_from_a_graph_with_one_output() {
    let mut proto = pipeline();
    remove_zipmaps(&mut proto);
    keep_only(&mut proto, "probabilities");
    assert_eq!(keep_only(&mut proto, "probabilities"), None);
}

#[test]
fn an_operator_left_on_the_path_gets_an_exporter_hint() {
    assert!(unsupported_hint("LabelEncoder").contains("integer class indices"));
    assert!(unsupported_hint("SVMClassifier").contains("--outputs"));
    assert!(unsupported_hint("Anything").contains("standard operators"));
}

#[test]
fn identity_and_multiply_by_one_fold_into_the_node_before() {
    let standard = |op: &str, inputs: &[&str], output: &str| pb::NodeProto {
        domain: String::new(),
        ..node(op, inputs, output, vec![])
    };
    let mut proto = pb::ModelProto {
        graph: Some(pb::GraphProto {
            node: vec![
                node("TreeEnsembleClassifier", &["x"], "scores", vec![]),
                standard("Identity", &["scores"], "renamed"),
                standard("Mul", &["renamed", "one"], "probabilities"),
            ],
            initializer: vec![pb::TensorProto {
                name: "one".to_string(),
                data_type: pb::tensor_proto::DataType::Float as i32,
                float_data: vec![1.0],
                ..Default::default()
            }],
            output: vec![output("probabilities")],
            ..Default::default()
        }),
        ..Default::default()
    };
    let done = fold_pass_through(&mut proto).unwrap();
    assert!(done.starts_with("2 pass-through nodes"), "{done}");
    let graph = proto.graph.unwrap();
    assert_eq!(graph.node.len(), 1);
    assert_eq!(graph.node[0].output, ["probabilities"]);
}
