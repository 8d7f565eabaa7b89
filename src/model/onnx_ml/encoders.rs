//! ONNX-ML operators that select or encode columns, as `ColumnTransformer` pipelines export.
//!
//! - `ArrayFeatureExtractor(x, indices)` takes columns of the last axis: `Gather(axis = -1)`.
//! - `OneHotEncoder` with integer categories: the input cast to int64 (as onnxruntime does),
//!   compared with every category along a new last axis, cast to float. An unknown category
//!   gives all zeros, which is `zeros = 1`, skl2onnx's `handle_unknown="ignore"`.
//! - `Binarizer` gives 1 above `threshold`, else 0: `Cast(Greater(x, threshold))`.

use super::{Graph, attribute, input_output, int_attribute};
use tract_onnx::pb;
use tract_onnx::pb::tensor_proto::DataType;

pub(super) fn feature_extractor(graph: &mut Graph, node: &pb::NodeProto) -> Option<String> {
    let [x, indices] = &node.input[..] else {
        return None;
    };
    let y = node.output.first()?.clone();
    graph
        .node("Gather", vec![x.clone(), indices.clone()], y)
        .attribute
        .push(int_attribute("axis", -1));
    Some(format!(
        "ArrayFeatureExtractor '{}' replaced by Gather on the last axis",
        node.name
    ))
}

pub(super) fn one_hot(graph: &mut Graph, node: &pb::NodeProto) -> Option<String> {
    let (x, y) = input_output(node)?;
    let categories = attribute(node, "cats_int64s")?.ints.clone();
    if categories.is_empty() {
        return None;
    }
    let base = format!("{y}__mialab_one_hot");
    let as_int = format!("{base}_int64");
    graph.cast(x, as_int.clone(), DataType::Int64);
    let widened = format!("{base}_unsqueezed");
    if graph.opset >= 13 {
        let axes = graph.ints(format!("{base}_axes"), &[-1]);
        graph.node("Unsqueeze", vec![as_int, axes], widened.clone());
    } else {
        let mut axes = int_attribute("axes", 0);
        axes.ints = vec![-1];
        axes.r#type = pb::attribute_proto::AttributeType::Ints as i32;
        graph
            .node("Unsqueeze", vec![as_int], widened.clone())
            .attribute
            .push(axes);
    }
    let categories_name = graph.ints(format!("{base}_categories"), &categories);
    let matches = format!("{base}_matches");
    graph.node("Equal", vec![widened, categories_name], matches.clone());
    graph.cast(matches, y, DataType::Float);
    Some(format!(
        "OneHotEncoder '{}' replaced by Equal against {} categories",
        node.name,
        categories.len()
    ))
}

/// Replaces a classifier's string class labels (`classlabels_strings`) by their indices: the
/// probability columns keep their order, and only the label output, which mialab never reads,
/// would have named them.
pub(super) fn index_class_labels(node: &mut pb::NodeProto) -> Option<String> {
    let at = node
        .attribute
        .iter()
        .position(|a| a.name == "classlabels_strings")?;
    let names: Vec<String> = node.attribute[at]
        .strings
        .iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    let mut indices = int_attribute("classlabels_ints", 0);
    indices.ints = (0..names.len() as i64).collect();
    indices.r#type = pb::attribute_proto::AttributeType::Ints as i32;
    node.attribute[at] = indices;
    Some(format!(
        "{} '{}': string classes ({}) replaced by their indices (the label output is not read)",
        node.op_type,
        node.name,
        names.join(", ")
    ))
}

pub(super) fn binarizer(graph: &mut Graph, node: &pb::NodeProto) -> Option<String> {
    let (x, y) = input_output(node)?;
    let threshold = attribute(node, "threshold").map_or(0.0, |a| a.f);
    let base = format!("{y}__mialab_binarizer");
    let threshold_name = graph.floats(format!("{base}_threshold"), &[threshold]);
    let above = format!("{base}_above");
    graph.node("Greater", vec![x, threshold_name], above.clone());
    graph.cast(above, y, DataType::Float);
    Some(format!(
        "Binarizer '{}' replaced by Greater than {threshold}",
        node.name
    ))
}
