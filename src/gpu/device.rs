//! Running a [`Plan`] with `wgpu`: one device per process, the kernels compiled once, each
//! model's constants uploaded once, then batches of records through ping-pong buffers with
//! one command submission per batch and one read-back through a staging buffer. Batches are
//! sized to the device's limits (`Limits::downlevel_defaults()` is all it asks for).

use super::buffers::{self, OwnedBuffer, Scratch};
use super::pipelines;
use super::plan::{Activation, Layer, Plan, PoolKind};
#[cfg(not(target_arch = "wasm32"))]
use std::sync::OnceLock;
use std::sync::{Arc, Mutex};
use thiserror::Error;

const WORKGROUP: u32 = 64;
/// llvmpipe's loop limiter: an invocation's loops stop after this many iterations in all.
const LLVMPIPE_LOOP_LIMIT: usize = 65_535;
const MAX_GROUPS_PER_DIMENSION: u32 = 65_535;

/// Why the GPU path could not run.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GpuError {
    #[error("no GPU adapter with compute shaders: {0}")]
    NoAdapter(String),
    #[error("the GPU device could not be opened: {0}")]
    Device(String),
    #[error("the GPU failed while running the model: {0}")]
    Execution(String),
}

/// Kernel names, in the order of [`Gpu::pipelines`].
const KERNELS: [&str; 11] = [
    "dense",
    "conv2d",
    "pool2d",
    "channel_affine",
    "activation",
    "softmax",
    "signals",
    "dense_tiled",
    "conv2d_tiled",
    "dense_staged",
    "conv2d_staged",
];
const DENSE_TILED: usize = 7;
const CONV2D_TILED: usize = 8;
const DENSE_STAGED: usize = 9;
const CONV2D_STAGED: usize = 10;
/// Records × outputs one workgroup of `dense_tiled` computes.
const DENSE_TILE: (usize, usize) = (64, 64);
/// Output channels × positions one workgroup of `conv2d_tiled` computes.
const CONV_TILE: (usize, usize) = (4, 64);
/// Rows × columns one workgroup of a staged kernel computes (rows: records for a dense
/// layer, positions for a convolution, in blocks of 4).
const STAGED_TILE: (usize, usize) = (64, 32);

/// Which kernels run the matrix products (dense layers and convolutions). A device runs
/// the set [`Gpu::preferred_kernels`] names unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelSet {
    /// Dense layers and convolutions as register-tiled products (16 outputs per
    /// invocation), each with the activation after it fused.
    Tiled,
    /// Convolutions staged as in [`KernelSet::Staged`], dense layers register-tiled as in
    /// [`KernelSet::Tiled`]: each the faster kind on a hardware GPU (`cargo bench --bench
    /// backends` on an H200: the staged convolutional network 1.45× the tiled one, the staged
    /// dense network 0.62×).
    StagedConvolutions,
    /// Dense layers and convolutions as products whose operands are staged through
    /// workgroup memory, 16 values of k at a time (64 × 32 outputs per workgroup, 4 × 8 per
    /// invocation), each with the activation after it fused.
    Staged,
    /// One invocation per output value, every layer its own dispatch (the first kernels,
    /// kept as a baseline for the benchmark).
    Direct,
}

/// One dispatch of a model: the layer it computes and, for the tiled products, the
/// activation layer after it that it applies as it writes (that layer then has no dispatch).
#[derive(Debug, Clone, Copy)]
struct Step {
    layer: usize,
    /// The tiled kernel computing it, if any; else the layer's direct kernel.
    tiled: Option<usize>,
    fused: Option<Activation>,
    /// A convolution's 2×2 max-pool, applied by the tiled kernel after the activation.
    pooled: bool,
}

/// The device, its queue and every kernel compiled.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    layout: wgpu::BindGroupLayout,
    pipelines: Vec<wgpu::ComputePipeline>,
    adapter: String,
    /// The adapter is a software rasteriser (lavapipe, SwiftShader, WARP) on the CPU.
    software: bool,
    /// The most loop iterations one invocation may make, where the adapter limits them.
    loop_limit: Option<usize>,
    /// Errors the device reported outside an error scope.
    uncaptured: Arc<Mutex<Vec<String>>>,
    /// Nanoseconds per timestamp tick, where the device can time its dispatches (natively,
    /// on adapters with timestamp queries; see [`Gpu::time_dispatches`]).
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    timestamp_period: Option<f32>,
}

