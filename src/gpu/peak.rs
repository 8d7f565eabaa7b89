//! The adapter's measured multiply-add rate, so that a benchmark can say what fraction of
//! the GPU its kernels use. wgpu does not report an adapter's peak FLOP/s (and in the
//! browser the adapter's name is often hidden), so the peak is measured: a kernel of
//! independent register-only fused multiply-adds over enough invocations to fill the device,
//! grown until one run lasts long enough to time.

use super::buffers::{self, OwnedBuffer};
use super::device::{Gpu, GpuError, flat_groups};
use std::time::Instant;

/// Multiply-adds per invocation and round: eight `vec4` FMAs, two FLOPs each lane.
const FLOPS_PER_ROUND: f64 = 8.0 * 4.0 * 2.0;

/// Invocations per run: enough to keep a large GPU's every lane busy (an H100 holds 270,336
/// resident threads) several times over.
const INVOCATIONS: u32 = 1 << 20;

/// The shortest timed run that counts.
const LONG_ENOUGH_S: f64 = 0.2;

/// The adapter's fused multiply-add throughput in GFLOP/s (a multiply-add is two FLOPs),
/// the best of three timed runs once a run lasts [`LONG_ENOUGH_S`].
pub fn fma_gflops(gpu: &Gpu) -> Result<f64, GpuError> {
    let device = gpu.device();
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("fma rate"),
        source: wgpu::ShaderSource::Wgsl(include_str!("peak.wgsl").into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some("fma rate"),
        layout: None,
        module: &module,
        entry_point: Some("fma_rate"),
        compilation_options: Default::default(),
        cache: None,
    });
    let sums = buffers::with_capacity(
        device,
        "fma sums",
        INVOCATIONS as usize,
        wgpu::BufferUsages::STORAGE,
    );
    gpu.check("compiling the FMA-rate kernel")?;
    let mut rounds = 16u32;
    loop {
        let seconds = time_run(gpu, &pipeline, &sums, rounds)?;
        let longer = rounds.saturating_mul(4);
        if seconds >= LONG_ENOUGH_S || !gpu.loops_fit(longer as usize) || longer == rounds {
            let best = (0..3)
                .map(|_| time_run(gpu, &pipeline, &sums, rounds))
                .collect::<Result<Vec<f64>, GpuError>>()?
                .into_iter()
                .fold(f64::INFINITY, f64::min);
            let flops = f64::from(INVOCATIONS) * f64::from(rounds) * FLOPS_PER_ROUND;
            return Ok(flops / best / 1e9);
        }
        rounds = longer;
    }
}

/// Seconds for one submission of `rounds` rounds, waited for.
fn time_run(
    gpu: &Gpu,
    pipeline: &wgpu::ComputePipeline,
    sums: &OwnedBuffer,
    rounds: u32,
) -> Result<f64, GpuError> {
    let device = gpu.device();
    let params =
        buffers::storage_init(device, "fma rounds", &[rounds], wgpu::BufferUsages::empty());
    let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("fma rate"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: sums.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: params.as_entire_binding(),
            },
        ],
    });
    let mut encoder = device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        let [x, y, z] = flat_groups(INVOCATIONS);
        pass.dispatch_workgroups(x, y, z);
    }
    let started = Instant::now();
    gpu.queue().submit([encoder.finish()]);
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| GpuError::Execution(e.to_string()))?;
    gpu.check("running the FMA-rate kernel")?;
    Ok(started.elapsed().as_secs_f64())
}
