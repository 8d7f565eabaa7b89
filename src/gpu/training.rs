//! Training a dense network on the GPU: the parameters, the optimiser's moments, every
//! layer's input and the gradients stay on the device, and one mini-batch step is one
//! submission of the kernels in `training.wgsl` (forward, softmax cross-entropy, backward,
//! optimiser), with the batch, its labels and its dropout masks written before it. Nothing
//! comes back until the caller asks for the epoch's loss or the parameters.
//!
//! The loop around it (batch order, dropout draws, learning-rate schedule) is the CPU's,
//! in `crate::train`, so that the same seed draws the same batches on either device; the
//! CPU training code is the twin the GPU steps are tested against (`tests/gpu.rs`).
//! Reading back can only be awaited in the browser, so those calls are async everywhere.

use super::buffers::{self, OwnedBuffer};
use super::device::{Gpu, GpuError, flat_groups};
use super::pipelines;
use super::plan::Activation;
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
}

impl TrainLayer {
    fn output_len(&self) -> usize {
        match self {
            TrainLayer::Dense { outputs, .. } => *outputs,
            TrainLayer::Activation { len, .. } | TrainLayer::Dropout { len } => *len,
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

const KERNELS: [&str; 8] = [
    "product",
    "bias_gradient",
    "activation_forward",
    "activation_backward",
    "multiply",
    "cross_entropy_gradient",
    "cross_entropy_sum",
    "optimizer_step",
];
const PRODUCT: usize = 0;
const BIAS_GRADIENT: usize = 1;
const ACTIVATION_FORWARD: usize = 2;
const ACTIVATION_BACKWARD: usize = 3;
const MULTIPLY: usize = 4;
const CROSS_ENTROPY_GRADIENT: usize = 5;
const CROSS_ENTROPY_SUM: usize = 6;
const OPTIMIZER_STEP: usize = 7;
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

/// The training state of several dense networks of one architecture on the device, each
/// stepping on its own batch (of one fixed size) in the same dispatches.
pub struct DenseTrainer<'g> {
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
    /// Kept alive for the bind groups: gradients, decay, the kernels' parameters.
    _held: Vec<OwnedBuffer>,
    dispatches: Vec<Dispatch>,
}

impl<'g> DenseTrainer<'g> {
    /// Networks `layers` (reading `input_len` values per record), one per entry of `params`
    /// (its starting values), with `decay` each parameter's weight decay, for batches of
    /// `batch`.
    pub fn new(
        gpu: &'g Gpu,
        layers: &[TrainLayer],
        input_len: usize,
        params: &[Vec<f32>],
        decay: &[f32],
        optimizer: GpuOptimizer,
        batch: usize,
    ) -> Result<DenseTrainer<'g>, GpuError> {
        let models = params.len();
        let parameters = decay.len();
        if models == 0
            || params.iter().any(|p| p.len() != parameters)
            || batch == 0
            || layers.is_empty()
        {
            return Err(GpuError::Execution(format!(
                "a trainer needs models with one decay per parameter ({parameters}), a batch and layers"
            )));
        }
        let device = gpu.device();
        let (layout, pipelines) = pipelines::compile(
            device,
            "mialab training kernels",
            include_str!("training.wgsl"),
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
            .position(|l| matches!(l, TrainLayer::Dense { .. }))
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
        held.extend([grads, decay]);
        held.extend(gradients);
        let trainer = DenseTrainer {
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
}
