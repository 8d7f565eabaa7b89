//! `ZipMap`: skl2onnx's and onnxmltools' default probability output, a list of
//! `{class: p}` maps that tract cannot represent. Removed: the graph's output becomes
//! ZipMap's input, the `[N, classes]` tensor, whose columns are ZipMap's class labels in order.

use super::{ML_DOMAIN, attribute};
use tract_onnx::pb;

/// Removes every ZipMap of `proto`; returns one line per ZipMap.
pub(in crate::model) fn remove_zipmaps(proto: &mut pb::ModelProto) -> Vec<String> {
    let Some(graph) = proto.graph.as_mut() else {
        return Vec::new();
    };
    let (zipmaps, others): (Vec<_>, Vec<_>) = std::mem::take(&mut graph.node)
        .into_iter()
        .partition(|n| n.domain == ML_DOMAIN && n.op_type == "ZipMap");
    graph.node = others;
    zipmaps.iter().map(|z| remove(graph, z)).collect()
}

/// The class labels of a ZipMap, in column order.
fn labels(node: &pb::NodeProto) -> Vec<String> {
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

fn remove(graph: &mut pb::GraphProto, node: &pb::NodeProto) -> String {
    let (Some(tensor), Some(maps)) = (node.input.first(), node.output.first()) else {
        return "a ZipMap without input or output was dropped".to_string();
    };
    let labels = labels(node);
    let dimension = |value| pb::tensor_shape_proto::Dimension {
        denotation: String::new(),
        value,
    };
    let dims = vec![
        dimension(Some(pb::tensor_shape_proto::dimension::Value::DimParam(
            "N".to_string(),
        ))),
        dimension((!labels.is_empty()).then_some(
            pb::tensor_shape_proto::dimension::Value::DimValue(labels.len() as i64),
        )),
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
