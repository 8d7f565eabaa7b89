//! A trained network as an ONNX file: one file, opset 17, a symbolic batch dimension, the
//! operators exporters write for these layers (Gemm, Conv, BatchNormalization with its
//! running statistics, Relu/Sigmoid/Tanh/LeakyRelu, MaxPool/AveragePool, Flatten, Mul/Add
//! for a kept constant affine, Softmax/LogSoftmax/Sigmoid for the head), so that the model
//! can be reloaded here, checked with onnxruntime, and shared.

use super::architecture::{Block, Head};
use super::network::Network;
use crate::gpu::{Activation, PoolKind, Window};
use prost::Message;
use tract_onnx::pb;

const OPSET: i64 = 17;
const IR_VERSION: i64 = 8;

/// The ONNX bytes of `network`, reading records from input `input` (shape
/// `[batch, record shape…]`) and writing `output` (`[batch, outputs]`).
pub fn to_onnx(network: &Network, input: &str, output: &str, name: &str) -> Vec<u8> {
    let mut graph = GraphWriter {
        nodes: Vec::new(),
        initializers: Vec::new(),
        current: input.to_string(),
        counter: 0,
    };
    let architecture = &network.architecture;
    let mut rank = architecture.record_shape.len();
    let mut len = architecture.input_len();
    for (i, block) in architecture.blocks.iter().enumerate() {
        let params = network.parameters_of(i);
        match block {
            Block::Dense { inputs, outputs } => {
                if rank != 1 {
                    graph.node("Flatten", &[], vec![int("axis", 1)]);
                    rank = 1;
                }
                let (w, b) = params.split_at(inputs * outputs);
                let w = graph.constant("weight", &[*inputs, *outputs], w);
                let b = graph.constant("bias", &[*outputs], b);
                graph.node("Gemm", &[w, b], vec![]);
            }
            Block::Conv {
                window,
                channels_out,
            } => {
                let (w, b) = params.split_at(channels_out * window.patch_len());
                let shape = [
                    *channels_out,
                    window.channels_in,
                    window.kernel.0,
                    window.kernel.1,
                ];
                let w = graph.constant("weight", &shape, w);
                let b = graph.constant("bias", &[*channels_out], b);
                graph.node("Conv", &[w, b], window_attributes(window));
            }
            Block::BatchNorm {
                channels, epsilon, ..
            } => {
                let (gamma, beta) = params.split_at(*channels);
                let (mean, var) = network
                    .running_statistics(i)
                    .expect("batch normalisation blocks keep running statistics");
                let inputs = [
                    graph.constant("gamma", &[*channels], gamma),
                    graph.constant("beta", &[*channels], beta),
                    graph.constant("mean", &[*channels], mean),
                    graph.constant("var", &[*channels], var),
                ];
                graph.node(
                    "BatchNormalization",
                    &inputs,
                    vec![float("epsilon", *epsilon)],
                );
            }
            Block::Affine {
                channels,
                scale,
                shift,
                ..
            } => {
                let shape: Vec<usize> = if rank == 1 {
                    vec![*channels]
                } else {
                    vec![*channels, 1, 1]
                };
                let s = graph.constant("scale", &shape, scale);
                graph.node("Mul", &[s], vec![]);
                let b = graph.constant("shift", &shape, shift);
                graph.node("Add", &[b], vec![]);
            }
            Block::Activation { kind, .. } => {
                let (op, attributes) = match kind {
                    Activation::Relu => ("Relu", vec![]),
                    Activation::Sigmoid => ("Sigmoid", vec![]),
                    Activation::Tanh => ("Tanh", vec![]),
                    Activation::LeakyRelu(alpha) => ("LeakyRelu", vec![float("alpha", *alpha)]),
                };
                graph.node(op, &[], attributes);
            }
            Block::Pool { window, kind } => {
                let mut attributes = window_attributes(window);
                let op = match kind {
                    PoolKind::Max => "MaxPool",
                    PoolKind::Average { count_include_pad } => {
                        attributes.push(int("count_include_pad", *count_include_pad as i64));
                        "AveragePool"
                    }
                };
                graph.node(op, &[], attributes);
            }
            Block::Dropout { .. } => {}
        }
        len = block.output_len(len);
    }
    match architecture.head {
        Head::Logits => {}
        Head::Softmax => graph.node("Softmax", &[], vec![int("axis", -1)]),
        Head::LogSoftmax => graph.node("LogSoftmax", &[], vec![int("axis", -1)]),
        Head::Sigmoid => graph.node("Sigmoid", &[], vec![]),
    }
    graph.finish(network, input, output, name, len)
}