/// The process's GPU, opened on first use; the error says why there is none. (In the
/// browser the page opens one with [`Gpu::open`] and awaits it.)
#[cfg(not(target_arch = "wasm32"))]
pub fn shared() -> Result<&'static Gpu, GpuError> {
    static GPU: OnceLock<Result<Gpu, GpuError>> = OnceLock::new();
    GPU.get_or_init(|| pollster::block_on(Gpu::open()))
        .as_ref()
        .map_err(Clone::clone)
}

/// The device's memory goes back when the `Gpu` does (in the browser a dropped device
/// otherwise waits for the garbage collector; see [`super::buffers`]).
impl Drop for Gpu {
    fn drop(&mut self) {
        self.device.destroy();
    }
}

/// The largest buffer mialab asks a device for: larger batches stop paying well before it,
/// and a browser's GPU process holds every buffer.
const LARGEST_BUFFER: u64 = 1 << 30;

/// The most bytes of one layer's activations (all models of a set) a batch should make:
/// see [`Gpu::preferred_batch`].
const ACTIVATION_BUDGET: u64 = 256 << 20;

/// The limits mialab asks of an adapter: WebGPU's downlevel defaults (every kernel keeps to
/// four storage bindings and 256 invocations per workgroup), with buffers as large as the
/// adapter allows up to [`LARGEST_BUFFER`], so that a larger GPU takes larger batches and
/// more models per training set.
fn limits_for(adapter: &wgpu::Limits) -> wgpu::Limits {
    let defaults = wgpu::Limits::downlevel_defaults();
    wgpu::Limits {
        max_storage_buffer_binding_size: adapter.max_storage_buffer_binding_size.clamp(
            defaults.max_storage_buffer_binding_size,
            LARGEST_BUFFER.max(defaults.max_storage_buffer_binding_size),
        ),
        max_buffer_size: adapter.max_buffer_size.clamp(
            defaults.max_buffer_size,
            LARGEST_BUFFER.max(defaults.max_buffer_size),
        ),
        ..defaults
    }
}

