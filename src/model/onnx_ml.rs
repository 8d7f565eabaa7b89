//! ONNX-ML operators that scikit-learn pipelines export by default (skl2onnx) and tract does
//! not implement, rewritten in the protobuf into operators it has before tract reads it:
//!
//! - `ZipMap` turns the probability tensor into a list of `{class: p}` maps, skl2onnx's
//!   default second output. Removed: the graph's output becomes its input, the `[N, classes]`
//!   tensor, whose columns are ZipMap's class labels in order.
//! - `Scaler` computes `(x − offset) · scale` (how `StandardScaler` exports). Replaced by a
//!   `Sub` and a `Mul` by constants.
//!
//! Each rewrite is reported in words, so `mialab inspect` can say what it changed.

use tract_onnx::pb;

const ML_DOMAIN: &str = "ai.onnx.ml";

/// Rewrites the operators above in `proto`; returns what it did, one line per node.
pub(super) fn rewrite(proto: &mut pb::ModelProto) -> Vec<String> {
    let Some(graph) = proto.graph.as_mut() else {
        return Vec::new();
    };
    let mut done = Vec::new();
    let mut needs_default_opset = false;
    let nodes = std::mem::take(&mut graph.node);
    for node in nodes {
        match (node.domain.as_str(), node.op_type.as_str()) {
            (ML_DOMAIN, "ZipMap") => done.push(remove_zipmap(graph, &node)),
            (ML_DOMAIN, "Scaler") => {
                done.push(replace_scaler(graph, &node));
                needs_default_opset = true;
            }
            _ => graph.node.push(node),
        }
    }
    if needs_default_opset
        && !proto
            .opset_import
            .iter()
            .any(|o| o.domain.is_empty() || o.domain == "ai.onnx")
    {
        proto.opset_import.push(pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        });
    }
    done
}

fn attribute<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// The class labels of a ZipMap, in column order.
fn zipmap_labels(node: &pb::NodeProto) -> Vec<String> {
    if let Some(a) = attribute(node, "classlabels_strings") {
        return a
            .strings
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
    }
    attribute(node, "classlabels_int64s")
        .map(|a| a.ints.iter().map(i64::to_string).collect())
        .unwrap_or_default()
}

fn remove_zipmap(graph: &mut pb::GraphProto, node: &pb::NodeProto) -> String {
    let (Some(tensor), Some(maps)) = (node.input.first(), node.output.first()) else {
        return "a ZipMap without input or output was dropped".to_string();
    };
    let labels = zipmap_labels(node);
    let dims = vec![
        pb::tensor_shape_proto::Dimension {
            denotation: String::new(),
            value: Some(pb::tensor_shape_proto::dimension::Value::DimParam(
                "N".to_string(),
            )),
        },
        pb::tensor_shape_proto::Dimension {
            denotation: String::new(),
            value: (!labels.is_empty()).then_some(
                pb::tensor_shape_proto::dimension::Value::DimValue(labels.len() as i64),
            ),
        },
    ];
    for output in graph.output.iter_mut().filter(|o| &o.name == maps) {
        output.name = tensor.clone();
        output.r#type = Some(pb::TypeProto {
            denotation: String::new(),
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim: dims.clone() }),
            })),
        });
    }
    for other in &mut graph.node {
        for input in other.input.iter_mut().filter(|i| *i == maps) {
            *input = tensor.clone();
        }
    }
    graph.value_info.retain(|v| &v.name != maps);
    format!(
        "ZipMap '{}' removed: class probabilities are read from its input '{tensor}' (classes in column order: {})",
        node.name,
        labels.join(", ")
    )
}

fn constant(name: String, values: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        dims: vec![values.len() as i64],
        data_type: pb::tensor_proto::DataType::Float as i32,
        float_data: values.to_vec(),
        name,
        ..Default::default()
    }
}

fn replace_scaler(graph: &mut pb::GraphProto, node: &pb::NodeProto) -> String {
    let (Some(x), Some(y)) = (node.input.first(), node.output.first()) else {
        return "a Scaler without input or output was dropped".to_string();
    };
    let floats = |name: &str| attribute(node, name).map_or(Vec::new(), |a| a.floats.clone());
    let (mut offset, mut scale) = (floats("offset"), floats("scale"));
    if offset.is_empty() {
        offset.push(0.0);
    }
    if scale.is_empty() {
        scale.push(1.0);
    }
    let base = format!("{y}__mialab_scaler");
    let (offset_name, scale_name, centred) = (
        format!("{base}_offset"),
        format!("{base}_scale"),
        format!("{base}_centred"),
    );
    graph
        .initializer
        .push(constant(offset_name.clone(), &offset));
    graph.initializer.push(constant(scale_name.clone(), &scale));
    let op = |op_type: &str, input: Vec<String>, output: String| pb::NodeProto {
        input,
        output: vec![output],
        name: format!("{base}_{}", op_type.to_lowercase()),
        op_type: op_type.to_string(),
        ..Default::default()
    };
    graph
        .node
        .push(op("Sub", vec![x.clone(), offset_name], centred.clone()));
    graph
        .node
        .push(op("Mul", vec![centred, scale_name], y.clone()));
    format!(
        "Scaler '{}' replaced by Sub and Mul ({} offsets, {} scales)",
        node.name,
        offset.len(),
        scale.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(
        op_type: &str,
        input: &str,
        output: &str,
        attribute: Vec<pb::AttributeProto>,
    ) -> pb::NodeProto {
        pb::NodeProto {
            input: vec![input.to_string()],
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

    #[test]
    fn zipmap_goes_and_scaler_becomes_sub_and_mul() {
        let zipmap = pb::AttributeProto {
            name: "classlabels_int64s".to_string(),
            ints: vec![0, 1, 2],
            ..Default::default()
        };
        let mut proto = pb::ModelProto {
            graph: Some(pb::GraphProto {
                node: vec![
                    node(
                        "Scaler",
                        "x",
                        "scaled",
                        vec![floats("offset", &[1.0, 2.0]), floats("scale", &[0.5, 0.25])],
                    ),
                    node("LinearClassifier", "scaled", "probabilities", vec![]),
                    node(
                        "ZipMap",
                        "probabilities",
                        "output_probability",
                        vec![zipmap],
                    ),
                ],
                output: vec![pb::ValueInfoProto {
                    name: "output_probability".to_string(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let done = rewrite(&mut proto);
        assert_eq!(done.len(), 2);
        assert!(
            done[1].contains("'probabilities'") && done[1].contains("0, 1, 2"),
            "{}",
            done[1]
        );
        let graph = proto.graph.unwrap();
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Sub", "Mul", "LinearClassifier"]);
        assert_eq!(graph.node[1].output, ["scaled"]);
        assert_eq!(graph.output[0].name, "probabilities");
        assert_eq!(graph.initializer[0].float_data, [1.0, 2.0]);
        assert_eq!(graph.initializer[1].float_data, [0.5, 0.25]);
        assert!(proto.opset_import.iter().any(|o| o.domain.is_empty()));
    }
}
