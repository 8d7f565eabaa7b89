//! The architecture a model is retrained with, read from its own ONNX graph: the operator
//! subset the GPU lowering understands (Gemm/MatMul, bias Add, Relu/Sigmoid/Tanh/LeakyRelu,
//! Conv, BatchNormalization, Max/AveragePool, Flatten, Dropout, Softmax), with each layer's
//! shape and none of its trained values. Constants that are not parameters (an input
//! normalisation's Sub and Div) are kept as they are. A graph outside the subset is refused
//! with the operator named.

use crate::gpu::{Activation, Layer, LoweringError, PoolKind, TrainableGraph, Window};
use crate::records::feature_moments;
use thiserror::Error;

/// Why a model cannot be retrained here.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ArchitectureError {
    #[error("{}", describe_lowering(.0))]
    Lowering(#[from] LoweringError),
    #[error("{0}")]
    Unsupported(String),
}

/// Retraining's reading of why a graph does not lower.
fn describe_lowering(error: &LoweringError) -> String {
    const SUBSET: &str = "mialab retrains chains of Gemm/MatMul, bias Add, Relu/Sigmoid/Tanh/LeakyRelu, Conv, BatchNormalization, Max/AveragePool, Flatten, Dropout and Softmax";
    match error {
        LoweringError::Unsupported { op, detail } => {
            format!("{SUBSET}, and this graph has the ONNX operator {op}{detail}")
        }
        LoweringError::NotAChain { node, op } => {
            format!("{SUBSET}; node '{node}' ({op}) does not read the previous node's output")
        }
        other => other.to_string(),
    }
}

/// One layer of the network, without trained values.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// `out = in · W + b`, W `[inputs, outputs]`.
    Dense {
        inputs: usize,
        outputs: usize,
    },
    /// Convolution with a per-channel bias, weight `[out, in, kh, kw]`.
    Conv {
        window: Window,
        channels_out: usize,
    },
    /// Batch normalisation over `channels` with `inner` values each per record: batch
    /// statistics when training, running ones when exported.
    BatchNorm {
        channels: usize,
        inner: usize,
        epsilon: f32,
    },
    /// `out = in · scale[c] + shift[c]` with constants kept from the graph.
    Affine {
        channels: usize,
        inner: usize,
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    Activation {
        kind: Activation,
        len: usize,
    },
    Pool {
        window: Window,
        kind: PoolKind,
    },
    /// Zeroes `ratio` of its inputs while training (scaling the rest by `1 / (1 − ratio)`).
    Dropout {
        ratio: f32,
        len: usize,
    },
}

impl Block {
    /// Values per record it writes, given `input_len` in.
    pub fn output_len(&self, input_len: usize) -> usize {
        match self {
            Block::Dense { outputs, .. } => *outputs,
            Block::Conv {
                window,
                channels_out,
            } => channels_out * window.out_h * window.out_w,
            Block::Pool { window, .. } => window.channels_in * window.out_h * window.out_w,
            Block::BatchNorm { .. }
            | Block::Affine { .. }
            | Block::Activation { .. }
            | Block::Dropout { .. } => input_len,
        }
    }

    /// Its kind, for messages ("dense", "conv", ...).
    pub fn name(&self) -> &'static str {
        match self {
            Block::Dense { .. } => "dense",
            Block::Conv { .. } => "conv",
            Block::BatchNorm { .. } => "batchnorm",
            Block::Affine { .. } => "affine",
            Block::Activation { kind, .. } => match kind {
                Activation::Relu => "relu",
                Activation::Sigmoid => "sigmoid",
                Activation::Tanh => "tanh",
                Activation::LeakyRelu(_) => "leakyrelu",
            },
            Block::Pool {
                kind: PoolKind::Max,
                ..
            } => "maxpool",
            Block::Pool { .. } => "avgpool",
            Block::Dropout { .. } => "dropout",
        }
    }

    /// Trainable values it holds.
    pub fn parameters(&self) -> usize {
        match self {
            Block::Dense { inputs, outputs } => inputs * outputs + outputs,
            Block::Conv {
                window,
                channels_out,
            } => channels_out * window.patch_len() + channels_out,
            Block::BatchNorm { channels, .. } => 2 * channels,
            _ => 0,
        }
    }
}

