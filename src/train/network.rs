//! A network being trained: an [`Architecture`] with its parameters in one flat vector
//! (what the optimiser steps), batch normalisation's running statistics beside them, one
//! training pass (forward, keeping what the gradients need, then backward), and the same
//! network as an inference [`Plan`] for evaluation and export.

use super::architecture::{Architecture, Block, Head};
use super::layers::{self, BatchStats};
use crate::gpu::{Activation, Layer, Plan};
use crate::kernels::CpuPlan;
use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};

/// How fast batch normalisation's running statistics follow the batches':
/// `running = m · running + (1 − m) · batch` (the zoo's 0.9; PyTorch's momentum 0.1).
pub(super) const RUNNING_MOMENTUM: f32 = 0.9;

/// An architecture with values.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub architecture: Architecture,
    /// Every trainable value, block after block (a dense or convolution layer's weights then
    /// its bias; a batch normalisation's γ then β).
    pub params: Vec<f32>,
    /// Where each block's parameters start in `params`.
    offsets: Vec<usize>,
    /// Running mean and variance of each batch normalisation block.
    running: Vec<Option<(Vec<f32>, Vec<f32>)>>,
}

/// What a training pass keeps of one block for its backward pass.
enum Kept {
    Nothing,
    Stats(BatchStats),
    Argmax(Vec<u32>),
    Mask(Vec<f32>),
}

/// One batch's forward pass: every block's input, what each kept, and the output.
pub(super) struct Tape {
    inputs: Vec<Vec<f32>>,
    kept: Vec<Kept>,
    pub output: Vec<f32>,
    n: usize,
}

