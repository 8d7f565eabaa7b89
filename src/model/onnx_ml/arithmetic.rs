//! ONNX-ML operators that are elementwise arithmetic with constants.
//!
//! - `Scaler` computes `(x − offset) · scale` (how `StandardScaler` exports): `Sub`, `Mul`.
//! - `Imputer` replaces `replaced_value_float` (NaN for `SimpleImputer`) by one value per
//!   column (or one for all): `Where(IsNaN(x), imputed, x)`, or `Equal` for a number.

use super::{Graph, attribute, input_output};
use tract_onnx::pb;

fn floats(node: &pb::NodeProto, name: &str) -> Vec<f32> {
    attribute(node, name).map_or(Vec::new(), |a| a.floats.clone())
}

pub(super) fn scaler(graph: &mut Graph, node: &pb::NodeProto) -> Option<String> {
    let (x, y) = input_output(node)?;
    let (mut offset, mut scale) = (floats(node, "offset"), floats(node, "scale"));
    if offset.is_empty() {
        offset.push(0.0);
    }
    if scale.is_empty() {
        scale.push(1.0);
    }
    let base = format!("{y}__mialab_scaler");
    let offset_name = graph.floats(format!("{base}_offset"), &offset);
    let scale_name = graph.floats(format!("{base}_scale"), &scale);
    let centred = format!("{base}_centred");
    graph.node("Sub", vec![x, offset_name], centred.clone());
    graph.node("Mul", vec![centred, scale_name], y);
    Some(format!(
        "Scaler '{}' replaced by Sub and Mul ({} offsets, {} scales)",
        node.name,
        offset.len(),
        scale.len()
    ))
}

pub(super) fn imputer(graph: &mut Graph, node: &pb::NodeProto) -> Option<String> {
    let (x, y) = input_output(node)?;
    let imputed = floats(node, "imputed_value_floats");
    if imputed.is_empty() {
        return None; // integer imputation (imputed_value_int64s): the records are floats
    }
    let replaced = attribute(node, "replaced_value_float").map_or(0.0, |a| a.f);
    let base = format!("{y}__mialab_imputer");
    let imputed_name = graph.floats(format!("{base}_values"), &imputed);
    let missing = format!("{base}_missing");
    let what = if replaced.is_nan() {
        graph.node("IsNaN", vec![x.clone()], missing.clone());
        "NaN".to_string()
    } else {
        let replaced_name = graph.floats(format!("{base}_replaced"), &[replaced]);
        graph.node("Equal", vec![x.clone(), replaced_name], missing.clone());
        replaced.to_string()
    };
    graph.node("Where", vec![missing, imputed_name, x], y);
    Some(format!(
        "Imputer '{}' replaced by Where ({what} becomes one of {} imputed values)",
        node.name,
        imputed.len()
    ))
}
