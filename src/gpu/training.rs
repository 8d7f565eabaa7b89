//! Training a network on the GPU (dense layers, convolutions, pooling, batch normalisation,
//! activations, dropout): the parameters, the optimiser's moments, batch normalisation's
//! statistics, every layer's input and the gradients stay on the device, and one mini-batch
//! step is one submission of the kernels in `training.wgsl` and `training_images.wgsl`
//! (forward, softmax cross-entropy, backward, optimiser), with the batch, its labels and its
//! dropout masks written before it. Nothing comes back until the caller asks for the epoch's
//! loss, the parameters or the running statistics.
//!
//! The loop around it (batch order, dropout draws, learning-rate schedule) is the CPU's,
//! in `crate::train`, so that the same seed draws the same batches on either device; the
//! CPU training code is the twin the GPU steps are tested against (`tests/gpu.rs`).
//! Reading back can only be awaited in the browser, so those calls are async everywhere.

use super::buffers::{self, OwnedBuffer};
use super::device::{Gpu, GpuError, flat_groups};
use super::pipelines;
use super::plan::{Activation, PoolKind, Window};
use wgpu::BufferUsages as U;

/// One layer of a network the GPU trains.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainLayer {
    /// `out = in · W + b`, W `[inputs, outputs]` then b, starting at `offset` in the
    /// parameters.
    Dense {
        inputs: usize,
        outputs: usize,
        offset: usize,
    },
    Activation {
        kind: Activation,
        len: usize,
    },
    /// Multiplies by a mask the caller draws for every step.
    Dropout {
        len: usize,
    },
    /// Weights `[out, in, kh, kw]` then one bias per output channel, from `offset`.
    Conv {
        window: Window,
        channels_out: usize,
        offset: usize,
    },
    Pool {
        window: Window,
        kind: PoolKind,
    },
    /// Normalised by the batch's statistics, then `· γ + β` (γ then β from `offset`); the
    /// running statistics follow the batches'.
    BatchNorm {
        channels: usize,
        inner: usize,
        epsilon: f32,
        offset: usize,
    },
}

impl TrainLayer {
    fn output_len(&self) -> usize {
        match self {
            TrainLayer::Dense { outputs, .. } => *outputs,
            TrainLayer::Activation { len, .. } | TrainLayer::Dropout { len } => *len,
            TrainLayer::Conv {
                window,
                channels_out,
                ..
            } => channels_out * window.out_h * window.out_w,
            TrainLayer::Pool { window, .. } => window.channels_in * window.out_h * window.out_w,
            TrainLayer::BatchNorm {
                channels, inner, ..
            } => channels * inner,
        }
    }

    /// Parameters it trains per model.
    fn parameters(&self) -> usize {
        match self {
            TrainLayer::Dense {
                inputs, outputs, ..
            } => inputs * outputs + outputs,
            TrainLayer::Conv {
                window,
                channels_out,
                ..
            } => channels_out * window.patch_len() + channels_out,
            TrainLayer::BatchNorm { channels, .. } => 2 * channels,
            TrainLayer::Activation { .. }
            | TrainLayer::Dropout { .. }
            | TrainLayer::Pool { .. } => 0,
        }
    }

    /// Running statistics it keeps per model: a mean and a variance per channel.
    fn running_len(&self) -> usize {
        match self {
            TrainLayer::BatchNorm { channels, .. } => 2 * channels,
            _ => 0,
        }
    }
}

/// Which optimiser steps the parameters, with its constants.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GpuOptimizer {
    Sgd {
        momentum: f32,
    },
    Adam {
        beta1: f32,
        beta2: f32,
        epsilon: f32,
    },
    AdamW {
        beta1: f32,
        beta2: f32,
        epsilon: f32,
    },
}

/// What one model's step uses besides the state: the learning rate and, for Adam, the bias
/// corrections `1 − β1^t` and `√(1 − β2^t)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepSettings {
    pub learning_rate: f32,
    pub correction1: f32,
    pub root_correction2: f32,
}