impl Gpu {
    /// Opens the first adapter the platform offers (a software one, such as lavapipe or
    /// SwiftShader, counts) and compiles the kernels.
    pub async fn open() -> Result<Gpu, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions::default())
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        if !adapter
            .get_downlevel_capabilities()
            .flags
            .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        {
            return Err(GpuError::NoAdapter(format!(
                "{} has no compute shaders",
                info.name
            )));
        }
        let timestamps = cfg!(not(target_arch = "wasm32"))
            && adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("mialab"),
                required_limits: limits_for(&adapter.limits()),
                required_features: match timestamps {
                    true => wgpu::Features::TIMESTAMP_QUERY,
                    false => wgpu::Features::empty(),
                },
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::Device(e.to_string()))?;
        let uncaptured = Arc::new(Mutex::new(Vec::new()));
        let sink = uncaptured.clone();
        device.set_device_lost_callback(move |reason, message| {
            if let (wgpu::DeviceLostReason::Unknown, Ok(mut errors)) = (reason, sink.lock()) {
                errors.push(format!("the device was lost: {message}"));
            }
        });
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut errors) = sink.lock() {
                errors.push(e.to_string());
            }
        }));
        let (layout, pipelines) = pipelines::compile(
            &device,
            "mialab kernels",
            include_str!("kernels.wgsl"),
            &KERNELS,
            [true, false, true, true],
        );
        let gpu = Gpu {
            device,
            layout,
            pipelines,
            adapter: if info.name.is_empty() {
                format!("the browser's adapter ({:?})", info.backend)
            } else {
                format!("{} ({:?}, {})", info.name, info.backend, info.driver)
            },
            software: info.device_type == wgpu::DeviceType::Cpu,
            loop_limit: info
                .name
                .contains("llvmpipe")
                .then_some(LLVMPIPE_LOOP_LIMIT),
            uncaptured,
            timestamp_period: timestamps.then(|| queue.get_timestamp_period()),
            queue,
        };
        gpu.check("compiling the kernels")?;
        Ok(gpu)
    }

    /// The adapter, for reports: name, backend, driver.
    pub fn adapter(&self) -> &str {
        &self.adapter
    }

    /// Refuses work whose kernels would loop `iterations` times in one invocation on an
    /// adapter that cuts such loops short: llvmpipe (lavapipe) stops an invocation's loops
    /// after 65,535 iterations in all, without an error, so its results would be wrong.
    pub fn check_loops(&self, iterations: usize, what: &str) -> Result<(), GpuError> {
        match self.loop_limit {
            Some(limit) if !self.loops_fit(iterations) => Err(GpuError::Execution(format!(
                "{what} needs {iterations} loop iterations in one GPU invocation, and {} stops any invocation after {limit}",
                self.adapter
            ))),
            _ => Ok(()),
        }
    }

    /// Whether kernels looping `iterations` times in one invocation run whole here
    /// ([`Gpu::check_loops`] without the message).
    pub fn loops_fit(&self, iterations: usize) -> bool {
        self.loop_limit.is_none_or(|limit| iterations <= limit)
    }

    /// Whether the adapter is a software one running on the CPU, where tract is faster.
    pub fn is_software(&self) -> bool {
        self.software
    }

    pub(super) fn device(&self) -> &wgpu::Device {
        &self.device
    }

    pub(super) fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// The first `values` floats of `buffer`, once the work submitted before is done.
    pub(super) async fn read_floats(
        &self,
        buffer: &wgpu::Buffer,
        values: usize,
    ) -> Result<Vec<f32>, GpuError> {
        use wgpu::BufferUsages as U;
        let staging =
            buffers::with_capacity(&self.device, "read-back", values, U::MAP_READ | U::COPY_DST);
        let encoder = self.device.create_command_encoder(&Default::default());
        self.read_back(encoder, buffer, &staging, values).await
    }

    /// The errors the device reported since the last check, as one error about `what`.
    pub(super) fn check(&self, what: &str) -> Result<(), GpuError> {
        let errors = std::mem::take(
            &mut *self
                .uncaptured
                .lock()
                .map_err(|_| GpuError::Execution("the GPU error log was poisoned".to_string()))?,
        );
        match errors.is_empty() {
            true => Ok(()),
            false => Err(GpuError::Execution(format!(
                "{what}: {}",
                errors.join("; ")
            ))),
        }
    }

    /// Uploads a plan's constants once.
    pub fn upload(&self, plan: &Plan) -> GpuModel {
        self.upload_set(&[plan])
            .expect("one plan has one structure")
    }

    /// Uploads the constants of several models of one architecture (same layers, same
    /// shapes), so that one dispatch per layer runs all of them; `None` if they differ.
    pub fn upload_set(&self, plans: &[&Plan]) -> Option<GpuModel> {
        self.upload_set_with(plans, self.preferred_kernels())
    }

    /// The kernels that run products fastest on this adapter, as measured: on a software
    /// adapter the register-tiled ones (lavapipe runs workgroup barriers slowly: the staged
    /// convolutional network ran 0.81× the tiled one), on a hardware GPU staged convolutions
    /// and register-tiled dense layers (see [`KernelSet::StagedConvolutions`]).
    pub fn preferred_kernels(&self) -> KernelSet {
        match self.software {
            true => KernelSet::Tiled,
            false => KernelSet::StagedConvolutions,
        }
    }

    /// [`Gpu::upload_set`] run by the kernels of `kernels`.
    pub fn upload_set_with(&self, plans: &[&Plan], kernels: KernelSet) -> Option<GpuModel> {
        let first = *plans.first()?;
        if plans.iter().any(|p| !p.same_structure(first)) {
            return None;
        }
        let mut constants = Vec::with_capacity(first.layers.len());
        let mut strides = Vec::with_capacity(first.layers.len());
        for i in 0..first.layers.len() {
            let per_model: Vec<Vec<f32>> =
                plans.iter().map(|p| constants_of(&p.layers[i])).collect();
            strides.push(per_model[0].len());
            constants.push(self.storage_init("layer constants", &per_model.concat()));
        }
        Some(GpuModel {
            plan: first.clone(),
            models: plans.len(),
            constants,
            strides,
            steps: steps_of(first, kernels),
            kernels,
        })
    }

    fn storage_init<T: bytemuck::Pod + Default>(&self, label: &str, values: &[T]) -> OwnedBuffer {
        buffers::storage_init(&self.device, label, values, wgpu::BufferUsages::empty())
    }

    /// The most bytes one buffer binding may hold on this device.
    pub fn largest_binding(&self) -> u64 {
        let limits = self.device.limits();
        limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size)
    }

    /// The most records one batch of `plan` over `models` models may hold within the
    /// device's buffer limits.
    pub fn max_batch(&self, plan: &Plan, models: usize) -> usize {
        let bytes = self.largest_binding();
        let per_record = (plan.widest().max(1) * models.max(1) * 4) as u64;
        // A tiled convolution's workgroups along records × positions stay within a grid
        // dimension.
        let grid = plan
            .layers
            .iter()
            .filter_map(|l| match l {
                Layer::Conv2d { window, .. } => Some(
                    MAX_GROUPS_PER_DIMENSION as usize * CONV_TILE.1.min(STAGED_TILE.0 / 4)
                        / (window.out_h * window.out_w).div_ceil(4).max(1),
                ),
                _ => None,
            })
            .min()
            .unwrap_or(usize::MAX);
        ((bytes / per_record) as usize).min(grid).max(1)
    }

    /// The records per batch that run fastest, as far as measured: at most [`Gpu::max_batch`],
    /// and few enough that one layer's activations over all `models` stay within
    /// [`ACTIVATION_BUDGET`]. On an H200 the Fashion-MNIST set ran 1.56 M records×models/s in
    /// batches of 314 (this rule's), 1.49 M in 256 and 1.03 M in 1,258 (the buffer limit); the
    /// SUPPORT2 set, whose activations are 49 times narrower, was fastest at 2,048.
    pub fn preferred_batch(&self, plan: &Plan, models: usize) -> usize {
        let per_record = (plan.widest().max(1) * models.max(1) * 4) as u64;
        self.max_batch(plan, models)
            .min((ACTIVATION_BUDGET / per_record) as usize)
            .max(1)
    }

    /// Runs `model` over `n` records stored one after another in `input`, `batch` records
    /// at a time, and returns the outputs, one record after another (for a set of models,
    /// model after model: `[models, n, outputs]`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run(
        &self,
        model: &GpuModel,
        input: &[f32],
        n: usize,
        batch: usize,
    ) -> Result<Vec<f32>, GpuError> {
        pollster::block_on(self.run_async(model, input, n, batch))
    }

    /// [`Gpu::run`], then the signal reduction: for every model and record, `[p_y,
    /// logit_scaled]` from the logits and `labels` (one per record), so that two floats per
    /// record and model come back instead of one per class.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_reduced(
        &self,
        model: &GpuModel,
        input: &[f32],
        labels: &[u32],
        batch: usize,
    ) -> Result<Vec<f32>, GpuError> {
        pollster::block_on(self.run_with(model, input, labels.len(), batch, Some(labels)))
    }

    /// [`Gpu::run`], awaiting each batch's read-back (the only way in the browser).
    pub async fn run_async(
        &self,
        model: &GpuModel,
        input: &[f32],
        n: usize,
        batch: usize,
    ) -> Result<Vec<f32>, GpuError> {
        self.run_with(model, input, n, batch, None).await
    }

    async fn run_with(
        &self,
        model: &GpuModel,
        input: &[f32],
        n: usize,
        batch: usize,
        labels: Option<&[u32]>,
    ) -> Result<Vec<f32>, GpuError> {
        let plan = &model.plan;
        let width = if labels.is_some() {
            2
        } else {
            plan.output_len()
        };
        let batch = batch.clamp(1, self.max_batch(plan, model.models));
        let scratch = Scratch::new(
            &self.device,
            batch.min(n),
            plan.input_len,
            plan.widest(),
            model.models,
            width,
        );
        let mut per_model = vec![Vec::with_capacity(n * width); model.models];
        for start in (0..n).step_by(batch) {
            let count = batch.min(n - start);
            let records = &input[start * plan.input_len..(start + count) * plan.input_len];
            let batch_labels = labels.map(|l| &l[start..start + count]);
            let out = self
                .run_batch(model, &scratch, records, count, batch_labels, None)
                .await?;
            for (m, rows) in out.chunks(count * width).enumerate() {
                per_model[m].extend_from_slice(rows);
            }
        }
        Ok(per_model.concat())
    }

    async fn run_batch(
        &self,
        model: &GpuModel,
        scratch: &Scratch,
        input: &[f32],
        n: usize,
        labels: Option<&[u32]>,
        timer: Option<&DispatchTimer>,
    ) -> Result<Vec<f32>, GpuError> {
        let plan = &model.plan;
        if n == 0 {
            return Ok(Vec::new());
        }
        if plan.layers.is_empty() {
            return Ok(input.repeat(model.models));
        }
        self.queue
            .write_buffer(&scratch.records, 0, bytemuck::cast_slice(input));
        let ping_pong = &scratch.activations;
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let mut params_buffers = Vec::with_capacity(model.steps.len());
        for (i, step) in model.steps.iter().enumerate() {
            let layer = &plan.layers[step.layer];
            let header = [n, usize::from(step.layer == 0), model.strides[step.layer]];
            let (kernel, params, groups) = match step.tiled {
                Some(kernel) => tiled_dispatch_of(layer, kernel, step, n, model.models, header),
                None => {
                    let (kernel, params, invocations) =
                        dispatch_of(layer, n * model.models, header);
                    (kernel, params, flat_groups(invocations))
                }
            };
            let params = self.storage_init("layer parameters", &params);
            let from = if i == 0 {
                &scratch.records
            } else {
                &ping_pong[(i + 1) % 2]
            };
            let to = &ping_pong[i % 2];
            self.encode(
                &mut encoder,
                kernel,
                [from, to, &model.constants[step.layer], &params],
                groups,
                timer.map(|t| (&t.queries, i as u32)),
            );
            params_buffers.push(params);
        }
        if let Some(timer) = timer {
            let count = 2 * model.steps.len() as u32;
            encoder.resolve_query_set(&timer.queries, 0..count, &timer.resolved, 0);
            encoder.copy_buffer_to_buffer(
                &timer.resolved,
                0,
                &timer.staging,
                0,
                u64::from(count) * 8,
            );
        }
        let last = &ping_pong[(model.steps.len() + 1) % 2];
        let Some(labels) = labels else {
            return self
                .read_back(
                    encoder,
                    last,
                    &scratch.staging,
                    n * model.models * plan.output_len(),
                )
                .await;
        };
        let rows = n * model.models;
        let reduced = &ping_pong[model.steps.len() % 2];
        let _in_use = self.encode_reduction(
            &mut encoder,
            [last, reduced],
            labels,
            rows,
            plan.output_len(),
        );
        self.read_back(encoder, reduced, &scratch.staging, rows * 2)
            .await
    }

    /// Encodes the signal reduction of `rows` rows of logits (`[from, to]`; records × models,
    /// `labels` one per record) into `[p_y, logit_scaled]` per row; returns the buffers it
    /// made, which must outlive the submission.
    fn encode_reduction(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        [from, to]: [&wgpu::Buffer; 2],
        labels: &[u32],
        rows: usize,
        classes: usize,
    ) -> [OwnedBuffer; 2] {
        let records = labels.len();
        let labels: Vec<f32> = labels.iter().map(|&y| y as f32).collect();
        let labels = self.storage_init("labels", &labels);
        let header = [rows, records, 0, 0, classes].map(|v| v as u32);
        let params = self.storage_init("signal parameters", &header);
        self.encode(
            encoder,
            6,
            [from, to, &labels, &params],
            flat_groups(rows as u32),
            None,
        );
        [labels, params]
    }

    fn encode(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        kernel: usize,
        buffers: [&wgpu::Buffer; 4],
        [x, y, z]: [u32; 3],
        timed: Option<(&wgpu::QuerySet, u32)>,
    ) {
        let bind_group = pipelines::bind(&self.device, &self.layout, KERNELS[kernel], buffers);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(KERNELS[kernel]),
            timestamp_writes: timed.map(|(query_set, i)| wgpu::ComputePassTimestampWrites {
                query_set,
                beginning_of_pass_write_index: Some(2 * i),
                end_of_pass_write_index: Some(2 * i + 1),
            }),
        });
        pass.set_pipeline(&self.pipelines[kernel]);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }

    async fn read_back(
        &self,
        mut encoder: wgpu::CommandEncoder,
        buffer: &wgpu::Buffer,
        staging: &wgpu::Buffer,
        values: usize,
    ) -> Result<Vec<f32>, GpuError> {
        let bytes = (values * 4) as u64;
        encoder.copy_buffer_to_buffer(buffer, 0, staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        self.mapped(staging, bytes).await
    }

    /// The first `bytes` of `staging` as values of `T`, once the work submitted before is
    /// done.
    async fn mapped<T: bytemuck::Pod>(
        &self,
        staging: &wgpu::Buffer,
        bytes: u64,
    ) -> Result<Vec<T>, GpuError> {
        let slice = staging.slice(..bytes);
        let (sender, receiver) = futures_channel::oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = sender.send(r);
        });
        // Natively this waits for the GPU and runs the callback; in the browser it does
        // nothing and the callback comes from the event loop while we await.
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::Execution(e.to_string()))?;
        let mapped = receiver
            .await
            .map_err(|_| GpuError::Execution("the GPU dropped a read-back".to_string()))?;
        self.check("running the kernels")?;
        mapped.map_err(|e| GpuError::Execution(e.to_string()))?;
        let view = slice
            .get_mapped_range()
            .map_err(|e| GpuError::Execution(e.to_string()))?;
        let out = bytemuck::pod_collect_to_vec::<u8, T>(&view);
        drop(view);
        staging.unmap();
        Ok(out)
    }

    /// Each dispatch's time on the GPU over one batch of the first `n` records of `input`,
    /// from timestamps written at the start and end of its compute pass, in order; `None`
    /// where the device has no timestamp queries (the browser, some adapters).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn time_dispatches(
        &self,
        model: &GpuModel,
        input: &[f32],
        n: usize,
    ) -> Result<Option<Vec<DispatchTime>>, GpuError> {
        use wgpu::BufferUsages as U;
        let Some(period) = self.timestamp_period else {
            return Ok(None);
        };
        let plan = &model.plan;
        if n == 0 || model.steps.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let count = 2 * model.steps.len() as u32;
        let timer = DispatchTimer {
            queries: self.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("dispatch times"),
                ty: wgpu::QueryType::Timestamp,
                count,
            }),
            resolved: buffers::with_capacity(
                &self.device,
                "dispatch times",
                2 * count as usize,
                U::QUERY_RESOLVE | U::COPY_SRC,
            ),
            staging: buffers::with_capacity(
                &self.device,
                "dispatch times read-back",
                2 * count as usize,
                U::MAP_READ | U::COPY_DST,
            ),
        };
        let scratch = Scratch::new(
            &self.device,
            n,
            plan.input_len,
            plan.widest(),
            model.models,
            plan.output_len(),
        );
        let records = &input[..n * plan.input_len];
        pollster::block_on(self.run_batch(model, &scratch, records, n, None, Some(&timer)))?;
        let ticks: Vec<u64> =
            pollster::block_on(self.mapped(&timer.staging, u64::from(count) * 8))?;
        Ok(Some(
            model
                .steps
                .iter()
                .zip(model.dispatch_names())
                .zip(ticks.chunks_exact(2))
                .map(|((step, name), t)| DispatchTime {
                    name,
                    seconds: t[1].saturating_sub(t[0]) as f64 * f64::from(period) * 1e-9,
                    flops: (plan.layers[step.layer].flops() * n * model.models) as f64,
                })
                .collect(),
        ))
    }

    /// One layer alone over `n` records (for the kernels' tests against their twins).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_layer(&self, layer: &Layer, input: &[f32], n: usize) -> Result<Vec<f32>, GpuError> {
        let input_len = input.len().checked_div(n).unwrap_or(0);
        let plan = Plan {
            input_len,
            layers: vec![layer.clone()],
        };
        self.run(&self.upload(&plan), input, n, n.max(1))
    }

    /// The signal reduction kernel: `[p_y, logit_scaled]` per row of `logits`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn reduce_signals(
        &self,
        logits: &[f32],
        classes: usize,
        labels: &[u32],
    ) -> Result<Vec<f32>, GpuError> {
        let rows = labels.len();
        if rows == 0 {
            return Ok(Vec::new());
        }
        use wgpu::BufferUsages as U;
        let source = self.storage_init("logits", logits);
        let out =
            buffers::with_capacity(&self.device, "signals", rows * 2, U::STORAGE | U::COPY_SRC);
        let staging = buffers::with_capacity(
            &self.device,
            "read-back",
            rows * 2,
            U::MAP_READ | U::COPY_DST,
        );
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let _in_use = self.encode_reduction(&mut encoder, [&source, &out], labels, rows, classes);
        pollster::block_on(self.read_back(encoder, &out, &staging, rows * 2))
    }
}

