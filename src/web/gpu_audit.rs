//! The page's audit on WebGPU. WebGPU can only be awaited and the audit runs synchronously,
//! so the page asks the [`Lab`] for a [`GpuJob`] (the target and its references, lowered, with
//! the audit and population records), awaits [`run_gpu_job`] on the browser's adapter, and
//! hands the outputs back ([`Lab::remember_gpu_outputs`]) to the session's engine, whose
//! calls during the audit then find them. Runs the job does not cover (augmented copies,
//! noisy queries) stay on the CPU and say so in the report.

use super::job_sets::{JobSet, job_sets};
use super::{Lab, plain_error, to_js};
use crate::engine::BackendUsed;
use crate::gpu::{Gpu, Plan};
use ndarray::Array2;
use std::sync::Arc;
use wasm_bindgen::prelude::*;

/// Floating-point work per GPU submission. Each submission is awaited before the next, so
/// this bounds how long one takes: about two seconds on SwiftShader (1 GFLOP/s), milliseconds
/// on a hardware adapter.
const FLOP_PER_SUBMISSION: f64 = 2e9;

/// What the page asks the GPU to run before an audit: every model of the session over each
/// record set, or why that cannot be.
#[wasm_bindgen]
pub struct GpuJob {
    models: Vec<(u64, Arc<Plan>)>,
    sets: Vec<JobSet>,
    /// Why the models cannot run on the GPU (a graph that does not lower).
    unable: Option<String>,
    /// The engine already holds every output this job would compute.
    done: bool,
}

#[wasm_bindgen]
impl GpuJob {
    /// Whether the session's engine already holds this job's outputs (nothing to run).
    #[wasm_bindgen(getter)]
    pub fn done(&self) -> bool {
        self.done
    }
}

/// The outputs of a [`GpuJob`], or why it did not run.
#[wasm_bindgen]
pub struct GpuOutputs {
    /// `(model id, records fingerprint, outputs)`.
    outputs: Vec<(u64, u64, Array2<f32>)>,
    used: Option<BackendUsed>,
    reason: Option<String>,
}

impl GpuOutputs {
    fn not_run(reason: String) -> GpuOutputs {
        GpuOutputs {
            outputs: Vec::new(),
            used: None,
            reason: Some(reason),
        }
    }
}

#[wasm_bindgen]
impl Lab {
    /// The GPU job of this session's target and references over its audit and population
    /// records, or (nothing loaded to run, a graph that does not lower) why there is none.
    #[wasm_bindgen(js_name = gpuJob)]
    pub fn gpu_job(&self) -> GpuJob {
        let session = &self.session;
        let unable = |reason: &str| GpuJob {
            models: Vec::new(),
            sets: Vec::new(),
            unable: Some(reason.to_string()),
            done: false,
        };
        let Some(target) = session.target() else {
            return unable(
                "no model is loaded to run (outputs provided instead of a model run nowhere)",
            );
        };
        let sets = match job_sets(session) {
            Ok(sets) => sets,
            Err(reason) => return unable(reason),
        };
        let lowered: Result<Vec<(u64, Arc<Plan>)>, String> = std::iter::once(target)
            .chain(session.loaded_references())
            .map(|m| {
                m.gpu_plan()
                    .map(|p| (m.id(), p.clone()))
                    .map_err(|e| e.to_string())
            })
            .collect();
        let engine = session.engine();
        match lowered {
            Ok(models)
                if sets.iter().all(|set| {
                    let ids: Vec<u64> = models.iter().map(|(id, _)| *id).collect();
                    engine.remembers(&ids, set.fingerprint)
                }) =>
            {
                GpuJob {
                    models: Vec::new(),
                    sets: Vec::new(),
                    unable: None,
                    done: true,
                }
            }
            Ok(models) => GpuJob {
                models,
                sets,
                unable: None,
                done: false,
            },
            Err(reason) => unable(&reason),
        }
    }