const KERNELS: [&str; 23] = [
    "product",
    "bias_gradient",
    "activation_forward",
    "activation_backward",
    "multiply",
    "cross_entropy_gradient",
    "cross_entropy_sum",
    "optimizer_step",
    "conv_forward",
    "conv_parameter_partials",
    "sum_partials",
    "conv_input_gradient",
    "pool_forward",
    "pool_backward",
    "channel_partials",
    "channel_statistics",
    "batch_norm_normalise",
    "batch_norm_scale",
    "batch_norm_partials",
    "batch_norm_sums",
    "batch_norm_parameter_gradient",
    "batch_norm_backward",
    "running_statistics",
];
const PRODUCT: usize = 0;
const BIAS_GRADIENT: usize = 1;
const ACTIVATION_FORWARD: usize = 2;
const ACTIVATION_BACKWARD: usize = 3;
const MULTIPLY: usize = 4;
const CROSS_ENTROPY_GRADIENT: usize = 5;
const CROSS_ENTROPY_SUM: usize = 6;
const OPTIMIZER_STEP: usize = 7;
const CONV_FORWARD: usize = 8;
const CONV_PARAMETER_PARTIALS: usize = 9;
const SUM_PARTIALS: usize = 10;
const CONV_INPUT_GRADIENT: usize = 11;
const POOL_FORWARD: usize = 12;
const POOL_BACKWARD: usize = 13;
const CHANNEL_PARTIALS: usize = 14;
const CHANNEL_STATISTICS: usize = 15;
const BATCH_NORM_NORMALISE: usize = 16;
const BATCH_NORM_SCALE: usize = 17;
const BATCH_NORM_PARTIALS: usize = 18;
const BATCH_NORM_SUMS: usize = 19;
const BATCH_NORM_PARAMETER_GRADIENT: usize = 20;
const BATCH_NORM_BACKWARD: usize = 21;
const RUNNING_STATISTICS: usize = 22;
/// Values per (model, channel) of a batch normalisation's statistics buffer.
const STATISTICS: usize = 8;

/// `[count, window…, rest…]` as the image kernels' parameters.
fn image_parameters(count: usize, window: &Window, rest: &[usize]) -> Vec<u32> {
    std::iter::once(count as u32)
        .chain(window.kernel_parameters())
        .chain(rest.iter().map(|&v| v as u32))
        .collect()
}
/// The rows and columns of C one workgroup of `product` computes.
const PRODUCT_TILE: usize = 64;

/// The workgroups of `product` over an `m × n` result of each of `models` models.
fn product_groups(m: usize, n: usize, models: usize) -> [u32; 3] {
    [
        n.div_ceil(PRODUCT_TILE) as u32,
        m.div_ceil(PRODUCT_TILE) as u32,
        models as u32,
    ]
}

/// `product`'s parameters: C `[m, n]` at `c` = A·B over `depth`, A read with strides `a`
/// (row, k), B with strides `b` (k, column) from `b_offset`, starting from the bias at
/// `bias` when given; `models` are the strides from one model to the next in A, B and C.
fn product_parameters(
    [m, n, depth]: [usize; 3],
    a: [usize; 2],
    b: [usize; 2],
    b_offset: usize,
    c: usize,
    bias: Option<usize>,
    models: [usize; 3],
) -> Vec<u32> {
    [
        m,
        n,
        depth,
        a[0],
        a[1],
        b[0],
        b[1],
        b_offset,
        c,
        usize::from(bias.is_some()),
        bias.unwrap_or(0),
        models[0],
        models[1],
        models[2],
    ]
    .map(|v| v as u32)
    .to_vec()
}

/// The largest buffer binding one model adds to a trainer of `layers` (reading `input_len`
/// values per record, `parameters` parameters) at batches of `batch`, in bytes: what decides
/// how many models fit in one set on a device.
pub fn bytes_per_model(
    layers: &[TrainLayer],
    input_len: usize,
    parameters: usize,
    batch: usize,
) -> u64 {
    let widest = layers
        .iter()
        .map(TrainLayer::output_len)
        .chain([input_len])
        .max()
        .unwrap_or(1);
    let per_record = widest.max(partials_per_record(layers));
    (per_record * batch).max(3 * parameters) as u64 * 4
}