/// Kernel shape, strides and pads (begin, then end: the least that gives the same output
/// size) of a convolution or pooling window.
fn window_attributes(w: &Window) -> Vec<pb::AttributeProto> {
    let end = |out: usize, stride: usize, kernel: usize, size: usize, begin: usize| {
        ((out - 1) * stride + kernel).saturating_sub(size + begin) as i64
    };
    let pads = [
        w.pad.0 as i64,
        w.pad.1 as i64,
        end(w.out_h, w.stride.0, w.kernel.0, w.in_h, w.pad.0),
        end(w.out_w, w.stride.1, w.kernel.1, w.in_w, w.pad.1),
    ];
    vec![
        ints("kernel_shape", &[w.kernel.0 as i64, w.kernel.1 as i64]),
        ints("strides", &[w.stride.0 as i64, w.stride.1 as i64]),
        ints("pads", &pads),
    ]
}

fn attribute(name: &str, kind: pb::attribute_proto::AttributeType) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.to_string(),
        r#type: kind as i32,
        ..Default::default()
    }
}

fn int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        i: value,
        ..attribute(name, pb::attribute_proto::AttributeType::Int)
    }
}

fn float(name: &str, value: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        f: value,
        ..attribute(name, pb::attribute_proto::AttributeType::Float)
    }
}

fn ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        ints: values.to_vec(),
        ..attribute(name, pb::attribute_proto::AttributeType::Ints)
    }
}

/// A chain of nodes being written, each reading the previous one's output.
struct GraphWriter {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    current: String,
    counter: usize,
}

impl GraphWriter {
    fn fresh(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("{what}_{}", self.counter)
    }

    /// A float constant; returns its name.
    fn constant(&mut self, what: &str, dims: &[usize], values: &[f32]) -> String {
        let name = self.fresh(what);
        self.initializers.push(pb::TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: pb::tensor_proto::DataType::Float as i32,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name
    }

    /// A node reading the current tensor and `inputs`; its output becomes the current one.
    fn node(&mut self, op: &str, inputs: &[String], attribute: Vec<pb::AttributeProto>) {
        let output = self.fresh(&op.to_lowercase());
        let mut all = vec![self.current.clone()];
        all.extend_from_slice(inputs);
        self.nodes.push(pb::NodeProto {
            input: all,
            output: vec![output.clone()],
            name: output.clone(),
            op_type: op.to_string(),
            attribute,
            ..Default::default()
        });
        self.current = output;
    }

    fn finish(
        mut self,
        network: &Network,
        input: &str,
        output: &str,
        name: &str,
        outputs: usize,
    ) -> Vec<u8> {
        match self.nodes.last_mut() {
            Some(last) => last.output = vec![output.to_string()],
            None => self.nodes.push(pb::NodeProto {
                input: vec![input.to_string()],
                output: vec![output.to_string()],
                op_type: "Identity".to_string(),
                ..Default::default()
            }),
        }
        let mut record_dims = vec![None];
        record_dims.extend(network.architecture.record_shape.iter().map(|&d| Some(d)));
        let graph = pb::GraphProto {
            node: self.nodes,
            name: name.to_string(),
            initializer: self.initializers,
            input: vec![value_info(input, &record_dims)],
            output: vec![value_info(output, &[None, Some(outputs)])],
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![pb::OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: "mialab".to_string(),
            producer_version: env!("CARGO_PKG_VERSION").to_string(),
            graph: Some(graph),
            ..Default::default()
        }
        .encode_to_vec()
    }
}

/// A float tensor's declaration; `None` dimensions are the symbolic batch.
fn value_info(name: &str, dims: &[Option<usize>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(v) => Value::DimValue(*v as i64),
                None => Value::DimParam("batch".to_string()),
            }),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.to_string(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
