//! Nodes that pass a tensor on unchanged, which exporters write to give an output its public
//! name: `Identity`, and onnxmltools' LightGBM `Mul` by a constant 1. Folded into the node
//! that computes the tensor, so that what computes the class scores is the scores' producer
//! (the tree walker recognises a tree ensemble only when it writes the output itself).

use std::collections::HashSet;
use tract_onnx::pb;

/// Removes pass-through nodes, renaming what they read to what they write; returns one line
/// when any went.
pub(in crate::model) fn fold_pass_through(proto: &mut pb::ModelProto) -> Option<String> {
    let graph = proto.graph.as_mut()?;
    let ones: HashSet<String> = graph
        .initializer
        .iter()
        .filter(|t| is_all_ones(t))
        .map(|t| t.name.clone())
        .collect();
    let outputs: HashSet<String> = graph.output.iter().map(|o| o.name.clone()).collect();
    let inputs: HashSet<String> = graph.input.iter().map(|i| i.name.clone()).collect();
    let mut folded = Vec::new();
    let next = |nodes: &[pb::NodeProto]| {
        nodes.iter().enumerate().find_map(|(i, n)| {
            let from = pass_through_input(n, &ones)?;
            let to = n.output.first()?;
            let renameable = !outputs.contains(from) && !inputs.contains(from);
            renameable.then(|| (i, from.clone(), to.clone()))
        })
    };
    while let Some((index, from, to)) = next(&graph.node) {
        let node = graph.node.remove(index);
        for other in &mut graph.node {
            for name in other.output.iter_mut().chain(other.input.iter_mut()) {
                if *name == from {
                    *name = to.clone();
                }
            }
        }
        folded.push(node.op_type);
    }
    (!folded.is_empty()).then(|| {
        format!(
            "{} pass-through node{} folded into the nodes before ({})",
            folded.len(),
            if folded.len() == 1 { "" } else { "s" },
            folded.join(", ")
        )
    })
}

/// What `node` passes on unchanged, if it does.
fn pass_through_input<'a>(node: &'a pb::NodeProto, ones: &HashSet<String>) -> Option<&'a String> {
    if !node.domain.is_empty() || node.output.len() != 1 {
        return None;
    }
    match (node.op_type.as_str(), &node.input[..]) {
        ("Identity", [x]) => Some(x),
        ("Mul", [x, one]) if ones.contains(one) => Some(x),
        ("Mul", [one, x]) if ones.contains(one) => Some(x),
        _ => None,
    }
}

/// A float scalar or one-element tensor holding 1 (broadcasting it changes no shape).
fn is_all_ones(t: &pb::TensorProto) -> bool {
    if t.data_type != pb::tensor_proto::DataType::Float as i32
        || t.dims.iter().product::<i64>() != 1
    {
        return false;
    }
    let value = match (&t.float_data[..], &t.raw_data[..]) {
        ([v], _) => *v,
        ([], raw) if raw.len() == 4 => f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]),
        _ => return false,
    };
    value == 1.0
}
