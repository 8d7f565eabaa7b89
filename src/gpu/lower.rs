//! Lowering an ONNX graph to a [`Plan`] of GPU layers. Read from the ONNX protobuf as
//! exported, so that what is lowered can be named by its ONNX operator when it cannot be.
//!
//! Lowered: a single chain of Gemm / MatMul (constant weights), Add / Mul / Sub with a
//! per-feature or per-channel constant, Relu / Sigmoid / Tanh / LeakyRelu, Softmax /
//! LogSoftmax over the classes, 2-D Conv (group 1, no dilation), BatchNormalization
//! (inference; folded into the convolution before it, else a channel affine), MaxPool /
//! AveragePool (2-D, floor mode), Flatten / Reshape to `[N, -1]`, Identity, Dropout, a Cast
//! to float32.
//! Anything else keeps the whole model on tract, and the error says which operator.

use super::plan::{Activation, Layer, Plan, PoolKind, Window};
use std::collections::HashMap;
use thiserror::Error;
use tract_onnx::pb;

/// Why a graph stays on tract.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum LoweringError {
    #[error("the GPU path has no kernel for the ONNX operator {op}{detail}")]
    Unsupported { op: String, detail: String },
    #[error(
        "the GPU path runs single-chain graphs; node '{node}' ({op}) does not read the previous node's output"
    )]
    NotAChain { node: String, op: String },
    #[error("the GPU path cannot read tensor '{name}': {reason}")]
    Tensor { name: String, reason: String },
    #[error("the graph never produces the output '{0}'")]
    OutputNotReached(String),
}

fn unsupported(op: &str, detail: impl Into<String>) -> LoweringError {
    let detail = detail.into();
    LoweringError::Unsupported {
        op: op.to_string(),
        detail: if detail.is_empty() {
            detail
        } else {
            format!(" ({detail})")
        },
    }
}

/// A constant tensor: its shape and values as f32 (integer tensors converted).
#[derive(Debug, Clone)]
struct Constant {
    dims: Vec<usize>,
    values: Vec<f32>,
}

fn decode(t: &pb::TensorProto) -> Result<Constant, LoweringError> {
    use pb::tensor_proto::DataType as D;
    let bad = |reason: &str| LoweringError::Tensor {
        name: t.name.clone(),
        reason: reason.to_string(),
    };
    let dims: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad("negative dimension")))
        .collect::<Result<_, _>>()?;
    let count: usize = dims.iter().product();
    let values: Vec<f32> = match D::try_from(t.data_type) {
        Ok(D::Float) if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Ok(D::Float) => t.float_data.clone(),
        Ok(D::Int64) if !t.raw_data.is_empty() => t
            .raw_data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8-byte chunk")) as f32)
            .collect(),
        Ok(D::Int64) => t.int64_data.iter().map(|&v| v as f32).collect(),
        _ => return Err(bad("only float32 and int64 constants are read")),
    };
    if values.len() != count {
        return Err(bad("its data does not match its shape"));
    }
    Ok(Constant { dims, values })
}

fn attribute<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn int_attr(node: &pb::NodeProto, name: &str, default: i64) -> i64 {
    attribute(node, name).map_or(default, |a| a.i)
}

fn float_attr(node: &pb::NodeProto, name: &str, default: f32) -> f32 {
    attribute(node, name).map_or(default, |a| a.f)
}

fn ints_attr(node: &pb::NodeProto, name: &str) -> Option<Vec<i64>> {
    attribute(node, name).map(|a| a.ints.clone())
}

/// The running tensor's per-record shape and the layers so far.
struct Lowering {
    /// Every constant, decoded or why it cannot be: a graph may hold constants of other
    /// types (a classifier's string class names) that the lowered chain never reads.
    constants: HashMap<String, Result<Constant, LoweringError>>,
    shape: Vec<usize>,
    layers: Vec<Layer>,
    /// What each layer was lowered from, and the Dropouts, which make no layer.
    origins: Vec<LayerOrigin>,
    dropouts: Vec<DropoutSite>,
}

/// The ONNX operator a layer was lowered from, with what training needs of it.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerOrigin {
    pub op: String,
    /// A BatchNormalization's epsilon.
    pub epsilon: Option<f32>,
}

/// A Dropout of the graph: before the layer at `before`, zeroing `ratio` of its inputs when
/// training (inference reads it as the identity).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DropoutSite {
    pub before: usize,
    pub ratio: f32,
}

