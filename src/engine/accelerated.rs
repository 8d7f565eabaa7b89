//! The native GPU path of the engine (the `gpu` feature): models lowered to kernels run on
//! the process's wgpu device, one model at a time or many models of one architecture per
//! dispatch. `auto` leaves software adapters (lavapipe) to tract, which is faster there.

use super::{BackendChoice, BackendUsed, ReducedSignals};
use crate::gpu::{Gpu, GpuError, GpuModel, Layer, Plan};
use crate::model::Model;
use crate::progress::{NoProgress, Progress, ProgressSink};
use ndarray::{Array2, ArrayD};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Each single model's constants on the GPU, uploaded on its first run, by model id.
#[derive(Default)]
pub(super) struct State {
    uploaded: Mutex<HashMap<u64, Arc<GpuModel>>>,
}

impl State {
    /// Runs one model on the GPU, or says why it cannot run there.
    pub(super) fn run(
        &self,
        model: &Model,
        features: &ArrayD<f32>,
        choice: BackendChoice,
        batch_size: usize,
        progress: &mut dyn ProgressSink,
    ) -> Result<(Array2<f32>, BackendUsed), String> {
        model
            .check_records(features.shape(), "the records")
            .map_err(|e| e.to_string())?;
        let plan = model.gpu_plan().map_err(|e| e.to_string())?;
        let gpu = usable_gpu(choice)?;
        gpu.check_loops(plan.loop_iterations(), "this model")
            .map_err(|e| e.to_string())?;
        let uploaded = {
            let mut cache = self.uploaded.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .entry(model.id())
                .or_insert_with(|| Arc::new(gpu.upload(plan)))
                .clone()
        };
        let n = features.shape()[0];
        let width = plan.output_len();
        let out = run_in_batches(gpu, &uploaded, features, None, batch_size, progress)
            .map_err(|e| e.to_string())?
            .concat();
        let out = Array2::from_shape_vec((n, width), out).map_err(|e| e.to_string())?;
        let used = BackendUsed {
            engine: "gpu".to_string(),
            detail: format!("GPU kernels ({}) on {}", plan.describe(), gpu.adapter()),
        };
        Ok((out, used))
    }

    /// Runs several models of one architecture in shared dispatches; `None` where that path
    /// does not apply.
    pub(super) fn run_set(
        &self,
        models: &[Model],
        features: &ArrayD<f32>,
        choice: BackendChoice,
        batch_size: usize,
    ) -> Option<(Vec<Array2<f32>>, BackendUsed)> {
        let (outputs, used) =
            shared_dispatches(models, features, None, choice, batch_size, &mut NoProgress)?;
        let n = features.shape()[0];
        let outputs = outputs
            .into_iter()
            .map(|v| Array2::from_shape_vec((n, v.len() / n.max(1)), v).ok())
            .collect::<Option<Vec<_>>>()?;
        Some((outputs, used))
    }

    /// As `run_set`, reduced on the GPU to `(p_y, logit_scaled)` per record and model.
    pub(super) fn run_set_reduced(
        &self,
        models: &[Model],
        features: &ArrayD<f32>,
        labels: &[usize],
        choice: BackendChoice,
        batch_size: usize,
        progress: &mut dyn ProgressSink,
    ) -> Option<(Vec<ReducedSignals>, BackendUsed)> {
        let ends_in_logits = models.iter().all(|m| {
            m.gpu_plan().is_ok_and(|p| {
                p.output_len() >= 2
                    && !matches!(
                        p.layers.last(),
                        Some(Layer::Softmax { .. } | Layer::Activation { .. })
                    )
            })
        });
        if !ends_in_logits {
            return None;
        }
        let labels: Vec<u32> = labels.iter().map(|&y| y as u32).collect();
        let (outputs, mut used) = shared_dispatches(
            models,
            features,
            Some(&labels),
            choice,
            batch_size,
            progress,
        )?;
        used.detail.push_str(", signals reduced on the GPU");
        let pairs = outputs
            .into_iter()
            .map(|v| v.chunks_exact(2).map(|c| (c[0], c[1])).collect())
            .collect();
        Some((pairs, used))
    }
}

/// Runs `models` (one architecture) over `features` on the GPU, all in each dispatch; with
/// `labels`, reduced to `[p_y, logit_scaled]` per record. One flat output per model.
fn shared_dispatches(
    models: &[Model],
    features: &ArrayD<f32>,
    labels: Option<&[u32]>,
    choice: BackendChoice,
    batch_size: usize,
    progress: &mut dyn ProgressSink,
) -> Option<(Vec<Vec<f32>>, BackendUsed)> {
    if choice.cpu_engine().is_some() || models.len() < 2 {
        return None;
    }
    let gpu = usable_gpu(choice).ok()?;
    let plans: Vec<&Plan> = models
        .iter()
        .map(|m| m.gpu_plan().ok().map(|p| p.as_ref()))
        .collect::<Option<_>>()?;
    if models
        .iter()
        .any(|m| m.check_records(features.shape(), "the records").is_err())
        || plans.iter().any(|p| !gpu.loops_fit(p.loop_iterations()))
    {
        return None;
    }
    let set = gpu.upload_set(&plans)?;
    let per_model = run_in_batches(gpu, &set, features, labels, batch_size, progress).ok()?;
    let used = BackendUsed {
        engine: "gpu".to_string(),
        detail: format!(
            "GPU kernels on {}, {} models per dispatch",
            gpu.adapter(),
            models.len()
        ),
    };
    Some((per_model, used))
}

/// The process's GPU if `choice` may use it: `auto` leaves software adapters to tract.
fn usable_gpu(choice: BackendChoice) -> Result<&'static Gpu, String> {
    let gpu = crate::gpu::device::shared().map_err(|e| e.to_string())?;
    if gpu.is_software() && choice == BackendChoice::Auto {
        return Err(format!(
            "the only GPU adapter, {}, is a software one on the CPU (slower than tract; choosing the gpu backend uses it anyway)",
            gpu.adapter()
        ));
    }
    Ok(gpu)
}

/// Runs `model` (one model or a set) over `features` in batches, reporting progress; with
/// `labels`, reduced to `[p_y, logit_scaled]` per record. One flat output per model.
fn run_in_batches(
    gpu: &Gpu,
    model: &GpuModel,
    features: &ArrayD<f32>,
    labels: Option<&[u32]>,
    batch_size: usize,
    progress: &mut dyn ProgressSink,
) -> Result<Vec<Vec<f32>>, GpuError> {
    let plan = model.plan();
    let n = features.shape()[0];
    let values = features.as_standard_layout();
    let input = values.as_slice().unwrap_or_default();
    let width = if labels.is_some() {
        2
    } else {
        plan.output_len()
    };
    let batch = gpu
        .preferred_batch(plan, model.models())
        .min(batch_size.max(1) * 8);
    let mut per_model = vec![Vec::with_capacity(n * width); model.models()];
    for start in (0..n).step_by(batch) {
        let end = (start + batch).min(n);
        let chunk = &input[start * plan.input_len..end * plan.input_len];
        let out = match labels {
            Some(l) => gpu.run_reduced(model, chunk, &l[start..end], batch)?,
            None => gpu.run(model, chunk, end - start, batch)?,
        };
        for (k, rows) in out.chunks((end - start) * width).enumerate() {
            per_model[k].extend_from_slice(rows);
        }
        progress.update(Progress {
            step: "inference (GPU)",
            done: end,
            total: n,
        });
    }
    Ok(per_model)
}
