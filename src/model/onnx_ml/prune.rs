//! Keeps only what computes the class scores. Exporters write a label output beside the
//! probabilities, often through operators tract lacks (`LabelEncoder`, `ArrayFeatureExtractor`
//! over the class names, string `Cast`s); mialab never reads it, so it and every node that
//! only it needs are dropped before tract sees the graph.

use std::collections::HashSet;
use tract_onnx::pb;

/// Drops every graph output but `output` and every node that does not lead to it; returns
/// what went, or `None` when nothing did.
pub(in crate::model) fn keep_only(proto: &mut pb::ModelProto, output: &str) -> Option<String> {
    let graph = proto.graph.as_mut()?;
    let mut needed: HashSet<String> = HashSet::from([output.to_string()]);
    let mut keep = vec![false; graph.node.len()];
    // Nodes are topologically sorted (ONNX requires it): one backward pass finds them all.
    for (i, node) in graph.node.iter().enumerate().rev() {
        if node.output.iter().any(|o| needed.contains(o)) {
            keep[i] = true;
            needed.extend(node.input.iter().filter(|i| !i.is_empty()).cloned());
        }
    }
    let dropped_outputs: Vec<String> = graph
        .output
        .iter()
        .filter(|o| o.name != output)
        .map(|o| o.name.clone())
        .collect();
    let mut dropped_ops: Vec<String> = Vec::new();
    let mut kept = keep.iter();
    graph.node.retain(|node| {
        let k = *kept.next().expect("one flag per node");
        if !k && !dropped_ops.contains(&node.op_type) {
            dropped_ops.push(node.op_type.clone());
        }
        k
    });
    graph.output.retain(|o| o.name == output);
    if dropped_outputs.is_empty() && dropped_ops.is_empty() {
        return None;
    }
    let plural = dropped_outputs.len() != 1;
    let outputs = format!(
        "unused output{} {}",
        if plural { "s" } else { "" },
        dropped_outputs.join(", ")
    );
    Some(match dropped_ops.is_empty() {
        true => format!("{outputs} not read"),
        false => format!(
            "{outputs} dropped with the nodes only {} needed ({})",
            if plural { "they" } else { "it" },
            dropped_ops.join(", ")
        ),
    })
}