/// The timestamp queries of one timed batch, and the buffers they are read back through
/// (made only natively, by [`Gpu::time_dispatches`]).
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
struct DispatchTimer {
    queries: wgpu::QuerySet,
    resolved: OwnedBuffer,
    staging: OwnedBuffer,
}

/// One dispatch's time on the GPU ([`Gpu::time_dispatches`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DispatchTime {
    /// The layers it computes, joined by `+` ("conv2d+activation+max_pool").
    pub name: String,
    pub seconds: f64,
    /// The products' floating-point operations it did (a multiply-add is two).
    pub flops: f64,
}

/// A plan with its constants on the device: one model, or several of one architecture.
pub struct GpuModel {
    plan: Plan,
    models: usize,
    constants: Vec<OwnedBuffer>,
    /// Length of one model's constants, per layer.
    strides: Vec<usize>,
    steps: Vec<Step>,
    kernels: KernelSet,
}

impl GpuModel {
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// How many models run in each dispatch.
    pub fn models(&self) -> usize {
        self.models
    }

    /// The kernels that run its matrix products.
    pub fn kernels(&self) -> KernelSet {
        self.kernels
    }

    /// Its dispatches in order, the layers a tiled product takes along joined by `+`
    /// ("conv2d+activation+max_pool, dense").
    pub fn describe_dispatches(&self) -> String {
        self.dispatch_names().join(", ")
    }