/// A graph lowered for training: batch normalisation kept as its own layers
/// ([`LayerOrigin`] says which affine layers are one), Dropouts kept apart.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainableGraph {
    pub plan: Plan,
    /// One per layer of `plan`.
    pub origins: Vec<LayerOrigin>,
    pub dropouts: Vec<DropoutSite>,
}

impl TrainableGraph {
    /// The inference plan: each batch normalisation that follows a convolution folded into
    /// its weights and bias (`w·scale`, `b·scale + shift`), the others kept as affine layers.
    pub fn folded(&self) -> Plan {
        let mut layers: Vec<Layer> = Vec::with_capacity(self.plan.layers.len());
        for (layer, origin) in self.plan.layers.iter().zip(&self.origins) {
            if let (
                Layer::ChannelAffine { scale, shift, .. },
                Some(Layer::Conv2d {
                    channels_out,
                    weight,
                    bias,
                    ..
                }),
            ) = (layer, layers.last_mut())
                && origin.op == "BatchNormalization"
            {
                let per_out = weight.len() / *channels_out;
                for c in 0..*channels_out {
                    weight[c * per_out..(c + 1) * per_out]
                        .iter_mut()
                        .for_each(|w| *w *= scale[c]);
                    bias[c] = bias[c] * scale[c] + shift[c];
                }
                continue;
            }
            layers.push(layer.clone());
        }
        Plan {
            input_len: self.plan.input_len,
            layers,
        }
    }
}

/// One node being lowered onto the state so far.
struct NodeLowering<'s, 'n> {
    state: &'s mut Lowering,
    node: &'n pb::NodeProto,
}

/// Lowers `graph` from its input (records of `record_shape`) to `output`, for inference.
pub fn lower(
    graph: &pb::GraphProto,
    record_shape: &[usize],
    output: &str,
) -> Result<Plan, LoweringError> {
    lower_for_training(graph, record_shape, output).map(|g| g.folded())
}

/// Lowers `graph` keeping every BatchNormalization as a layer of its own and recording where
/// each layer and Dropout came from: the architecture a model is retrained with, from which
/// the inference plan is [`TrainableGraph::folded`].
pub fn lower_for_training(
    graph: &pb::GraphProto,
    record_shape: &[usize],
    output: &str,
) -> Result<TrainableGraph, LoweringError> {
    let mut constants = HashMap::new();
    for t in &graph.initializer {
        constants.insert(t.name.clone(), decode(t));
    }
    let initialisers: std::collections::HashSet<&str> =
        graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let mut current = graph
        .input
        .iter()
        .find(|i| !initialisers.contains(i.name.as_str()))
        .map(|i| i.name.clone())
        .unwrap_or_default();
    let input_len = record_shape.iter().product();
    let mut state = Lowering {
        constants,
        shape: record_shape.to_vec(),
        layers: Vec::new(),
        origins: Vec::new(),
        dropouts: Vec::new(),
    };
    for node in &graph.node {
        if current == output {
            break;
        }
        if node.op_type == "Constant" {
            let value = attribute(node, "value")
                .and_then(|a| a.t.as_ref())
                .ok_or_else(|| unsupported("Constant", "only tensor values"))?;
            if let Some(name) = node.output.first() {
                state.constants.insert(name.clone(), decode(value));
            }
            continue;
        }
        let swapped;
        let node = if node.input.first() != Some(&current) {
            // Exporters write a bias or scale first as often as second (PyTorch:
            // `Add(bias, x)`); both operations commute.
            let commutes = matches!(node.op_type.as_str(), "Add" | "Mul");
            if !(commutes && node.input.len() == 2 && node.input[1] == current) {
                return Err(LoweringError::NotAChain {
                    node: node.name.clone(),
                    op: node.op_type.clone(),
                });
            }
            swapped = pb::NodeProto {
                input: vec![node.input[1].clone(), node.input[0].clone()],
                ..node.clone()
            };
            &swapped
        } else {
            node
        };
        let before = state.layers.len();
        NodeLowering {
            state: &mut state,
            node,
        }
        .lower_node()?;
        let epsilon =
            (node.op_type == "BatchNormalization").then(|| float_attr(node, "epsilon", 1e-5));
        for _ in before..state.layers.len() {
            state.origins.push(LayerOrigin {
                op: node.op_type.clone(),
                epsilon,
            });
        }
        current = node.output.first().cloned().unwrap_or_default();
    }
    if current != output {
        return Err(LoweringError::OutputNotReached(output.to_string()));
    }
    Ok(TrainableGraph {
        plan: Plan {
            input_len,
            layers: state.layers,
        },
        origins: state.origins,
        dropouts: state.dropouts,
    })
}