/// Values per record of the partial sums buffer: as many as the layer with the most needs.
fn partials_per_record(layers: &[TrainLayer]) -> usize {
    layers
        .iter()
        .map(|layer| match layer {
            // Each parameter's share of its gradient.
            TrainLayer::Conv { .. } => layer.parameters(),
            // Σ dy and Σ dy·z per channel (the statistics take one value per channel).
            TrainLayer::BatchNorm { channels, .. } => 2 * channels,
            _ => 1,
        })
        .max()
        .unwrap_or(1)
}

/// The most loop iterations one invocation of the training kernels makes for `layers`
/// (ending in `width` logits) at batches of `batch` (see [`Gpu::check_loops`]).
fn loop_iterations(layers: &[TrainLayer], width: usize, batch: usize) -> usize {
    const OVERHEAD: usize = 64;
    let per_layer = layers.iter().map(|layer| match layer {
        TrainLayer::Dense {
            inputs, outputs, ..
        } => *inputs.max(outputs).max(&batch),
        TrainLayer::Conv {
            window,
            channels_out,
            ..
        } => {
            let (kh, kw) = window.kernel;
            window
                .loop_iterations()
                .max(window.out_h * window.out_w + window.out_h)
                .max(channels_out * kh * kw + kh * kw + kh)
                .max(batch)
        }
        TrainLayer::Pool { window, .. } => {
            let (kh, kw) = window.kernel;
            let windows = (kh.div_ceil(window.stride.0) + 1) * (kw.div_ceil(window.stride.1) + 1);
            windows * (kh * kw + kh + 1)
        }
        TrainLayer::BatchNorm { inner, .. } => *inner.max(&batch),
        TrainLayer::Activation { .. } | TrainLayer::Dropout { .. } => 0,
    });
    OVERHEAD
        + per_layer
            .chain([batch * (2 * width + 1), 3 * width])
            .max()
            .unwrap_or(0)
}

/// The most models of [`bytes_per_model`] bytes each one trainer on `gpu` holds within the
/// device's buffer limits (0: not even one).
pub fn models_per_set(gpu: &Gpu, bytes_per_model: u64) -> usize {
    (gpu.largest_binding() / bytes_per_model.max(1)) as usize
}

/// One model's batch for a step: its records' values, their classes, one dropout mask per
/// dropout layer (in order, `batch × len` values each) and its optimiser settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelBatch {
    pub x: Vec<f32>,
    pub labels: Vec<u32>,
    pub masks: Vec<Vec<f32>>,
    pub settings: StepSettings,
}

/// One dispatch of a step, its buffers bound once.
struct Dispatch {
    kernel: usize,
    bind_group: wgpu::BindGroup,
    groups: [u32; 3],
}

/// The training state of several networks of one architecture on the device, each stepping
/// on its own batch (of one fixed size) in the same dispatches.
pub struct NetworkTrainer<'g> {
    gpu: &'g Gpu,
    pipelines: Vec<wgpu::ComputePipeline>,
    models: usize,
    batch: usize,
    input_len: usize,
    /// Parameters per model.
    parameters: usize,
    /// Values per record of each dropout layer's input, in order.
    dropout_lens: Vec<usize>,
    optimizer: GpuOptimizer,
    /// `[params | m | v]`.
    state: OwnedBuffer,
    /// Each layer's input, then the network's output.
    activations: Vec<OwnedBuffer>,
    /// The mask of each dropout layer, by layer.
    masks: Vec<Option<OwnedBuffer>>,
    labels: OwnedBuffer,
    loss: OwnedBuffer,
    optimizer_settings: OwnedBuffer,
    /// Every model's batch normalisations' running statistics, `running_len` per model.
    running: OwnedBuffer,
    running_len: usize,
    /// Kept alive for the bind groups: gradients, decay, the kernels' parameters.
    _held: Vec<OwnedBuffer>,
    dispatches: Vec<Dispatch>,
}