    /// Each dispatch's layers joined by `+`, in order.
    pub fn dispatch_names(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|step| {
                let taken = usize::from(step.fused.is_some()) + usize::from(step.pooled);
                self.plan.layers[step.layer..=step.layer + taken]
                    .iter()
                    .map(Layer::name)
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect()
    }
}

/// The workgroups of a one-dimensional kernel of `invocations` invocations, folded into a
/// second dimension past the per-dimension limit.
pub(super) fn flat_groups(invocations: u32) -> [u32; 3] {
    let groups = invocations.div_ceil(WORKGROUP).max(1);
    let x = groups.min(MAX_GROUPS_PER_DIMENSION);
    [x, groups.div_ceil(x), 1]
}

/// The dispatches of `plan`: with the tiled kernels, every dense layer and convolution is
/// a tiled product and takes the activation after it along.
fn steps_of(plan: &Plan, kernels: KernelSet) -> Vec<Step> {
    let mut steps = Vec::with_capacity(plan.layers.len());
    let mut i = 0;
    while i < plan.layers.len() {
        let tiled = match (&plan.layers[i], kernels) {
            (Layer::Dense { .. }, KernelSet::Tiled | KernelSet::StagedConvolutions) => {
                Some(DENSE_TILED)
            }
            (Layer::Conv2d { .. }, KernelSet::Tiled) => Some(CONV2D_TILED),
            (Layer::Conv2d { .. }, KernelSet::StagedConvolutions) => Some(CONV2D_STAGED),
            (Layer::Dense { .. }, KernelSet::Staged) => Some(DENSE_STAGED),
            (Layer::Conv2d { .. }, KernelSet::Staged) => Some(CONV2D_STAGED),
            _ => None,
        };
        let Some(kernel) = tiled else {
            steps.push(Step {
                layer: i,
                tiled: None,
                fused: None,
                pooled: false,
            });
            i += 1;
            continue;
        };
        let fused = match plan.layers.get(i + 1) {
            Some(Layer::Activation { kind, .. }) => Some(*kind),
            _ => None,
        };
        let after = i + 1 + usize::from(fused.is_some());
        let pooled = (kernel == CONV2D_TILED || kernel == CONV2D_STAGED)
            && matches!(
                plan.layers.get(after),
                Some(Layer::Pool2d { window, kind: PoolKind::Max })
                    if window.kernel == (2, 2) && window.stride == (2, 2) && window.pad == (0, 0)
            );
        steps.push(Step {
            layer: i,
            tiled: Some(kernel),
            fused,
            pooled,
        });
        i = after + usize::from(pooled);
    }
    steps
}

/// The activation code and alpha bits the kernels read (4: none).
fn activation_code(kind: Option<Activation>) -> [u32; 2] {
    match kind {
        Some(Activation::Relu) => [0, 0],
        Some(Activation::Sigmoid) => [1, 0],
        Some(Activation::Tanh) => [2, 0],
        Some(Activation::LeakyRelu(a)) => [3, a.to_bits()],
        None => [4, 0],
    }
}

/// A tiled product's kernel, parameters and workgroups for `records` records of each of
/// `models` models; `header` as for [`dispatch_of`].
fn tiled_dispatch_of(
    layer: &Layer,
    kernel: usize,
    step: &Step,
    records: usize,
    models: usize,
    header: [usize; 3],
) -> (usize, Vec<u32>, [u32; 3]) {
    let mut params = vec![0u32];
    params.extend(header.map(|v| v as u32));
    // Workgroups along x and y: (output rows, per workgroup) and (output columns, per
    // workgroup) in each kernel's orientation.
    let ([x, per_x], [y, per_y]) = match layer {
        Layer::Dense {
            inputs, outputs, ..
        } => {
            params.extend([*inputs as u32, *outputs as u32]);
            match kernel {
                DENSE_STAGED => ([records, STAGED_TILE.0], [*outputs, STAGED_TILE.1]),
                _ => ([*outputs, DENSE_TILE.1], [records, DENSE_TILE.0]),
            }
        }
        Layer::Conv2d {
            window,
            channels_out,
            ..
        } => {
            params.extend(window.kernel_parameters());
            params.push(*channels_out as u32);
            let quads = if step.pooled {
                (window.out_h / 2) * (window.out_w / 2)
            } else {
                (window.out_h * window.out_w).div_ceil(4)
            };
            match kernel {
                CONV2D_STAGED => (
                    [records * quads, STAGED_TILE.0 / 4],
                    [*channels_out, STAGED_TILE.1],
                ),
                _ => ([records * quads, CONV_TILE.1], [*channels_out, CONV_TILE.0]),
            }
        }
        _ => unreachable!("only products are tiled"),
    };
    params.extend(activation_code(step.fused));
    params.push(u32::from(step.pooled));
    let groups = [x.div_ceil(per_x), y.div_ceil(per_y), models].map(|g| g.max(1) as u32);
    (kernel, params, groups)
}

fn constants_of(layer: &Layer) -> Vec<f32> {
    match layer {
        Layer::Dense { weight, bias, .. } | Layer::Conv2d { weight, bias, .. } => {
            [weight.as_slice(), bias.as_slice()].concat()
        }
        Layer::ChannelAffine { scale, shift, .. } => [scale.as_slice(), shift.as_slice()].concat(),
        Layer::Pool2d { .. } | Layer::Activation { .. } | Layer::Softmax { .. } => Vec::new(),
    }
}

/// The kernel, its parameters and its number of invocations for `layer` over `rows` output
/// rows (records × models); `header` = [records per model, first layer?, constants per model].
fn dispatch_of(layer: &Layer, rows: usize, header: [usize; 3]) -> (usize, Vec<u32>, u32) {
    let total = (rows * layer.output_len()) as u32;
    let (kernel, specific, invocations): (usize, Vec<u32>, u32) = match layer {
        Layer::Dense {
            inputs, outputs, ..
        } => (0, vec![*inputs as u32, *outputs as u32], total),
        Layer::Conv2d {
            window,
            channels_out,
            ..
        } => {
            let mut p = window.kernel_parameters().to_vec();
            p.push(*channels_out as u32);
            (1, p, total)
        }
        Layer::Pool2d { window, kind } => {
            let mut p = window.kernel_parameters().to_vec();
            p.push(kind.kernel_code());
            (2, p, total)
        }
        Layer::ChannelAffine {
            channels, inner, ..
        } => (3, vec![*channels as u32, *inner as u32], total),
        Layer::Activation { kind, len } => {
            let (code, alpha) = match kind {
                Activation::Relu => (0, 0.0),
                Activation::Sigmoid => (1, 0.0),
                Activation::Tanh => (2, 0.0),
                Activation::LeakyRelu(a) => (3, *a),
            };
            (4, vec![code, f32::to_bits(alpha), *len as u32], total)
        }
        Layer::Softmax { classes, log } => (5, vec![*classes as u32, u32::from(*log)], rows as u32),
    };
    let count = if kernel == 5 { rows as u32 } else { total };
    let mut params = vec![count];
    params.extend(header.map(|v| v as u32));
    params.extend(specific);
    (kernel, params, invocations)
}
