//! Errors raised while loading or running a model.

use thiserror::Error;

/// A problem with the target model.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("this is not a valid ONNX model ({0}); export the model to a single .onnx file")]
    Parse(String),
    #[error("the ONNX file has no graph; is it an ONNX model?")]
    NoGraph,
    #[error("the model has {count} inputs ({names}); mialab audits models with exactly one input")]
    InputCount { count: usize, names: String },
    #[error("input '{input}' is of type {dtype}; mialab feeds records as float32")]
    InputType { input: String, dtype: String },
    #[error(
        "input '{input}' has shape {shape}; mialab needs [batch, features] or [batch, C, H, W] with every dimension but the batch fixed"
    )]
    InputShape { input: String, shape: String },
    #[error(
        "the model has no floating-point output to read class scores from (outputs: {available})"
    )]
    NoFloatOutput { available: String },
    #[error("the model has no output named '{name}' (outputs: {available})")]
    NoSuchOutput { name: String, available: String },
    #[error("tract could not prepare the model for inference: {0}")]
    Prepare(String),
    #[error(
        "the model uses the ONNX operator {operator}, which the engine (tract) does not implement; {hint} ({detail})"
    )]
    UnsupportedOperator {
        operator: String,
        hint: &'static str,
        detail: String,
    },
    #[error("the GPU backend cannot run this model: {0}")]
    Gpu(String),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error(
        "output '{output}' has shape {shape} for {rows} records; expected [records] or [records, classes]"
    )]
    OutputShape {
        output: String,
        shape: String,
        rows: usize,
    },
    #[error(
        "the model's input {input} expects records of shape {expected}, but {what} have shape {found}"
    )]
    ShapeMismatch {
        input: String,
        expected: String,
        found: String,
        what: String,
    },
    #[error(
        "the model returned {value} for record {record}, class {class}; outputs must be finite"
    )]
    NonFiniteOutput {
        record: usize,
        class: usize,
        value: f32,
    },
    #[error("outputs were declared probabilities but record {record} has {problem}")]
    NotProbabilities { record: usize, problem: String },
    #[error("the model has {0} output columns; a classifier needs at least 1")]
    NoClasses(usize),
}