impl NodeLowering<'_, '_> {
    fn op(&self) -> &str {
        &self.node.op_type
    }

    fn constant(&self, index: usize) -> Result<&Constant, LoweringError> {
        let name = self.node.input.get(index).map(String::as_str).unwrap_or("");
        match self.state.constants.get(name) {
            Some(Ok(constant)) => Ok(constant),
            Some(Err(e)) => Err(e.clone()),
            None => Err(unsupported(
                self.op(),
                format!("input {index} ('{name}') is not a constant"),
            )),
        }
    }

    fn optional_constant(&self, index: usize) -> Result<Option<&Constant>, LoweringError> {
        match self.node.input.get(index) {
            Some(name) if !name.is_empty() => self.constant(index).map(Some),
            _ => Ok(None),
        }
    }

    fn len(&self) -> usize {
        self.state.shape.iter().product()
    }

    fn lower_node(&mut self) -> Result<(), LoweringError> {
        let op = self.op().to_string();
        match op.as_str() {
            "Identity" => Ok(()),
            // Exporters cast float inputs to float (skl2onnx before a Scaler): the identity.
            "Cast" if int_attr(self.node, "to", 0) == pb::tensor_proto::DataType::Float as i64 => {
                Ok(())
            }
            "Dropout" => {
                let ratio = match self.optional_constant(1)? {
                    Some(c) => c.values.first().copied().unwrap_or(0.5),
                    None => float_attr(self.node, "ratio", 0.5),
                };
                let before = self.state.layers.len();
                self.state.dropouts.push(DropoutSite { before, ratio });
                Ok(())
            }
            "Flatten" => {
                if int_attr(self.node, "axis", 1) != 1 {
                    return Err(unsupported(&op, "axis other than 1"));
                }
                self.state.shape = vec![self.len()];
                Ok(())
            }
            "Reshape" => {
                let target = self.constant(1)?;
                let flat = self.len() as f32;
                let keeps_records = match target.values.as_slice() {
                    [n, rest] => (*n == -1.0 || *n == 0.0) && (*rest == -1.0 || *rest == flat),
                    _ => false,
                };
                if !keeps_records {
                    return Err(unsupported(&op, "only a reshape to [N, -1]"));
                }
                self.state.shape = vec![self.len()];
                Ok(())
            }
            "Gemm" => self.gemm(),
            "MatMul" => self.matmul(),
            "Add" | "Sub" | "Mul" | "Div" => self.affine(&op),
            "Relu" => self.activation(Activation::Relu),
            "Sigmoid" => self.activation(Activation::Sigmoid),
            "Tanh" => self.activation(Activation::Tanh),
            "LeakyRelu" => {
                let alpha = float_attr(self.node, "alpha", 0.01);
                self.activation(Activation::LeakyRelu(alpha))
            }
            "Softmax" | "LogSoftmax" => {
                let axis = int_attr(self.node, "axis", -1);
                if self.state.shape.len() != 1 || !(axis == -1 || axis == 1) {
                    return Err(unsupported(&op, "only over the classes of [N, C]"));
                }
                self.state.layers.push(Layer::Softmax {
                    classes: self.state.shape[0],
                    log: op == "LogSoftmax",
                });
                Ok(())
            }
            "Conv" => self.conv(),
            "BatchNormalization" => self.batch_norm(),
            "MaxPool" => self.pool(PoolKind::Max),
            "AveragePool" => {
                let count_include_pad = int_attr(self.node, "count_include_pad", 0) != 0;
                self.pool(PoolKind::Average { count_include_pad })
            }
            _ => Err(unsupported(&op, "")),
        }
    }

    fn dense(&mut self, inputs: usize, weight: Vec<f32>, bias: Vec<f32>) {
        let outputs = bias.len();
        self.state.layers.push(Layer::Dense {
            inputs,
            outputs,
            weight,
            bias,
        });
        self.state.shape = vec![outputs];
    }

