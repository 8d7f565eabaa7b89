//! The target model: an ONNX graph loaded from bytes and run with tract on the CPU.
//!
//! Loading reads the declared input shape (`[batch, features]` or `[batch, C, H, W]`),
//! replaces the batch dimension with a symbol so any number of records can be run at once,
//! picks the output that carries class scores, and runs one record as a smoke test so that a
//! model which cannot run fails at load time, not halfway through an audit.

mod error;
mod info;
mod output;

pub use error::ModelError;
pub use info::{Dim, ModelInfo, TensorInfo};
pub use output::{ModelOutput, OutputKind, OutputKindChoice};

use crate::progress::{Progress, ProgressSink};
use ndarray::{Array2, ArrayD, Axis, IxDyn, Slice};
use std::sync::Arc;
use tract_onnx::pb;
use tract_onnx::prelude::*;

/// How many records go through the model in one call unless told otherwise.
pub const DEFAULT_BATCH_SIZE: usize = 256;

/// Choices made when loading a model.
#[derive(Debug, Clone, Default)]
pub struct ModelOptions {
    /// Name of the output holding class scores; default: the first floating-point output.
    pub output: Option<String>,
}

/// A loaded, optimised model ready to score records.
pub struct Model {
    plan: Arc<TypedRunnableModel>,
    info: ModelInfo,
    /// The model as GPU kernels, or why it cannot be.
    lowered: Result<Arc<crate::gpu::Plan>, crate::gpu::LoweringError>,
    /// The lowered model's constants on the GPU, uploaded on first use.
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    on_gpu: std::sync::OnceLock<crate::gpu::GpuModel>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Parses and prepares an ONNX model.
    pub fn from_bytes(bytes: &[u8], options: &ModelOptions) -> Result<Model, ModelError> {
        if bytes.is_empty() {
            return Err(ModelError::Parse("the file is empty".to_string()));
        }
        let onnx = tract_onnx::onnx();
        let proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| ModelError::Parse(format!("{e:#}")))?;
        let mut info = ModelInfo::from_proto(&proto)?;
        let output_index = choose_output(&info, options)?;
        info.used_output = info.outputs[output_index].name.clone();

