//! What an ONNX file declares: inputs, outputs, operators, parameter count. Read from the
//! protobuf itself so that `mialab inspect` shows the file as exported, before tract rewrites it.

use super::{ModelError, ONNX_FLOAT};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use tract_onnx::pb;

/// One dimension of a declared shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Dim {
    Fixed(usize),
    Symbol(String),
    Unknown,
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbol(s) => write!(f, "{s}"),
            Dim::Unknown => write!(f, "?"),
        }
    }
}

/// A named tensor with its element type and declared shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: String,
    #[serde(skip)]
    pub(crate) elem_type: i32,
    pub shape: Vec<Dim>,
}

impl TensorInfo {
    fn from_value_info(v: &pb::ValueInfoProto) -> TensorInfo {
        let (elem_type, shape) = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(pb::type_proto::Value::TensorType(t)) => {
                let dims = t
                    .shape
                    .as_ref()
                    .map(|s| s.dim.iter().map(dim_of).collect())
                    .unwrap_or_default();
                (t.elem_type, dims)
            }
            _ => (0, Vec::new()),
        };
        let dtype = pb::tensor_proto::DataType::try_from(elem_type)
            .map(|d| d.as_str_name().to_lowercase())
            .unwrap_or_else(|_| "unknown".to_string());
        TensorInfo {
            name: v.name.clone(),
            dtype,
            elem_type,
            shape,
        }
    }

    pub fn is_float(&self) -> bool {
        use pb::tensor_proto::DataType as D;
        [D::Float, D::Double, D::Float16, D::Bfloat16]
            .iter()
            .any(|d| *d as i32 == self.elem_type)
    }
}

impl fmt::Display for TensorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self.shape.iter().map(Dim::to_string).collect();
        write!(f, "'{}' {}[{}]", self.name, self.dtype, dims.join(", "))
    }
}

fn dim_of(d: &pb::tensor_shape_proto::Dimension) -> Dim {
    use pb::tensor_shape_proto::dimension::Value;
    match &d.value {
        Some(Value::DimValue(n)) if *n > 0 => Dim::Fixed(*n as usize),
        Some(Value::DimParam(s)) if !s.is_empty() => Dim::Symbol(s.clone()),
        _ => Dim::Unknown,
    }
}

/// A summary of a model file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    pub input: TensorInfo,
    pub outputs: Vec<TensorInfo>,
    /// The output mialab reads class scores from.
    pub used_output: String,
    /// Width of that output (classes, or 1 for a single sigmoid/logit).
    pub output_width: usize,
    /// Shape of one record: the input shape without its batch dimension.
    pub record_shape: Vec<usize>,
    /// ONNX operator types and how often each occurs.
    pub operators: BTreeMap<String, usize>,
    /// Number of values in the model's initialisers (its weights) and in the numeric
    /// attributes of its ONNX-ML operators (coefficients, tree thresholds and leaf values).
    pub parameters: u64,
    /// What mialab rewrote before the engine read the graph (ONNX-ML operators tract lacks).
    pub rewrites: Vec<String>,
    /// Whether a missing feature value (NaN) is something the model handles: it imputes
    /// (an ONNX-ML Imputer) or is a tree ensemble, whose nodes say where missing values go.
    pub imputes_missing: bool,
    pub opset: Option<i64>,
    pub producer: String,
}

impl ModelInfo {
    pub(super) fn from_proto(proto: &pb::ModelProto) -> Result<ModelInfo, ModelError> {
        let graph = proto.graph.as_ref().ok_or(ModelError::NoGraph)?;
        let initialisers: std::collections::HashSet<&str> =
            graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<TensorInfo> = graph
            .input
            .iter()
            .filter(|i| !initialisers.contains(i.name.as_str()))
            .map(TensorInfo::from_value_info)
            .collect();
        let [input] = &inputs[..] else {
            return Err(ModelError::InputCount {
                count: inputs.len(),
                names: inputs
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        if input.elem_type != ONNX_FLOAT {
            return Err(ModelError::InputType {
                input: input.name.clone(),
                dtype: input.dtype.clone(),
            });
        }
        check_outputs_are_produced(graph)?;
        let record_shape = record_shape(input)?;
        let mut operators = BTreeMap::new();
        for node in &graph.node {
            *operators.entry(node.op_type.clone()).or_insert(0) += 1;
        }
        let weights: u64 = graph
            .initializer
            .iter()
            .map(|t| t.dims.iter().map(|&d| d.max(0) as u64).product::<u64>())
            .sum();
        let attributes: u64 = graph
            .node
            .iter()
            .filter(|n| n.domain == "ai.onnx.ml")
            .flat_map(|n| &n.attribute)
            .map(|a| a.floats.len() as u64)
            .sum();
        let parameters = weights + attributes;
        Ok(ModelInfo {
            input: input.clone(),
            outputs: graph
                .output
                .iter()
                .map(TensorInfo::from_value_info)
                .collect(),
            used_output: String::new(),
            output_width: 0,
            record_shape,
            operators,
            parameters,
            rewrites: Vec::new(),
            imputes_missing: false,
            opset: proto
                .opset_import
                .iter()
                .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
                .map(|o| o.version),
            producer: format!("{} {}", proto.producer_name, proto.producer_version)
                .trim()
                .to_string(),
        })
    }
}

fn record_shape(input: &TensorInfo) -> Result<Vec<usize>, ModelError> {
    let bad = || ModelError::InputShape {
        input: input.name.clone(),
        shape: format!(
            "[{}]",
            input
                .shape
                .iter()
                .map(Dim::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if input.shape.len() < 2 {
        return Err(bad());
    }
    input.shape[1..]
        .iter()
        .map(|d| match d {
            Dim::Fixed(n) => Ok(*n),
            _ => Err(bad()),
        })
        .collect()
}

/// Every graph output must be a graph input, an initialiser or some node's output; tract
/// assumes so (a corrupted file that breaks this would stop it with a panic, not an error).
fn check_outputs_are_produced(graph: &pb::GraphProto) -> Result<(), ModelError> {
    let defined: std::collections::HashSet<&str> = graph
        .input
        .iter()
        .map(|i| i.name.as_str())
        .chain(graph.initializer.iter().map(|t| t.name.as_str()))
        .chain(
            graph
                .node
                .iter()
                .flat_map(|n| n.output.iter().map(String::as_str)),
        )
        .collect();
    match graph
        .output
        .iter()
        .find(|o| !defined.contains(o.name.as_str()))
    {
        Some(o) => Err(ModelError::Parse(format!(
            "output '{}' is not produced by any node",
            o.name
        ))),
        None => Ok(()),
    }
}
