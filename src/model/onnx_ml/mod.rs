//! ONNX-ML operators that the exporters write by default (skl2onnx, onnxmltools) and tract
//! does not implement, rewritten in the protobuf before tract reads it, so that a model loads
//! exactly as the exporter's tutorial wrote it:
//!
//! 1. [`remove_zipmaps`]: `ZipMap` turns the probability tensor into a list of `{class: p}`
//!    maps (skl2onnx's default second output); the graph's output becomes its input.
//! 2. [`fold_pass_through`]: `Identity` nodes (and a `Mul` by 1) that only rename a tensor go.
//! 3. [`keep_only`]: once the class-score output is chosen, every node that does not lead to
//!    it goes (the label output's `ArgMax`, `ArrayFeatureExtractor`, `LabelEncoder`, `Cast`).
//! 4. [`rewrite_operators`]: what remains on the way to the scores is replaced by standard
//!    operators with the same arithmetic: `Scaler` and `Imputer` ([`arithmetic`]),
//!    `OneHotEncoder`, `ArrayFeatureExtractor` and `Binarizer` ([`encoders`]); a
//!    `LinearClassifier` fitted on string classes gets their indices instead, since tract
//!    cannot type a string label output (which is never read).
//!
//! Each step reports what it did in words, so `mialab inspect` can say what it changed. An
//! ONNX-ML operator that is still on the path is named by [`unsupported_hint`] with the
//! exporter option that avoids it.

mod arithmetic;
mod encoders;
mod prune;
mod simplify;
mod zipmap;

pub(super) use prune::keep_only;
pub(super) use simplify::fold_pass_through;
pub(super) use zipmap::remove_zipmaps;

use tract_onnx::pb;

const ML_DOMAIN: &str = "ai.onnx.ml";

/// The opset of the default domain written where a model imports none (an ONNX-ML-only graph).
const FALLBACK_OPSET: i64 = 13;

/// Rewrites the ONNX-ML operators tract lacks into standard ones; returns what it did, one
/// line per node.
pub(super) fn rewrite_operators(proto: &mut pb::ModelProto) -> Vec<String> {
    let opset = default_opset(proto);
    let Some(graph) = proto.graph.as_mut() else {
        return Vec::new();
    };
    let mut done = Vec::new();
    let nodes = std::mem::take(&mut graph.node);
    let mut added = Graph {
        nodes: Vec::new(),
        initializers: Vec::new(),
        opset: opset.unwrap_or(FALLBACK_OPSET),
    };
    for node in nodes {
        let rewritten = match (node.domain.as_str(), node.op_type.as_str()) {
            (ML_DOMAIN, "Scaler") => arithmetic::scaler(&mut added, &node),
            (ML_DOMAIN, "Imputer") => arithmetic::imputer(&mut added, &node),
            (ML_DOMAIN, "OneHotEncoder") => encoders::one_hot(&mut added, &node),
            (ML_DOMAIN, "ArrayFeatureExtractor") => encoders::feature_extractor(&mut added, &node),
            (ML_DOMAIN, "Binarizer") => encoders::binarizer(&mut added, &node),
            (ML_DOMAIN, "LinearClassifier") => {
                let mut node = node;
                let line = encoders::index_class_labels(&mut node);
                added.nodes.push(node);
                done.extend(line);
                continue;
            }
            _ => None,
        };
        match rewritten {
            Some(line) => done.push(line),
            None => added.nodes.push(node),
        }
    }
    graph.node = added.nodes;
    graph.initializer.extend(added.initializers);
    if !done.is_empty() && opset.is_none() {
        proto.opset_import.push(pb::OperatorSetIdProto {
            domain: String::new(),
            version: FALLBACK_OPSET,
        });
    }
    done
}

/// What an exporter can be asked to do instead of writing `operator`, for the message of a
/// model that still holds it on the path to its class scores.
pub(super) fn unsupported_hint(operator: &str) -> &'static str {
    match operator {
        "LabelEncoder" => {
            "skl2onnx writes it when a model is fitted on string classes or a pipeline encodes strings; fit on integer class indices (encode the labels before fitting) and feed numbers"
        }
        "DictVectorizer" | "FeatureVectorizer" | "CategoryMapper" => {
            "feed the model one float tensor: export with a single FloatTensorType input and encode categories as numbers before the model"
        }
        "SVMClassifier" | "SVMRegressor" => {
            "tract has no support-vector machines; run the model where it runs and audit its outputs with `mialab audit --outputs` (docs/own-outputs.md)"
        }
        "TreeEnsemble" => {
            "export with ai.onnx.ml opset 3 (target_opset={'': 17, 'ai.onnx.ml': 3}), which writes TreeEnsembleClassifier"
        }
        _ => {
            "export with standard operators (Gemm, MatMul, Conv, Relu, Softmax, ...), or run the model where it runs and audit its outputs with `mialab audit --outputs` (docs/own-outputs.md)"
        }
    }
}

/// The version of the default operator set the model imports.
fn default_opset(proto: &pb::ModelProto) -> Option<i64> {
    proto
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
}

/// Nodes and constants a rewrite adds, and the opset they are written for.
struct Graph {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    opset: i64,
}

impl Graph {
    /// Adds a standard node `op_type(inputs) -> output`.
    fn node(&mut self, op_type: &str, inputs: Vec<String>, output: String) -> &mut pb::NodeProto {
        self.nodes.push(pb::NodeProto {
            input: inputs,
            name: format!("{output}__{}", op_type.to_lowercase()),
            output: vec![output],
            op_type: op_type.to_string(),
            ..Default::default()
        });
        self.nodes.last_mut().expect("just pushed")
    }

    fn floats(&mut self, name: String, values: &[f32]) -> String {
        self.initializers.push(pb::TensorProto {
            dims: vec![values.len() as i64],
            data_type: pb::tensor_proto::DataType::Float as i32,
            float_data: values.to_vec(),
            name: name.clone(),
            ..Default::default()
        });
        name
    }

    fn ints(&mut self, name: String, values: &[i64]) -> String {
        self.initializers.push(pb::TensorProto {
            dims: vec![values.len() as i64],
            data_type: pb::tensor_proto::DataType::Int64 as i32,
            int64_data: values.to_vec(),
            name: name.clone(),
            ..Default::default()
        });
        name
    }

    /// `Cast(input) -> output` to the ONNX element type `to`.
    fn cast(&mut self, input: String, output: String, to: pb::tensor_proto::DataType) {
        self.node("Cast", vec![input], output)
            .attribute
            .push(int_attribute("to", to as i64));
    }
}

fn attribute<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn int_attribute(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.to_string(),
        i: value,
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        ..Default::default()
    }
}

/// The node's single input and output, or why it was left alone.
fn input_output(node: &pb::NodeProto) -> Option<(String, String)> {
    Some((node.input.first()?.clone(), node.output.first()?.clone()))
}

#[cfg(test)]
mod tests;