        let lowered = match &proto.graph {
            Some(graph) => crate::gpu::lower(graph, &info.record_shape, &info.used_output),
            None => Err(crate::gpu::LoweringError::OutputNotReached(
                info.used_output.clone(),
            )),
        }
        .map(Arc::new);
        let mut model = onnx
            .model_for_proto_model(&proto)
            .map_err(|e| ModelError::Parse(format!("{e:#}")))?;
        let batch = model.symbols.sym("batch");
        let mut shape: Vec<TDim> = vec![batch.into()];
        shape.extend(info.record_shape.iter().map(|&d| TDim::from(d as i64)));
        model
            .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), shape))
            .map_err(|e| prepare_error(format!("{e:#}")))?;
        let outlet = *model
            .output_outlets()
            .map_err(|e| ModelError::Prepare(format!("{e:#}")))?
            .get(output_index)
            .ok_or_else(|| {
                ModelError::Prepare("tract lost track of the model's outputs".to_string())
            })?;
        model
            .select_output_outlets(&[outlet])
            .map_err(|e| ModelError::Prepare(format!("{e:#}")))?;
        let plan = model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(|e| prepare_error(format!("{e:#}")))?;

        let mut loaded = Model {
            plan,
            info,
            lowered,
            #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
            on_gpu: std::sync::OnceLock::new(),
        };
        let probe =
            ArrayD::<f32>::zeros(IxDyn(&[&[1usize][..], &loaded.info.record_shape].concat()));
        loaded.info.output_width = loaded.run_batch(probe)?.ncols();
        Ok(loaded)
    }

    /// The model lowered to GPU kernels, or why the GPU path cannot run it.
    pub fn gpu_plan(&self) -> Result<&Arc<crate::gpu::Plan>, &crate::gpu::LoweringError> {
        self.lowered.as_ref()
    }

    /// What the model declares and how mialab will use it.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Runs the model over every record (`[N, ...record shape]`), `batch_size` at a time,
    /// and returns the raw output `[N, width]`.
    pub fn predict(
        &self,
        features: &ArrayD<f32>,
        batch_size: usize,
        progress: &mut dyn ProgressSink,
    ) -> Result<Array2<f32>, ModelError> {
        self.check_records(features.shape(), "the records")?;
        let n = features.shape()[0];
        let batch_size = batch_size.max(1);
        let mut out = Array2::<f32>::zeros((n, self.info.output_width));
        for start in (0..n).step_by(batch_size) {
            let end = (start + batch_size).min(n);
            let batch = features
                .slice_axis(Axis(0), Slice::from(start..end))
                .to_owned();
            let rows = self.run_batch(batch)?;
            out.slice_axis_mut(Axis(0), Slice::from(start..end))
                .assign(&rows);
            progress.update(Progress {
                step: "inference",
                done: end,
                total: n,
            });
        }
        Ok(out)
    }

    /// Runs the model over every record on the engine `backend` picks (see
    /// [`crate::gpu::BackendChoice`]), and says which ran and why.
    pub fn predict_on(
        &self,
        features: &ArrayD<f32>,
        batch_size: usize,
        backend: crate::gpu::BackendChoice,
        progress: &mut dyn ProgressSink,
    ) -> Result<(Array2<f32>, crate::gpu::BackendUsed), ModelError> {
        use crate::gpu::{BackendChoice, BackendUsed};
        if backend == BackendChoice::Cpu {
            let out = self.predict(features, batch_size, progress)?;
            return Ok((out, BackendUsed::cpu(None)));
        }
        match self.predict_gpu(features, batch_size, backend, progress) {
            Ok(done) => Ok(done),
            Err(reason) if backend == BackendChoice::Auto => {
                let out = self.predict(features, batch_size, progress)?;
                Ok((out, BackendUsed::cpu(Some(reason))))
            }
            Err(reason) => Err(ModelError::Gpu(reason)),
        }
    }

    /// The GPU path, or why it cannot run this model here.
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    fn predict_gpu(
        &self,
        features: &ArrayD<f32>,
        batch_size: usize,
        backend: crate::gpu::BackendChoice,
        progress: &mut dyn ProgressSink,
    ) -> Result<(Array2<f32>, crate::gpu::BackendUsed), String> {
        self.check_records(features.shape(), "the records")
            .map_err(|e| e.to_string())?;
        let plan = self.lowered.as_ref().map_err(|e| e.to_string())?;
        let gpu = usable_gpu(backend)?;
        let model = self.on_gpu.get_or_init(|| gpu.upload(plan));
        let n = features.shape()[0];
        let width = plan.output_len();
        let out = run_in_batches(gpu, model, features, None, batch_size, progress)
            .map_err(|e| e.to_string())?
            .concat();
        let out = Array2::from_shape_vec((n, width), out).map_err(|e| e.to_string())?;
        let used = crate::gpu::BackendUsed {
            engine: "gpu".to_string(),
            detail: format!("GPU kernels ({}) on {}", plan.describe(), gpu.adapter()),
        };
        Ok((out, used))
    }

    /// Runs several models of one architecture over the same records in shared GPU
    /// dispatches (one per layer for all of them), each output `[records, classes]`. `None`
    /// where that path does not apply: `--backend cpu`, no usable adapter, a graph that does
    /// not lower, or models of different architectures; the caller then runs them one by one.
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    pub fn predict_set(
        models: &[Model],
        features: &ArrayD<f32>,
        batch_size: usize,
        backend: crate::gpu::BackendChoice,
        progress: &mut dyn ProgressSink,
    ) -> Option<(Vec<Array2<f32>>, crate::gpu::BackendUsed)> {
        let (outputs, used) = gpu_set(models, features, None, batch_size, backend, progress)?;
        let n = features.shape()[0];
        let outputs = outputs
            .into_iter()
            .map(|v| Array2::from_shape_vec((n, v.len() / n.max(1)), v).ok())
            .collect::<Option<Vec<_>>>()?;
        Some((outputs, used))
    }

    /// As [`Model::predict_set`], reduced on the GPU to `(p_y, logit_scaled)` per record and
    /// model for records labelled `labels`: two floats per record come back instead of one
    /// per class. Only for models whose output is raw logits over at least two classes.
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    pub fn predict_set_reduced(
        models: &[Model],
        features: &ArrayD<f32>,
        labels: &[usize],
        batch_size: usize,
        backend: crate::gpu::BackendChoice,
        progress: &mut dyn ProgressSink,
    ) -> Option<(Vec<ReducedSignals>, crate::gpu::BackendUsed)> {
        let logits = models.iter().all(|m| {
            m.lowered.as_ref().is_ok_and(|p| {
                p.output_len() >= 2
                    && !matches!(
                        p.layers.last(),
                        Some(
                            crate::gpu::Layer::Softmax { .. }
                                | crate::gpu::Layer::Activation { .. }
                        )
                    )
            })
        });
        if !logits {
            return None;
        }
        let labels: Vec<u32> = labels.iter().map(|&y| y as u32).collect();
        let (outputs, mut used) = gpu_set(
            models,
            features,
            Some(&labels),
            batch_size,
            backend,
            progress,
        )?;
        used.detail.push_str(", signals reduced on the GPU");
        let pairs = outputs
            .into_iter()
            .map(|v| v.chunks_exact(2).map(|c| (c[0], c[1])).collect())
            .collect();
        Some((pairs, used))
    }

    #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
    pub fn predict_set(
        _models: &[Model],
        _features: &ArrayD<f32>,
        _batch_size: usize,
        _backend: crate::gpu::BackendChoice,
        _progress: &mut dyn ProgressSink,
    ) -> Option<(Vec<Array2<f32>>, crate::gpu::BackendUsed)> {
        None
    }

    #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
    pub fn predict_set_reduced(
        _models: &[Model],
        _features: &ArrayD<f32>,
        _labels: &[usize],
        _batch_size: usize,
        _backend: crate::gpu::BackendChoice,
        _progress: &mut dyn ProgressSink,
    ) -> Option<(Vec<ReducedSignals>, crate::gpu::BackendUsed)> {
        None
    }

    #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
    fn predict_gpu(
        &self,
        _features: &ArrayD<f32>,
        _batch_size: usize,
        _backend: crate::gpu::BackendChoice,
        _progress: &mut dyn ProgressSink,
    ) -> Result<(Array2<f32>, crate::gpu::BackendUsed), String> {
        Err(if cfg!(target_arch = "wasm32") {
            "in the browser the audit runs on tract; WebGPU is checked separately".to_string()
        } else {
            "this build of mialab has no GPU path (built without the 'gpu' feature)".to_string()
        })
    }

    /// Checks records of `shape` (`[N, ...]`) fit the model's input.
    pub fn check_records(&self, shape: &[usize], what: &str) -> Result<(), ModelError> {
        if shape.len() < 2 || shape[1..] != self.info.record_shape[..] {
            return Err(ModelError::ShapeMismatch {
                input: self.info.input.to_string(),
                expected: format!("{:?}", self.info.record_shape),
                found: format!("{:?}", shape.get(1..).unwrap_or(&[])),
                what: what.to_string(),
            });
        }
        Ok(())
    }

    fn run_batch(&self, batch: ArrayD<f32>) -> Result<Array2<f32>, ModelError> {
        let rows = batch.shape()[0];
        let outputs = self
            .plan
            .run(tvec!(Tensor::from(batch).into_tvalue()))
            .map_err(|e| ModelError::Inference(format!("{e:#}")))?;
        let tensor = outputs[0]
            .cast_to::<f32>()
            .map_err(|e| ModelError::Inference(format!("{e:#}")))?;
        let view = tensor
            .to_plain_array_view::<f32>()
            .map_err(|e| ModelError::Inference(format!("{e:#}")))?;
        let width = match view.shape() {
            [r] if *r == rows => 1,
            [r, w] if *r == rows => *w,
            [r, w, 1] | [r, 1, w] if *r == rows => *w,
            other => {
                return Err(ModelError::OutputShape {
                    output: self.info.used_output.clone(),
                    shape: format!("{other:?}"),
                    rows,
                });
            }
        };
        let values: Vec<f32> = view.iter().copied().collect();
        Ok(Array2::from_shape_vec((rows, width), values).expect("shape checked above"))
    }
}