impl Network {
    /// Fresh values for `architecture`: He-normal weights (`N(0, 2 / fan-in)`, the zoo's
    /// and a ReLU network's usual start), zero biases, batch normalisation at γ = 1, β = 0
    /// with running mean 0 and variance 1; drawn from `rng`.
    pub fn initialise(architecture: &Architecture, rng: &mut ChaCha8Rng) -> Network {
        let mut params = Vec::with_capacity(architecture.parameters());
        let mut offsets = Vec::with_capacity(architecture.blocks.len());
        let mut running = Vec::with_capacity(architecture.blocks.len());
        for block in &architecture.blocks {
            offsets.push(params.len());
            running.push(None);
            let (fan_in, weights, biases) = match block {
                Block::Dense { inputs, outputs } => (*inputs, inputs * outputs, *outputs),
                Block::Conv {
                    window,
                    channels_out,
                } => (
                    window.patch_len(),
                    channels_out * window.patch_len(),
                    *channels_out,
                ),
                Block::BatchNorm { channels, .. } => {
                    params.extend(std::iter::repeat_n(1.0, *channels));
                    params.extend(std::iter::repeat_n(0.0, *channels));
                    running.pop();
                    running.push(Some((vec![0.0; *channels], vec![1.0; *channels])));
                    continue;
                }
                _ => continue,
            };
            let std = (2.0 / fan_in.max(1) as f64).sqrt();
            params.extend((0..weights).map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                (z * std) as f32
            }));
            params.extend(std::iter::repeat_n(0.0, biases));
        }
        Network {
            architecture: architecture.clone(),
            params,
            offsets,
            running,
        }
    }

    fn block_params(&self, i: usize) -> &[f32] {
        let len = self.architecture.blocks[i].parameters();
        &self.params[self.offsets[i]..][..len]
    }

    /// Whether each trainable value is a weight (decayed by weight decay) rather than a bias
    /// or a normalisation's scale or shift.
    pub fn weight_mask(&self) -> Vec<bool> {
        let mut mask = Vec::with_capacity(self.params.len());
        for block in &self.architecture.blocks {
            let total = block.parameters();
            let weights = match block {
                Block::Dense { inputs, outputs } => inputs * outputs,
                Block::Conv {
                    window,
                    channels_out,
                } => channels_out * window.patch_len(),
                _ => 0,
            };
            mask.extend(std::iter::repeat_n(true, weights));
            mask.extend(std::iter::repeat_n(false, total - weights));
        }
        mask
    }

    /// The forward pass of `n` records in training mode (batch statistics, dropout drawn
    /// from `rng`), keeping what [`Network::backward`] needs.
    pub(super) fn forward(&self, x: Vec<f32>, n: usize, rng: &mut ChaCha8Rng) -> Tape {
        let blocks = &self.architecture.blocks;
        let mut inputs = Vec::with_capacity(blocks.len());
        let mut kept = Vec::with_capacity(blocks.len());
        let mut current = x;
        for (i, block) in blocks.iter().enumerate() {
            let params = self.block_params(i);
            let (next, keep) = match block {
                Block::Dense { inputs, outputs } => (
                    layers::dense_forward(&current, n, *inputs, *outputs, params),
                    Kept::Nothing,
                ),
                Block::Conv {
                    window,
                    channels_out,
                } => (
                    layers::conv_forward(&current, n, window, *channels_out, params),
                    Kept::Nothing,
                ),
                Block::BatchNorm {
                    channels,
                    inner,
                    epsilon,
                } => {
                    let (out, stats) =
                        layers::batch_norm_forward(&current, *channels, *inner, *epsilon, params);
                    (out, Kept::Stats(stats))
                }
                Block::Affine {
                    inner,
                    scale,
                    shift,
                    ..
                } => {
                    let mut out = current.clone();
                    layers::affine(&mut out, *inner, scale, Some(shift));
                    (out, Kept::Nothing)
                }
                Block::Activation { kind, .. } => {
                    (layers::activation_forward(*kind, &current), Kept::Nothing)
                }
                Block::Pool { window, kind } => {
                    let (out, argmax) = layers::pool_forward(&current, n, window, *kind);
                    (out, Kept::Argmax(argmax))
                }
                Block::Dropout { ratio, .. } => {
                    let mask = dropout_mask(*ratio, current.len(), rng);
                    let out = current.iter().zip(&mask).map(|(v, m)| v * m).collect();
                    (out, Kept::Mask(mask))
                }
            };
            inputs.push(std::mem::replace(&mut current, next));
            kept.push(keep);
        }
        Tape {
            inputs,
            kept,
            output: current,
            n,
        }
    }

    /// The gradient of every parameter (into `grads`, each block writing its own) given the
    /// gradient of the output; the batch statistics are folded into the running ones.
    pub(super) fn backward(&mut self, tape: Tape, d_output: Vec<f32>, grads: &mut [f32]) {
        let n = tape.n;
        let mut d = d_output;
        let first_trained = self
            .architecture
            .blocks
            .iter()
            .position(|b| b.parameters() > 0)
            .unwrap_or(0);
        for (i, (input, kept)) in tape.inputs.iter().zip(&tape.kept).enumerate().rev() {
            let want_dx = i > first_trained;
            let block = &self.architecture.blocks[i];
            let offset = self.offsets[i];
            let len = block.parameters();
            let params = &self.params[offset..][..len];
            let g = &mut grads[offset..][..len];
            d = match (block, kept) {
                (Block::Dense { inputs, outputs }, _) => {
                    match layers::dense_backward(
                        input, &d, n, *inputs, *outputs, params, g, want_dx,
                    ) {
                        Some(dx) => dx,
                        None => break,
                    }
                }
                (
                    Block::Conv {
                        window,
                        channels_out,
                    },
                    _,
                ) => match layers::conv_backward(
                    input,
                    &d,
                    n,
                    window,
                    *channels_out,
                    params,
                    g,
                    want_dx,
                ) {
                    Some(dx) => dx,
                    None => break,
                },
                (
                    Block::BatchNorm {
                        channels, inner, ..
                    },
                    Kept::Stats(stats),
                ) => {
                    if let Some((mean, var)) = &mut self.running[i] {
                        for c in 0..*channels {
                            mean[c] = RUNNING_MOMENTUM * mean[c]
                                + (1.0 - RUNNING_MOMENTUM) * stats.mean[c];
                            var[c] =
                                RUNNING_MOMENTUM * var[c] + (1.0 - RUNNING_MOMENTUM) * stats.var[c];
                        }
                    }
                    layers::batch_norm_backward(&d, stats, *channels, *inner, params, g)
                }
                (Block::Affine { inner, scale, .. }, _) => {
                    layers::affine(&mut d, *inner, scale, None);
                    d
                }
                (Block::Activation { kind, .. }, _) => layers::activation_backward(*kind, input, d),
                (Block::Pool { window, kind }, Kept::Argmax(argmax)) => {
                    layers::pool_backward(&d, n, window, *kind, argmax)
                }
                (Block::Dropout { .. }, Kept::Mask(mask)) => {
                    d.iter_mut().zip(mask).for_each(|(v, m)| *v *= m);
                    d
                }
                _ => unreachable!("each block keeps what its own forward pass keeps"),
            };
        }
    }

    /// The network as inference layers: batch normalisation with its running statistics
    /// (as a per-channel affine), dropout gone, and the head (softmax, sigmoid) when
    /// `with_head`.
    pub fn plan(&self, with_head: bool) -> Plan {
        let mut layers = Vec::new();
        let mut len = self.architecture.input_len();
        for (i, block) in self.architecture.blocks.iter().enumerate() {
            let params = self.block_params(i);
            match block {
                Block::Dense { inputs, outputs } => {
                    let (w, b) = params.split_at(inputs * outputs);
                    layers.push(Layer::Dense {
                        inputs: *inputs,
                        outputs: *outputs,
                        weight: w.to_vec(),
                        bias: b.to_vec(),
                    });
                }
                Block::Conv {
                    window,
                    channels_out,
                } => {
                    let (w, b) = params.split_at(channels_out * window.patch_len());
                    layers.push(Layer::Conv2d {
                        window: *window,
                        channels_out: *channels_out,
                        weight: w.to_vec(),
                        bias: b.to_vec(),
                    });
                }
                Block::BatchNorm {
                    channels,
                    inner,
                    epsilon,
                } => {
                    let (scale, shift) = self.batch_norm_affine(i, *channels, *epsilon);
                    layers.push(Layer::ChannelAffine {
                        channels: *channels,
                        inner: *inner,
                        scale,
                        shift,
                    });
                }
                Block::Affine {
                    channels,
                    inner,
                    scale,
                    shift,
                } => layers.push(Layer::ChannelAffine {
                    channels: *channels,
                    inner: *inner,
                    scale: scale.clone(),
                    shift: shift.clone(),
                }),
                Block::Activation { kind, len } => layers.push(Layer::Activation {
                    kind: *kind,
                    len: *len,
                }),
                Block::Pool { window, kind } => layers.push(Layer::Pool2d {
                    window: *window,
                    kind: *kind,
                }),
                Block::Dropout { .. } => {}
            }
            len = block.output_len(len);
        }
        if with_head {
            match self.architecture.head {
                Head::Logits => {}
                Head::Softmax | Head::LogSoftmax => layers.push(Layer::Softmax {
                    classes: len,
                    log: self.architecture.head == Head::LogSoftmax,
                }),
                Head::Sigmoid => layers.push(Layer::Activation {
                    kind: Activation::Sigmoid,
                    len,
                }),
            }
        }
        Plan {
            input_len: self.architecture.input_len(),
            layers,
        }
    }

    /// A batch normalisation's running statistics as `scale = γ / √(var + ε)`,
    /// `shift = β − mean · scale`.
    fn batch_norm_affine(&self, i: usize, channels: usize, epsilon: f32) -> (Vec<f32>, Vec<f32>) {
        let params = self.block_params(i);
        let (gamma, beta) = params.split_at(channels);
        let (mean, var) = self.running[i]
            .as_ref()
            .expect("every batch normalisation block has running statistics");
        let scale: Vec<f32> = (0..channels)
            .map(|c| gamma[c] / (var[c] + epsilon).sqrt())
            .collect();
        let shift = (0..channels)
            .map(|c| beta[c] - mean[c] * scale[c])
            .collect();
        (scale, shift)
    }

    /// The running statistics of block `i`, when it is a batch normalisation.
    pub fn running_statistics(&self, i: usize) -> Option<(&[f32], &[f32])> {
        self.running
            .get(i)?
            .as_ref()
            .map(|(m, v)| (m.as_slice(), v.as_slice()))
    }

    /// Every batch normalisation's running mean then variance, block after block.
    pub fn running_values(&self) -> Vec<f32> {
        self.running
            .iter()
            .flatten()
            .flat_map(|(m, v)| m.iter().chain(v))
            .copied()
            .collect()
    }

    /// Replaces the running statistics with `values`, laid out as
    /// [`Network::running_values`] gives them.
    pub fn set_running_values(&mut self, values: &[f32]) -> Result<(), String> {
        let expected: usize = self
            .running
            .iter()
            .flatten()
            .map(|(m, v)| m.len() + v.len())
            .sum();
        if values.len() != expected {
            return Err(format!(
                "{} running statistics given for a network that keeps {expected}",
                values.len()
            ));
        }
        let mut rest = values;
        for (m, v) in self.running.iter_mut().flatten() {
            let (mean, after) = rest.split_at(m.len());
            let (var, after) = after.split_at(v.len());
            m.copy_from_slice(mean);
            v.copy_from_slice(var);
            rest = after;
        }
        Ok(())
    }

    /// The parameters of block `i`.
    pub fn parameters_of(&self, i: usize) -> &[f32] {
        self.block_params(i)
    }

    /// The logits (the values before the head) of `n` records in inference mode, on
    /// mialab's CPU kernels.
    pub fn logits(&self, x: &[f32], n: usize) -> Result<Vec<f32>, String> {
        CpuPlan::new(&self.plan(false)).run(x, n)
    }
}

/// A dropout mask over `len` values drawn from `rng`: 0 with probability `ratio`, else
/// `1 / (1 − ratio)`.
pub(super) fn dropout_mask(ratio: f32, len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let keep = 1.0 / (1.0 - ratio);
    (0..len)
        .map(|_| {
            if rng.random::<f32>() < ratio {
                0.0
            } else {
                keep
            }
        })
        .collect()
}

/// A permutation of `0..n` drawn from `rng`.
pub(super) fn permutation(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}