    /// Hands the outputs of a GPU job to the session's engine (or, where it did not run, its
    /// reason, which the report gives for the runs on the CPU). Returns `{engine, reason}`.
    #[wasm_bindgen(js_name = rememberGpuOutputs)]
    pub fn remember_gpu_outputs(&mut self, outputs: GpuOutputs) -> Result<JsValue, JsError> {
        let engine = self.session.engine();
        engine.forget_remembered();
        for (model, records, output) in outputs.outputs {
            let used = outputs.used.clone().unwrap_or_else(|| BackendUsed {
                engine: "gpu".to_string(),
                detail: "WebGPU".to_string(),
            });
            engine.remember(model, records, output, used);
        }
        engine.note_beforehand(outputs.reason.clone());
        to_js(&serde_json::json!({
            "engine": outputs.used.map(|u| u.detail),
            "reason": outputs.reason,
        }))
    }

    /// Forgets outputs handed over before (the audit then runs every model on the CPU);
    /// `reason`, when given, is why, for the report.
    #[wasm_bindgen(js_name = forgetGpuOutputs)]
    pub fn forget_gpu_outputs(&mut self, reason: Option<String>) {
        let engine = self.session.engine();
        engine.forget_remembered();
        engine.note_beforehand(reason);
    }
}

/// The browser's WebGPU adapter: `{adapter, software}`, or `{reason}` when there is none.
#[wasm_bindgen(js_name = webgpuAdapter)]
pub async fn webgpu_adapter() -> Result<JsValue, JsError> {
    let answer = match Gpu::open().await {
        Ok(gpu) => serde_json::json!({ "adapter": gpu.adapter(), "software": gpu.is_software() }),
        Err(e) => serde_json::json!({ "reason": e.to_string() }),
    };
    to_js(&answer)
}

/// Runs `job` on the browser's WebGPU adapter. Unless `force`, a software adapter (which is
/// slower than the CPU engine) is not used and the outputs carry the reason; with `force`,
/// anything that keeps the job off the GPU is an error.
#[wasm_bindgen(js_name = runGpuJob)]
pub async fn run_gpu_job(job: GpuJob, force: bool) -> Result<GpuOutputs, JsError> {
    let refuse = |reason: String| {
        if force {
            Err(plain_error(format!(
                "WebGPU was chosen but cannot run this audit: {reason}"
            )))
        } else {
            Ok(GpuOutputs::not_run(reason))
        }
    };
    if let Some(reason) = job.unable {
        return refuse(reason);
    }
    let gpu = match Gpu::open().await {
        Ok(gpu) => gpu,
        Err(e) => return refuse(e.to_string()),
    };
    if gpu.is_software() && !force {
        return refuse(format!(
            "the only WebGPU adapter, {}, is a software one on the CPU (slower than the CPU engine; choosing WebGPU uses it anyway)",
            gpu.adapter()
        ));
    }
    let plans: Vec<&Plan> = job.models.iter().map(|(_, p)| p.as_ref()).collect();
    // The target and references in one set where they share an architecture, else each alone.
    let uploaded = match gpu.upload_set(&plans) {
        Some(set) => vec![((0..plans.len()).collect::<Vec<usize>>(), set)],
        None => (0..plans.len())
            .map(|i| (vec![i], gpu.upload(plans[i])))
            .collect(),
    };
    let mut outputs = Vec::new();
    for (group, set) in &uploaded {
        let width = plans[group[0]].output_len();
        let per_record = plans[group[0]].flops_per_record() as f64 * group.len() as f64;
        let batch = ((FLOP_PER_SUBMISSION / per_record.max(1.0)) as usize).clamp(8, 4096);
        for records in &job.sets {
            let out = gpu
                .run_async(set, &records.features, records.records, batch)
                .await
                .map_err(plain_error)?;
            for (k, values) in out.chunks(records.records * width).enumerate() {
                let output = Array2::from_shape_vec((records.records, width), values.to_vec())
                    .map_err(plain_error)?;
                outputs.push((job.models[group[k]].0, records.fingerprint, output));
            }
        }
    }
    let used = BackendUsed {
        engine: "gpu".to_string(),
        detail: format!(
            "WebGPU on {}, {} models in each dispatch, run before the audit",
            gpu.adapter(),
            uploaded.iter().map(|(g, _)| g.len()).max().unwrap_or(1)
        ),
    };
    Ok(GpuOutputs {
        outputs,
        used: Some(used),
        reason: None,
    })
}