    fn gemm(&mut self) -> Result<(), LoweringError> {
        let op = "Gemm";
        if int_attr(self.node, "transA", 0) != 0 || self.state.shape.len() != 1 {
            return Err(unsupported(op, "only records × constant weights"));
        }
        let alpha = float_attr(self.node, "alpha", 1.0);
        let beta = float_attr(self.node, "beta", 1.0);
        let b = self.constant(1)?.clone();
        let k = self.state.shape[0];
        let [r, c] = b.dims[..] else {
            return Err(unsupported(op, "weights must be 2-D"));
        };
        let trans_b = int_attr(self.node, "transB", 0) != 0;
        let (inner, outputs) = if trans_b { (c, r) } else { (r, c) };
        if inner != k {
            return Err(unsupported(op, "weights do not fit the input"));
        }
        let mut weight = vec![0.0; k * outputs];
        for i in 0..k {
            for j in 0..outputs {
                let v = if trans_b {
                    b.values[j * k + i]
                } else {
                    b.values[i * outputs + j]
                };
                weight[i * outputs + j] = alpha * v;
            }
        }
        let bias = match self.optional_constant(2)? {
            None => vec![0.0; outputs],
            Some(c) => broadcast(&c.values, outputs)
                .ok_or_else(|| unsupported(op, "bias must be one value or one per output"))?
                .into_iter()
                .map(|v| beta * v)
                .collect(),
        };
        self.dense(k, weight, bias);
        Ok(())
    }

    fn matmul(&mut self) -> Result<(), LoweringError> {
        let b = self.constant(1)?.clone();
        let [k, outputs] = b.dims[..] else {
            return Err(unsupported("MatMul", "weights must be 2-D"));
        };
        if self.state.shape != [k] {
            return Err(unsupported("MatMul", "weights do not fit the input"));
        }
        self.dense(k, b.values, vec![0.0; outputs]);
        Ok(())
    }

    /// Add / Sub / Mul by a constant that is one value, one per feature, or one per channel.
    fn affine(&mut self, op: &str) -> Result<(), LoweringError> {
        let c = self.constant(1)?.clone();
        let (channels, inner) = match self.state.shape[..] {
            [f] => (f, 1),
            [ch, h, w] => (ch, h * w),
            _ => return Err(unsupported(op, "records must be [F] or [C, H, W]")),
        };
        let per_channel = match c.values.len() {
            1 => vec![c.values[0]; channels],
            n if n == channels && c.dims.iter().rev().skip_while(|&&d| d == 1).count() <= 1 => {
                c.values
            }
            n if n == channels && inner > 1 && trailing_ones(&c.dims) >= 2 => c.values,
            // One value per feature with leading ones (`[1, F]`, as skl2onnx writes a bias).
            n if n == channels
                && inner == 1
                && c.dims.last() == Some(&channels)
                && c.dims.iter().rev().skip(1).all(|&d| d == 1) =>
            {
                c.values
            }
            _ => {
                return Err(unsupported(
                    op,
                    "only a scalar, per-feature or per-channel constant",
                ));
            }
        };
        let (scale, shift) = match op {
            "Add" => (vec![1.0; channels], per_channel),
            "Sub" => (
                vec![1.0; channels],
                per_channel.iter().map(|v| -v).collect(),
            ),
            "Div" => (
                per_channel.iter().map(|v| 1.0 / v).collect(),
                vec![0.0; channels],
            ),
            _ => (per_channel, vec![0.0; channels]),
        };
        self.push_affine(channels, inner, scale, shift);
        Ok(())
    }

    fn push_affine(&mut self, channels: usize, inner: usize, scale: Vec<f32>, shift: Vec<f32>) {
        self.state.layers.push(Layer::ChannelAffine {
            channels,
            inner,
            scale,
            shift,
        });
    }

    fn activation(&mut self, kind: Activation) -> Result<(), LoweringError> {
        let len = self.len();
        self.state.layers.push(Layer::Activation { kind, len });
        Ok(())
    }