impl<'g> NetworkTrainer<'g> {
    /// Networks `layers` (reading `input_len` values per record), one per entry of `params`
    /// (its starting values) and of `running` (its batch normalisations' running mean and
    /// variance, layer after layer, `[mean; C]` then `[variance; C]`, which follow the
    /// batches' as `running = momentum · running + (1 − momentum) · batch`), with `decay`
    /// each parameter's weight decay, for batches of `batch`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        gpu: &'g Gpu,
        layers: &[TrainLayer],
        input_len: usize,
        params: &[Vec<f32>],
        running: &[Vec<f32>],
        momentum: f32,
        decay: &[f32],
        optimizer: GpuOptimizer,
        batch: usize,
    ) -> Result<NetworkTrainer<'g>, GpuError> {
        let models = params.len();
        let parameters = decay.len();
        let running_len: usize = layers.iter().map(TrainLayer::running_len).sum();
        if models == 0
            || params.iter().any(|p| p.len() != parameters)
            || running.len() != models
            || running.iter().any(|r| r.len() != running_len)
            || batch == 0
            || layers.is_empty()
        {
            return Err(GpuError::Execution(format!(
                "a trainer needs models with one decay per parameter ({parameters}) and {running_len} running statistics, a batch and layers"
            )));
        }
        let logits = layers.last().map_or(input_len, TrainLayer::output_len);
        gpu.check_loops(
            loop_iterations(layers, logits, batch),
            &format!("training this network at batches of {batch}"),
        )?;
        let device = gpu.device();
        let (layout, pipelines) = pipelines::compile(
            device,
            "mialab training kernels",
            concat!(
                include_str!("training.wgsl"),
                include_str!("training_images.wgsl")
            ),
            &KERNELS,
            [true, true, false, true],
        );

        let floats =
            |label: &str, n: usize, usage: U| buffers::with_capacity(device, label, n, usage);
        let mut state_values = params.concat();
        state_values.resize(3 * models * parameters, 0.0);
        let state = buffers::storage_init(device, "state", &state_values, U::COPY_SRC);
        let grads = floats("gradients", models * parameters, U::STORAGE);
        let decay = buffers::storage_init(device, "decay", decay, U::empty());
        let mut lens = vec![input_len];
        lens.extend(layers.iter().map(TrainLayer::output_len));
        // Every model's rows, one model after another.
        let rows = models * batch;
        let activations: Vec<OwnedBuffer> = lens
            .iter()
            .map(|len| floats("activations", len * rows, U::STORAGE | U::COPY_DST))
            .collect();
        let masks: Vec<Option<OwnedBuffer>> = layers
            .iter()
            .map(|layer| match layer {
                TrainLayer::Dropout { len } => {
                    Some(floats("dropout mask", len * rows, U::STORAGE | U::COPY_DST))
                }
                _ => None,
            })
            .collect();
        let dropout_lens = layers
            .iter()
            .filter_map(|layer| match layer {
                TrainLayer::Dropout { len } => Some(*len),
                _ => None,
            })
            .collect();
        let widest = lens.iter().copied().max().unwrap_or(1);
        let gradients = [0, 1].map(|_| floats("activation gradients", widest * rows, U::STORAGE));
        let labels = floats("labels", rows, U::STORAGE | U::COPY_DST);
        let loss = floats("loss", models, U::STORAGE | U::COPY_SRC | U::COPY_DST);
        let optimizer_settings = floats(
            "optimizer settings",
            7 + 4 * models,
            U::STORAGE | U::COPY_DST,
        );
        let running_values = if running_len == 0 {
            vec![0.0]
        } else {
            running.concat()
        };
        let running_buffer =
            buffers::storage_init(device, "running statistics", &running_values, U::COPY_SRC);
        // Each batch normalisation's statistics and normalised input, by layer.
        let norms: Vec<Option<(OwnedBuffer, OwnedBuffer)>> = layers
            .iter()
            .map(|layer| match layer {
                TrainLayer::BatchNorm {
                    channels, inner, ..
                } => Some((
                    floats(
                        "batch statistics",
                        models * channels * STATISTICS,
                        U::STORAGE,
                    ),
                    floats("normalised values", rows * channels * inner, U::STORAGE),
                )),
                _ => None,
            })
            .collect();
        let norm_of = |j: usize| {
            let (statistics, normalised) =
                norms[j].as_ref().expect("a batch normalisation's buffers");
            (&**statistics, &**normalised)
        };
        // Each record's share of a sum over the batch (see training_images.wgsl).
        let partials = floats(
            "partial sums",
            rows * partials_per_record(layers),
            U::STORAGE,
        );
        // Where each layer's running statistics start within a model's.
        let running_offsets: Vec<usize> = layers
            .iter()
            .scan(0, |at, layer| {
                let here = *at;
                *at += layer.running_len();
                Some(here)
            })
            .collect();

        let mut held = Vec::new();
        let mut dispatches = Vec::new();
        let mut add =
            |kernel: usize, [x, y, z]: [&wgpu::Buffer; 3], q: &[u32], groups: [u32; 3]| {
                let params = buffers::storage_init(device, "training parameters", q, U::empty());
                let bind_group =
                    pipelines::bind(device, &layout, KERNELS[kernel], [x, y, z, &params]);
                held.push(params);
                dispatches.push(Dispatch {
                    kernel,
                    bind_group,
                    groups,
                });
            };
        let flat = |invocations: usize| flat_groups(invocations as u32);
        let n = batch as u32;
        let activation_code = |kind: Activation| match kind {
            Activation::Relu => [0, 0],
            Activation::Sigmoid => [1, 0],
            Activation::Tanh => [2, 0],
            Activation::LeakyRelu(alpha) => [3, alpha.to_bits()],
        };
        for (j, layer) in layers.iter().enumerate() {
            let (from, to) = (&*activations[j], &*activations[j + 1]);
            match layer {
                &TrainLayer::Dense {
                    inputs,
                    outputs,
                    offset,
                } => add(
                    PRODUCT,
                    [from, &state, to],
                    &product_parameters(
                        [batch, outputs, inputs],
                        [inputs, 1],
                        [outputs, 1],
                        offset,
                        0,
                        Some(offset + inputs * outputs),
                        [batch * inputs, parameters, batch * outputs],
                    ),
                    product_groups(batch, outputs, models),
                ),
                TrainLayer::Activation { kind, len } => {
                    let [code, alpha] = activation_code(*kind);
                    add(
                        ACTIVATION_FORWARD,
                        [from, from, to],
                        &[(rows * len) as u32, code, alpha],
                        flat(rows * len),
                    );
                }
                TrainLayer::Dropout { len } => add(
                    MULTIPLY,
                    [
                        from,
                        masks[j].as_deref().expect("a dropout layer's mask"),
                        to,
                    ],
                    &[(rows * len) as u32],
                    flat(rows * len),
                ),
                TrainLayer::Conv {
                    window,
                    channels_out,
                    offset,
                } => {
                    let outputs = rows * layer.output_len();
                    add(
                        CONV_FORWARD,
                        [from, &state, to],
                        &image_parameters(
                            outputs,
                            window,
                            &[*channels_out, batch, *offset, parameters],
                        ),
                        flat(outputs),
                    );
                }
                TrainLayer::Pool { window, kind } => {
                    let outputs = rows * layer.output_len();
                    add(
                        POOL_FORWARD,
                        [from, from, to],
                        &image_parameters(outputs, window, &[kind.kernel_code() as usize]),
                        flat(outputs),
                    );
                }
                &TrainLayer::BatchNorm {
                    channels,
                    inner,
                    epsilon,
                    offset,
                } => {
                    let (statistics, normalised) = norm_of(j);
                    let per_channel = models * channels;
                    for stage in [0, 1] {
                        add(
                            CHANNEL_PARTIALS,
                            [from, statistics, &partials],
                            &[
                                (rows * channels) as u32,
                                channels as u32,
                                inner as u32,
                                stage,
                                n,
                            ],
                            flat(rows * channels),
                        );
                        add(
                            CHANNEL_STATISTICS,
                            [&partials, &state, statistics],
                            &[
                                per_channel as u32,
                                channels as u32,
                                inner as u32,
                                stage,
                                n,
                                offset as u32,
                                parameters as u32,
                                epsilon.to_bits(),
                            ],
                            flat(per_channel),
                        );
                    }
                    let values = rows * channels * inner;
                    let q = [values as u32, channels as u32, inner as u32, n];
                    add(
                        BATCH_NORM_NORMALISE,
                        [from, statistics, normalised],
                        &q,
                        flat(values),
                    );
                    add(
                        BATCH_NORM_SCALE,
                        [normalised, statistics, to],
                        &q,
                        flat(values),
                    );
                }
            }
        }
        let logits = &*activations[layers.len()];
        let width = lens[layers.len()] as u32;
        add(
            CROSS_ENTROPY_GRADIENT,
            [logits, &labels, &gradients[0]],
            &[n, width, rows as u32],
            flat(rows),
        );
        add(
            CROSS_ENTROPY_SUM,
            [logits, &labels, &loss],
            &[n, width],
            [models as u32, 1, 1],
        );
        let first_trained = layers
            .iter()
            .position(|layer| layer.parameters() > 0)
            .unwrap_or(0);
        let mut d = 0;
        for (j, layer) in layers.iter().enumerate().rev() {
            let (input, d_in, d_out) = (&*activations[j], &*gradients[d], &*gradients[1 - d]);
            match layer {
                &TrainLayer::Dense {
                    inputs,
                    outputs,
                    offset,
                } => {
                    add(
                        PRODUCT,
                        [input, d_in, &grads],
                        &product_parameters(
                            [inputs, outputs, batch],
                            [1, inputs],
                            [outputs, 1],
                            0,
                            offset,
                            None,
                            [batch * inputs, batch * outputs, parameters],
                        ),
                        product_groups(inputs, outputs, models),
                    );
                    let [x, y, _] = flat(outputs);
                    add(
                        BIAS_GRADIENT,
                        [d_in, d_in, &grads],
                        &[
                            n,
                            outputs as u32,
                            (offset + inputs * outputs) as u32,
                            parameters as u32,
                        ],
                        [x, y, models as u32],
                    );
                    if j <= first_trained {
                        break;
                    }
                    add(
                        PRODUCT,
                        [d_in, &state, d_out],
                        &product_parameters(
                            [batch, inputs, outputs],
                            [outputs, 1],
                            [1, outputs],
                            offset,
                            0,
                            None,
                            [batch * outputs, parameters, batch * inputs],
                        ),
                        product_groups(batch, inputs, models),
                    );
                }
                TrainLayer::Activation { kind, len } => {
                    let [code, alpha] = activation_code(*kind);
                    add(
                        ACTIVATION_BACKWARD,
                        [input, d_in, d_out],
                        &[(rows * len) as u32, code, alpha],
                        flat(rows * len),
                    );
                }
                TrainLayer::Dropout { len } => add(
                    MULTIPLY,
                    [
                        d_in,
                        masks[j].as_deref().expect("a dropout layer's mask"),
                        d_out,
                    ],
                    &[(rows * len) as u32],
                    flat(rows * len),
                ),
                TrainLayer::Conv {
                    window,
                    channels_out,
                    offset,
                } => {
                    let rest = [*channels_out, batch, *offset, parameters];
                    let per_record = layer.parameters();
                    add(
                        CONV_PARAMETER_PARTIALS,
                        [input, d_in, &partials],
                        &image_parameters(rows * per_record, window, &rest),
                        flat(rows * per_record),
                    );
                    add(
                        SUM_PARTIALS,
                        [&partials, &partials, &grads],
                        &[models * per_record, per_record, batch, *offset, parameters]
                            .map(|v| v as u32),
                        flat(models * per_record),
                    );
                    if j <= first_trained {
                        break;
                    }
                    let values = rows * lens[j];
                    add(
                        CONV_INPUT_GRADIENT,
                        [d_in, &state, d_out],
                        &image_parameters(values, window, &rest),
                        flat(values),
                    );
                }
                TrainLayer::Pool { window, kind } => {
                    let values = rows * lens[j];
                    add(
                        POOL_BACKWARD,
                        [input, d_in, d_out],
                        &image_parameters(values, window, &[kind.kernel_code() as usize]),
                        flat(values),
                    );
                }
                &TrainLayer::BatchNorm {
                    channels,
                    inner,
                    offset,
                    ..
                } => {
                    let (statistics, normalised) = norm_of(j);
                    let per_channel = models * channels;
                    add(
                        BATCH_NORM_PARTIALS,
                        [normalised, d_in, &partials],
                        &[(rows * channels) as u32, channels as u32, inner as u32],
                        flat(rows * channels),
                    );
                    add(
                        BATCH_NORM_SUMS,
                        [&partials, &partials, statistics],
                        &[per_channel as u32, channels as u32, n],
                        flat(per_channel),
                    );
                    add(
                        BATCH_NORM_PARAMETER_GRADIENT,
                        [statistics, statistics, &grads],
                        &[
                            per_channel as u32,
                            channels as u32,
                            offset as u32,
                            parameters as u32,
                        ],
                        flat(per_channel),
                    );
                    add(
                        RUNNING_STATISTICS,
                        [statistics, &labels, &running_buffer],
                        &[
                            per_channel as u32,
                            channels as u32,
                            n,
                            running_offsets[j] as u32,
                            running_len as u32,
                            momentum.to_bits(),
                            (1.0 - momentum).to_bits(),
                        ],
                        flat(per_channel),
                    );
                    if j <= first_trained {
                        break;
                    }
                    let values = rows * channels * inner;
                    // In place: the input's gradient replaces the output's.
                    add(
                        BATCH_NORM_BACKWARD,
                        [normalised, statistics, d_in],
                        &[values as u32, channels as u32, inner as u32, n],
                        flat(values),
                    );
                    continue;
                }
            }
            d = 1 - d;
        }
        // The optimiser's parameters change every step: its dispatch reads them from a
        // buffer written before each submission.
        dispatches.push(Dispatch {
            kernel: OPTIMIZER_STEP,
            bind_group: pipelines::bind(
                device,
                &layout,
                "optimizer_step",
                [&grads, &decay, &state, &optimizer_settings],
            ),
            groups: flat_groups((models * parameters) as u32),
        });
        held.extend([grads, decay, partials]);
        held.extend(gradients);
        for (statistics, normalised) in norms.into_iter().flatten() {
            held.extend([statistics, normalised]);
        }
        let trainer = NetworkTrainer {
            gpu,
            pipelines,
            models,
            batch,
            input_len,
            parameters,
            dropout_lens,
            optimizer,
            state,
            activations,
            masks,
            labels,
            loss,
            optimizer_settings,
            running: running_buffer,
            running_len,
            _held: held,
            dispatches,
        };
        gpu.check("preparing the training kernels")?;
        Ok(trainer)
    }

    /// One step of every model, each on its batch (`None`: the model sits this step out).
    pub fn step(&self, batches: &[Option<ModelBatch>]) -> Result<(), GpuError> {
        let queue = self.gpu.queue();
        if batches.len() != self.models {
            return Err(GpuError::Execution(format!(
                "a step of {} models was given {} batches",
                self.models,
                batches.len()
            )));
        }
        let rows = self.models * self.batch;
        let mut x = vec![0.0f32; rows * self.input_len];
        let mut labels = vec![-1.0f32; rows];
        let mut masks: Vec<Vec<f32>> = self
            .dropout_lens
            .iter()
            .map(|len| vec![0.0; rows * len])
            .collect();
        let mut settings = Vec::with_capacity(4 * self.models);
        for (k, batch) in batches.iter().enumerate() {
            let Some(batch) = batch else {
                settings.extend([0, 0, 0, 0]);
                continue;
            };
            if batch.labels.len() != self.batch
                || batch.x.len() != self.batch * self.input_len
                || batch.masks.len() != self.dropout_lens.len()
            {
                return Err(GpuError::Execution(format!(
                    "model {k}'s step of {} records was given {} labels, {} values and {} dropout masks",
                    self.batch,
                    batch.labels.len(),
                    batch.x.len(),
                    batch.masks.len()
                )));
            }
            x[k * self.batch * self.input_len..][..batch.x.len()].copy_from_slice(&batch.x);
            for (to, &y) in labels[k * self.batch..].iter_mut().zip(&batch.labels) {
                *to = y as f32;
            }
            for ((mask, given), len) in masks.iter_mut().zip(&batch.masks).zip(&self.dropout_lens) {
                if given.len() != self.batch * len {
                    return Err(GpuError::Execution(format!(
                        "model {k}'s dropout mask has {} values, not {}",
                        given.len(),
                        self.batch * len
                    )));
                }
                mask[k * self.batch * len..][..given.len()].copy_from_slice(given);
            }
            let StepSettings {
                learning_rate,
                correction1,
                root_correction2,
            } = batch.settings;
            settings.extend([
                1,
                learning_rate.to_bits(),
                correction1.to_bits(),
                root_correction2.to_bits(),
            ]);
        }
        queue.write_buffer(&self.activations[0], 0, bytemuck::cast_slice(&x));
        queue.write_buffer(&self.labels, 0, bytemuck::cast_slice(&labels));
        for (buffer, values) in self.masks.iter().flatten().zip(&masks) {
            queue.write_buffer(buffer, 0, bytemuck::cast_slice(values));
        }
        let (kind, momentum, beta1, beta2, epsilon) = match self.optimizer {
            GpuOptimizer::Sgd { momentum } => (0u32, momentum, 0.0, 0.0, 0.0),
            GpuOptimizer::Adam {
                beta1,
                beta2,
                epsilon,
            } => (1, 0.0, beta1, beta2, epsilon),
            GpuOptimizer::AdamW {
                beta1,
                beta2,
                epsilon,
            } => (2, 0.0, beta1, beta2, epsilon),
        };
        let mut q = vec![
            (self.models * self.parameters) as u32,
            kind,
            momentum.to_bits(),
            f32::to_bits(beta1),
            f32::to_bits(beta2),
            f32::to_bits(epsilon),
            self.parameters as u32,
        ];
        q.extend(settings);
        queue.write_buffer(&self.optimizer_settings, 0, bytemuck::cast_slice(&q));
        let mut encoder = self
            .gpu
            .device()
            .create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("training step"),
                timestamp_writes: None,
            });
            for dispatch in &self.dispatches {
                pass.set_pipeline(&self.pipelines[dispatch.kernel]);
                pass.set_bind_group(0, &dispatch.bind_group, &[]);
                let [x, y, z] = dispatch.groups;
                pass.dispatch_workgroups(x, y, z);
            }
        }
        queue.submit([encoder.finish()]);
        Ok(())
    }

    /// Each model's sum of its batches' mean losses since the last call (which starts them
    /// again).
    pub async fn take_losses(&self) -> Result<Vec<f64>, GpuError> {
        let sums = self.gpu.read_floats(&self.loss, self.models).await?;
        self.gpu.queue().write_buffer(
            &self.loss,
            0,
            bytemuck::cast_slice(&vec![0.0f32; self.models]),
        );
        Ok(sums.into_iter().map(f64::from).collect())
    }

    /// Each model's parameters as they stand.
    pub async fn parameters(&self) -> Result<Vec<Vec<f32>>, GpuError> {
        let all = self
            .gpu
            .read_floats(&self.state, self.models * self.parameters)
            .await?;
        Ok(all
            .chunks(self.parameters.max(1))
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Each model's running statistics as they stand (the layout [`NetworkTrainer::new`]
    /// takes them in).
    pub async fn running_statistics(&self) -> Result<Vec<Vec<f32>>, GpuError> {
        if self.running_len == 0 {
            return Ok(vec![Vec::new(); self.models]);
        }
        let all = self
            .gpu
            .read_floats(&self.running, self.models * self.running_len)
            .await?;
        Ok(all.chunks(self.running_len).map(<[f32]>::to_vec).collect())
    }
}