/// Runs `models` (one architecture) over `features` on the GPU, all in each dispatch; with
/// `labels`, reduced to `[p_y, logit_scaled]` per record. One flat output per model.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
fn gpu_set(
    models: &[Model],
    features: &ArrayD<f32>,
    labels: Option<&[u32]>,
    batch_size: usize,
    backend: crate::gpu::BackendChoice,
    progress: &mut dyn ProgressSink,
) -> Option<(Vec<Vec<f32>>, crate::gpu::BackendUsed)> {
    if backend == crate::gpu::BackendChoice::Cpu || models.len() < 2 {
        return None;
    }
    let gpu = usable_gpu(backend).ok()?;
    let plans: Vec<&crate::gpu::Plan> = models
        .iter()
        .map(|m| m.lowered.as_deref().ok())
        .collect::<Option<_>>()?;
    if models
        .iter()
        .any(|m| m.check_records(features.shape(), "the records").is_err())
    {
        return None;
    }
    let set = gpu.upload_set(&plans)?;
    let per_model = run_in_batches(gpu, &set, features, labels, batch_size, progress).ok()?;
    let used = crate::gpu::BackendUsed {
        engine: "gpu".to_string(),
        detail: format!(
            "GPU kernels on {}, {} models per dispatch",
            gpu.adapter(),
            models.len()
        ),
    };
    Some((per_model, used))
}