    fn window(&self, kernel: (usize, usize)) -> Result<Window, LoweringError> {
        let op = self.op();
        let [channels_in, in_h, in_w] = self.state.shape[..] else {
            return Err(unsupported(op, "records must be [C, H, W]"));
        };
        if ints_attr(self.node, "dilations").is_some_and(|d| d.iter().any(|&v| v != 1)) {
            return Err(unsupported(op, "dilation"));
        }
        match attribute(self.node, "auto_pad").map(|a| String::from_utf8_lossy(&a.s).to_string()) {
            None => {}
            Some(p) if p == "NOTSET" || p == "VALID" => {}
            Some(p) => return Err(unsupported(op, format!("auto_pad {p}"))),
        }
        if int_attr(self.node, "ceil_mode", 0) != 0 {
            return Err(unsupported(op, "ceil_mode"));
        }
        let strides = ints_attr(self.node, "strides").unwrap_or_else(|| vec![1, 1]);
        let pads = ints_attr(self.node, "pads").unwrap_or_else(|| vec![0, 0, 0, 0]);
        let (&[sh, sw], &[pt, pl, pb, pr]) = (&strides[..], &pads[..]) else {
            return Err(unsupported(op, "strides and pads must be 2-D"));
        };
        let to = |v: i64| usize::try_from(v).map_err(|_| unsupported(op, "negative stride or pad"));
        let (sh, sw, pt, pl, pb, pr) = (to(sh)?, to(sw)?, to(pt)?, to(pl)?, to(pb)?, to(pr)?);
        if sh == 0 || sw == 0 || in_h + pt + pb < kernel.0 || in_w + pl + pr < kernel.1 {
            return Err(unsupported(op, "window larger than the padded input"));
        }
        Ok(Window {
            channels_in,
            in_h,
            in_w,
            kernel,
            stride: (sh, sw),
            pad: (pt, pl),
            out_h: (in_h + pt + pb - kernel.0) / sh + 1,
            out_w: (in_w + pl + pr - kernel.1) / sw + 1,
        })
    }

    fn conv(&mut self) -> Result<(), LoweringError> {
        if int_attr(self.node, "group", 1) != 1 {
            return Err(unsupported("Conv", "grouped convolution"));
        }
        let w = self.constant(1)?.clone();
        let [channels_out, channels_in, kh, kw] = w.dims[..] else {
            return Err(unsupported("Conv", "only 2-D convolutions"));
        };
        let window = self.window((kh, kw))?;
        if window.channels_in != channels_in {
            return Err(unsupported("Conv", "weights do not fit the input channels"));
        }
        let bias = match self.optional_constant(2)? {
            Some(b) if b.values.len() == channels_out => b.values.clone(),
            Some(_) => return Err(unsupported("Conv", "bias must have one value per channel")),
            None => vec![0.0; channels_out],
        };
        self.state.layers.push(Layer::Conv2d {
            window,
            channels_out,
            weight: w.values,
            bias,
        });
        self.state.shape = vec![channels_out, window.out_h, window.out_w];
        Ok(())
    }

    fn batch_norm(&mut self) -> Result<(), LoweringError> {
        let eps = float_attr(self.node, "epsilon", 1e-5);
        let [gamma, beta, mean, var] =
            [1, 2, 3, 4].map(|i| self.constant(i).map(|c| c.values.clone()));
        let (gamma, beta, mean, var) = (gamma?, beta?, mean?, var?);
        let channels = self.state.shape[0];
        if [&gamma, &beta, &mean, &var]
            .iter()
            .any(|v| v.len() != channels)
        {
            return Err(unsupported("BatchNormalization", "one value per channel"));
        }
        let scale: Vec<f32> = (0..channels)
            .map(|c| gamma[c] / (var[c] + eps).sqrt())
            .collect();
        let shift: Vec<f32> = (0..channels)
            .map(|c| beta[c] - mean[c] * scale[c])
            .collect();
        let inner = self.len() / channels.max(1);
        self.push_affine(channels, inner, scale, shift);
        Ok(())
    }

    fn pool(&mut self, kind: PoolKind) -> Result<(), LoweringError> {
        let op = self.op().to_string();
        let kernel = ints_attr(self.node, "kernel_shape").unwrap_or_default();
        let &[kh, kw] = &kernel[..] else {
            return Err(unsupported(&op, "only 2-D pooling"));
        };
        let to = |v: i64| usize::try_from(v).map_err(|_| unsupported(&op, "negative kernel"));
        let window = self.window((to(kh)?, to(kw)?))?;
        self.state.layers.push(Layer::Pool2d { window, kind });
        self.state.shape = vec![window.channels_in, window.out_h, window.out_w];
        Ok(())
    }
}

/// `values` as `n` values: itself, or one value repeated.
fn broadcast(values: &[f32], n: usize) -> Option<Vec<f32>> {
    match values.len() {
        1 => Some(vec![values[0]; n]),
        len if len == n => Some(values.to_vec()),
        _ => None,
    }
}

fn trailing_ones(dims: &[usize]) -> usize {
    dims.iter().rev().take_while(|&&d| d == 1).count()
}
