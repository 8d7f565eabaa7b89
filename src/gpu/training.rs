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

/// What one step's optimiser update uses besides the state: the learning rate and, for
/// Adam, the bias corrections `1 − β1^t` and `√(1 − β2^t)`.
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

/// The workgroups of `product` over an `m × n` result.
fn product_groups(m: usize, n: usize) -> [u32; 3] {
    [
        n.div_ceil(PRODUCT_TILE) as u32,
        m.div_ceil(PRODUCT_TILE) as u32,
        1,
    ]
}

/// `product`'s parameters: C `[m, n]` at `c` = A·B over `depth`, A read with strides `a`
/// (row, k), B with strides `b` (k, column) from `b_offset`, starting from the bias at
/// `bias` when given.
fn product_parameters(
    [m, n, depth]: [usize; 3],
    a: [usize; 2],
    b: [usize; 2],
    b_offset: usize,
    c: usize,
    bias: Option<usize>,
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
    ]
    .map(|v| v as u32)
    .to_vec()
}

/// One dispatch of a step, its buffers bound once.
struct Dispatch {
    kernel: usize,
    bind_group: wgpu::BindGroup,
    groups: [u32; 3],
}

/// A dense network's training state on the device, for batches of a fixed size.
pub struct DenseTrainer<'g> {
    gpu: &'g Gpu,
    pipelines: Vec<wgpu::ComputePipeline>,
    batch: usize,
    input_len: usize,
    parameters: usize,
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
    /// The network `layers` (reading `input_len` values per record) with `params` as its
    /// starting values and `decay` each parameter's weight decay, for batches of `batch`.
    pub fn new(
        gpu: &'g Gpu,
        layers: &[TrainLayer],
        input_len: usize,
        params: &[f32],
        decay: &[f32],
        optimizer: GpuOptimizer,
        batch: usize,
    ) -> Result<DenseTrainer<'g>, GpuError> {
        let parameters = params.len();
        if decay.len() != parameters || batch == 0 || layers.is_empty() {
            return Err(GpuError::Execution(format!(
                "a trainer needs one decay per parameter ({} for {parameters}), a batch and layers",
                decay.len()
            )));
        }
        let device = gpu.device();
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("mialab training kernels"),
            source: wgpu::ShaderSource::Wgsl(include_str!("training.wgsl").into()),
        });
        let entry = |binding, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("mialab training"),
            entries: &[
                entry(0, true),
                entry(1, true),
                entry(2, false),
                entry(3, true),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("mialab training"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipelines: Vec<wgpu::ComputePipeline> = KERNELS
            .iter()
            .map(|name| {
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(name),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(name),
                    compilation_options: Default::default(),
                    cache: None,
                })
            })
            .collect();

        let floats =
            |label: &str, n: usize, usage: U| buffers::with_capacity(device, label, n, usage);
        let mut state_values = params.to_vec();
        state_values.resize(3 * parameters, 0.0);
        let state = buffers::storage_init(device, "state", &state_values, U::COPY_SRC);
        let grads = floats("gradients", parameters, U::STORAGE);
        let decay = buffers::storage_init(device, "decay", decay, U::empty());
        let mut lens = vec![input_len];
        lens.extend(layers.iter().map(TrainLayer::output_len));
        let activations: Vec<OwnedBuffer> = lens
            .iter()
            .map(|len| floats("activations", len * batch, U::STORAGE | U::COPY_DST))
            .collect();
        let masks: Vec<Option<OwnedBuffer>> = layers
            .iter()
            .map(|layer| match layer {
                TrainLayer::Dropout { len } => Some(floats(
                    "dropout mask",
                    len * batch,
                    U::STORAGE | U::COPY_DST,
                )),
                _ => None,
            })
            .collect();
        let widest = lens.iter().copied().max().unwrap_or(1);
        let gradients = [0, 1].map(|_| floats("activation gradients", widest * batch, U::STORAGE));
        let labels = floats("labels", batch, U::STORAGE | U::COPY_DST);
        let loss = floats("loss", 1, U::STORAGE | U::COPY_SRC | U::COPY_DST);
        let optimizer_settings = floats("optimizer settings", 9, U::STORAGE | U::COPY_DST);

        let mut held = Vec::new();
        let mut dispatches = Vec::new();
        let mut add =
            |kernel: usize, [x, y, z]: [&wgpu::Buffer; 3], q: &[u32], groups: [u32; 3]| {
                let params = buffers::storage_init(device, "training parameters", q, U::empty());
                let entries: Vec<wgpu::BindGroupEntry> = [x, y, z, &params]
                    .iter()
                    .enumerate()
                    .map(|(binding, buffer)| wgpu::BindGroupEntry {
                        binding: binding as u32,
                        resource: buffer.as_entire_binding(),
                    })
                    .collect();
                let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(KERNELS[kernel]),
                    layout: &layout,
                    entries: &entries,
                });
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
                    ),
                    product_groups(batch, outputs),
                ),
                TrainLayer::Activation { kind, len } => {
                    let [code, alpha] = activation_code(*kind);
                    add(
                        ACTIVATION_FORWARD,
                        [from, from, to],
                        &[(batch * len) as u32, code, alpha],
                        flat(batch * len),
                    );
                }
                TrainLayer::Dropout { len } => add(
                    MULTIPLY,
                    [
                        from,
                        masks[j].as_deref().expect("a dropout layer's mask"),
                        to,
                    ],
                    &[(batch * len) as u32],
                    flat(batch * len),
                ),
            }
        }
        let logits = &*activations[layers.len()];
        let width = lens[layers.len()] as u32;
        add(
            CROSS_ENTROPY_GRADIENT,
            [logits, &labels, &gradients[0]],
            &[n, width],
            flat(batch),
        );
        add(
            CROSS_ENTROPY_SUM,
            [logits, &labels, &loss],
            &[n, width],
            [1, 1, 1],
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
                        ),
                        product_groups(inputs, outputs),
                    );
                    add(
                        BIAS_GRADIENT,
                        [d_in, d_in, &grads],
                        &[n, outputs as u32, (offset + inputs * outputs) as u32],
                        flat(outputs),
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
                        ),
                        product_groups(batch, inputs),
                    );
                }
                TrainLayer::Activation { kind, len } => {
                    let [code, alpha] = activation_code(*kind);
                    add(
                        ACTIVATION_BACKWARD,
                        [input, d_in, d_out],
                        &[(batch * len) as u32, code, alpha],
                        flat(batch * len),
                    );
                }
                TrainLayer::Dropout { len } => add(
                    MULTIPLY,
                    [
                        d_in,
                        masks[j].as_deref().expect("a dropout layer's mask"),
                        d_out,
                    ],
                    &[(batch * len) as u32],
                    flat(batch * len),
                ),
            }
            d = 1 - d;
        }
        // The optimiser's parameters change every step: its dispatch reads them from a
        // buffer written before each submission.
        let entries: Vec<wgpu::BindGroupEntry> = [&*grads, &*decay, &*state, &*optimizer_settings]
            .iter()
            .enumerate()
            .map(|(binding, buffer)| wgpu::BindGroupEntry {
                binding: binding as u32,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        dispatches.push(Dispatch {
            kernel: OPTIMIZER_STEP,
            bind_group: device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("optimizer_step"),
                layout: &layout,
                entries: &entries,
            }),
            groups: flat_groups(parameters as u32),
        });
        held.extend([grads, decay]);
        held.extend(gradients);
        let trainer = DenseTrainer {
            gpu,
            pipelines,
            batch,
            input_len,
            parameters,
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

    /// One step on a batch: `x` (the batch's records), `labels` (their classes), `masks`
    /// (one per dropout layer, in order, each `batch × len` values).
    pub fn step(
        &self,
        x: &[f32],
        labels: &[u32],
        masks: &[Vec<f32>],
        settings: StepSettings,
    ) -> Result<(), GpuError> {
        let queue = self.gpu.queue();
        if labels.len() != self.batch || x.len() != self.batch * self.input_len {
            return Err(GpuError::Execution(format!(
                "a step of {} records was given {} labels and {} values",
                self.batch,
                labels.len(),
                x.len()
            )));
        }
        queue.write_buffer(&self.activations[0], 0, bytemuck::cast_slice(x));
        let labels: Vec<f32> = labels.iter().map(|&y| y as f32).collect();
        queue.write_buffer(&self.labels, 0, bytemuck::cast_slice(&labels));
        let mut given = masks.iter();
        for mask in self.masks.iter().flatten() {
            let values = given.next().ok_or_else(|| {
                GpuError::Execution("a dropout layer was given no mask".to_string())
            })?;
            queue.write_buffer(mask, 0, bytemuck::cast_slice(values));
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
        let q = [
            self.parameters as u32,
            kind,
            momentum.to_bits(),
            f32::to_bits(beta1),
            f32::to_bits(beta2),
            f32::to_bits(epsilon),
            settings.learning_rate.to_bits(),
            settings.correction1.to_bits(),
            settings.root_correction2.to_bits(),
        ];
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

    /// The sum of the batches' mean losses since the last call (which starts it again).
    pub async fn take_loss(&self) -> Result<f64, GpuError> {
        let sum = self.gpu.read_floats(&self.loss, 1).await?;
        self.gpu
            .queue()
            .write_buffer(&self.loss, 0, bytemuck::cast_slice(&[0.0f32]));
        Ok(sum[0] as f64)
    }

    /// The parameters as they stand.
    pub async fn parameters(&self) -> Result<Vec<f32>, GpuError> {
        self.gpu.read_floats(&self.state, self.parameters).await
    }
}