/// The process's GPU if `backend` may use it: `auto` leaves software adapters to tract.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
fn usable_gpu(backend: crate::gpu::BackendChoice) -> Result<&'static crate::gpu::Gpu, String> {
    let gpu = crate::gpu::device::shared().map_err(|e| e.to_string())?;
    if gpu.is_software() && backend == crate::gpu::BackendChoice::Auto {
        return Err(format!(
            "the only GPU adapter, {}, is a software one on the CPU (slower than tract; --backend gpu uses it anyway)",
            gpu.adapter()
        ));
    }
    Ok(gpu)
}

/// Runs `model` (one model or a set) over `features` in batches, reporting progress; with
/// `labels`, reduced to `[p_y, logit_scaled]` per record. One flat output per model.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
fn run_in_batches(
    gpu: &crate::gpu::Gpu,
    model: &crate::gpu::GpuModel,
    features: &ArrayD<f32>,
    labels: Option<&[u32]>,
    batch_size: usize,
    progress: &mut dyn ProgressSink,
) -> Result<Vec<Vec<f32>>, crate::gpu::GpuError> {
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
        .max_batch(plan, model.models())
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

/// One model's outputs reduced on the GPU: `(p_y, logit_scaled)` per record.
pub type ReducedSignals = Vec<(f32, f32)>;

/// Index of the output that carries class scores.
fn choose_output(info: &ModelInfo, options: &ModelOptions) -> Result<usize, ModelError> {
    let names = || {
        info.outputs
            .iter()
            .map(|o| o.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &options.output {
        Some(name) => info
            .outputs
            .iter()
            .position(|o| &o.name == name)
            .ok_or_else(|| ModelError::NoSuchOutput {
                name: name.clone(),
                available: names(),
            }),
        None => info
            .outputs
            .iter()
            .position(|o| o.is_float())
            .ok_or_else(|| ModelError::NoFloatOutput { available: names() }),
    }
}

/// The ONNX element type code of float32.
pub(crate) const ONNX_FLOAT: i32 = pb::tensor_proto::DataType::Float as i32;

/// Names the operator when tract lacks one, else keeps tract's message.
fn prepare_error(message: String) -> ModelError {
    let operator = message
        .split("Unimplemented(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .filter(|op| !op.is_empty() && op.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    match operator {
        Some(op) => ModelError::UnsupportedOperator {
            operator: op.to_string(),
            detail: message.clone(),
        },
        None => ModelError::Prepare(message),
    }
}