/// Whether a network that starts with a dense layer gets its inputs standardised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Standardize {
    /// When some input's mean or standard deviation exceeds 10 in size (raw measurements).
    #[default]
    Auto,
    On,
    Off,
}

/// What the exported graph puts after the last trained layer; training always reads the
/// values before it as logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    Logits,
    Softmax,
    LogSoftmax,
    /// One output read as a sigmoid probability.
    Sigmoid,
}

/// A trainable network's shape: what the target computes, as layers to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    /// The record shape the network reads (`[features]` or `[C, H, W]`).
    pub record_shape: Vec<usize>,
    pub blocks: Vec<Block>,
    pub head: Head,
}

impl Architecture {
    /// The architecture of a graph lowered for training.
    pub fn from_graph(
        graph: &TrainableGraph,
        record_shape: &[usize],
    ) -> Result<Architecture, ArchitectureError> {
        let layers = &graph.plan.layers;
        let mut blocks: Vec<Block> = Vec::new();
        let mut head = Head::Logits;
        let mut len = graph.plan.input_len;
        for (i, layer) in layers.iter().enumerate() {
            for site in graph.dropouts.iter().filter(|d| d.before == i) {
                if site.ratio > 0.0 {
                    blocks.push(Block::Dropout {
                        ratio: site.ratio,
                        len,
                    });
                }
            }
            let last = i + 1 == layers.len();
            let origin = graph.origins.get(i).map(|o| o.op.as_str()).unwrap_or("");
            let block = match layer {
                Layer::Dense {
                    inputs, outputs, ..
                } => Block::Dense {
                    inputs: *inputs,
                    outputs: *outputs,
                },
                Layer::Conv2d {
                    window,
                    channels_out,
                    ..
                } => Block::Conv {
                    window: *window,
                    channels_out: *channels_out,
                },
                Layer::ChannelAffine {
                    channels,
                    inner,
                    scale,
                    shift,
                } => {
                    if origin == "BatchNormalization" {
                        Block::BatchNorm {
                            channels: *channels,
                            inner: *inner,
                            epsilon: graph.origins[i].epsilon.unwrap_or(1e-5),
                        }
                    } else if origin == "Add"
                        && scale.iter().all(|&s| s == 1.0)
                        && is_bias_of(blocks.last(), *channels)
                    {
                        // A bias Add after MatMul or Conv: the layer's own trained bias.
                        continue;
                    } else if let Some(Block::Affine {
                        channels: c,
                        inner: n,
                        scale: s,
                        shift: b,
                    }) = blocks.last_mut()
                        && (*c, *n) == (*channels, *inner)
                    {
                        // Consecutive constants (an exporter's Mul then Add) are one affine.
                        for k in 0..*channels {
                            s[k] *= scale[k];
                            b[k] = b[k] * scale[k] + shift[k];
                        }
                        continue;
                    } else {
                        Block::Affine {
                            channels: *channels,
                            inner: *inner,
                            scale: scale.clone(),
                            shift: shift.clone(),
                        }
                    }
                }
                Layer::Activation {
                    kind: Activation::Sigmoid,
                    len: 1,
                } if last => {
                    head = Head::Sigmoid;
                    continue;
                }
                Layer::Activation { kind, len } => Block::Activation {
                    kind: *kind,
                    len: *len,
                },
                Layer::Pool2d { window, kind } => Block::Pool {
                    window: *window,
                    kind: *kind,
                },
                Layer::Softmax { log, .. } if last => {
                    head = if *log {
                        Head::LogSoftmax
                    } else {
                        Head::Softmax
                    };
                    continue;
                }
                Layer::Softmax { .. } => {
                    return Err(ArchitectureError::Unsupported(
                        "a Softmax before the last layer".to_string(),
                    ));
                }
            };
            len = block.output_len(len);
            blocks.push(block);
        }
        if !blocks.iter().any(|b| b.parameters() > 0) {
            return Err(ArchitectureError::Unsupported(
                "it has no Gemm, MatMul or Conv layer to train".to_string(),
            ));
        }
        Ok(Architecture {
            record_shape: record_shape.to_vec(),
            blocks,
            head,
        })
    }

    pub fn input_len(&self) -> usize {
        self.record_shape.iter().product()
    }

    /// Its blocks in order ("dense-relu-dense").
    pub fn describe(&self) -> String {
        self.blocks
            .iter()
            .map(Block::name)
            .collect::<Vec<_>>()
            .join("-")
    }

    /// Values per record the last trained layer writes (the logits).
    pub fn output_len(&self) -> usize {
        self.blocks
            .iter()
            .fold(self.input_len(), |len, b| b.output_len(len))
    }

    /// Classes the model scores: its logits, or two for a single output.
    pub fn classes(&self) -> usize {
        self.output_len().max(2)
    }

    /// Trainable values in all.
    pub fn parameters(&self) -> usize {
        self.blocks.iter().map(Block::parameters).sum()
    }

    /// Multiply-adds times two per record of a forward pass (what benchmarks divide by).
    pub fn flops_per_record(&self) -> usize {
        self.blocks
            .iter()
            .map(|b| match b {
                Block::Dense { inputs, outputs } => 2 * inputs * outputs,
                Block::Conv {
                    window,
                    channels_out,
                } => 2 * channels_out * window.out_h * window.out_w * window.patch_len(),
                _ => 0,
            })
            .sum()
    }

    /// The network with a fixed standardisation of its inputs in front (by `features`, the
    /// records it will train on) when it starts with a dense layer and `when` says so:
    /// exporters fold a pipeline's StandardScaler into the first layer, and raw features of
    /// very different scales would slow the optimiser to a crawl. The function class is the
    /// same; only the optimiser's path changes.
    pub fn standardised(&self, features: &[f32], when: Standardize) -> Architecture {
        let mut out = self.clone();
        let len = self.input_len();
        let wanted = match when {
            Standardize::Off => false,
            Standardize::On => true,
            Standardize::Auto => unscaled(features, len),
        };
        if wanted && matches!(self.blocks.first(), Some(Block::Dense { .. })) {
            out.blocks.insert(0, standardisation(features, len));
        }
        out
    }

    /// The same network with its last dense layer widened or narrowed to `outputs` values
    /// and no head: a regressor of the target's shape (the quantile-regression attack's).
    pub fn with_outputs(&self, outputs: usize) -> Result<Architecture, ArchitectureError> {
        let mut blocks = self.blocks.clone();
        let last = blocks
            .iter()
            .rposition(|b| b.parameters() > 0)
            .filter(|&i| matches!(blocks[i], Block::Dense { .. }))
            .ok_or_else(|| {
                ArchitectureError::Unsupported(
                    "its last trained layer is not a dense layer".to_string(),
                )
            })?;
        if let Block::Dense { outputs: o, .. } = &mut blocks[last] {
            *o = outputs;
        }
        // What followed the old output layer (a bias-free affine, an activation) fitted
        // the old width: the regressor ends at its dense layer.
        blocks.truncate(last + 1);
        Ok(Architecture {
            record_shape: self.record_shape.clone(),
            blocks,
            head: Head::Logits,
        })
    }
}

/// A fixed affine block that standardises each of `len` input values by its mean and
/// standard deviation over `features` (records of `len` values; a constant value is left as
/// it is).
pub(super) fn standardisation(features: &[f32], len: usize) -> Block {
    let (mut scale, mut shift) = (vec![1.0f32; len], vec![0.0f32; len]);
    for (j, (mean, var)) in feature_moments(features, len).into_iter().enumerate() {
        if var > 0.0 {
            let std = var.sqrt();
            scale[j] = (1.0 / std) as f32;
            shift[j] = (-mean / std) as f32;
        }
    }
    Block::Affine {
        channels: len,
        inner: 1,
        scale,
        shift,
    }
}

/// Whether some input value lies on a large scale (its mean or standard deviation over
/// `features` beyond 10 in size): raw measurements, not standardised ones.
fn unscaled(features: &[f32], len: usize) -> bool {
    feature_moments(features, len)
        .iter()
        .any(|&(mean, var)| mean.abs() > 10.0 || var > 100.0)
}

/// Whether a per-channel constant of `channels` values is the bias of `previous`.
fn is_bias_of(previous: Option<&Block>, channels: usize) -> bool {
    match previous {
        Some(Block::Dense { outputs, .. }) => *outputs == channels,
        Some(Block::Conv { channels_out, .. }) => *channels_out == channels,
        _ => false,
    }
}
