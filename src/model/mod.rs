//! A model: an ONNX graph loaded from bytes and run on the CPU, by mialab's kernels
//! ([`crate::kernels`]) where the graph lowers to them and by tract otherwise. Its lowering to
//! GPU kernels is kept beside it; whether those run is the engine's choice
//! ([`crate::engine`]).
//!
//! Loading reads the declared input shape (`[batch, features]` or `[batch, C, H, W]`),
//! replaces the batch dimension with a symbol so any number of records can be run at once,
//! picks the output that carries class scores, and runs one record as a smoke test so that a
//! model which cannot run fails at load time, not halfway through an audit.

mod error;
mod info;
mod onnx_ml;
mod output;
mod trees;

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

/// Which CPU engine runs a model's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuEngine {
    /// mialab's kernels where the graph lowers to them, else tract (or the tree walker).
    Kernels,
    /// tract (or the tree walker) always: the reference the kernels are checked against.
    Tract,
}

/// A loaded, optimised model ready to score records.
pub struct Model {
    /// What computes the outputs on the CPU.
    runner: Runner,
    /// mialab's CPU kernels for the lowered graph, checked against tract at load.
    kernels: Option<Arc<crate::kernels::CpuPlan>>,
    info: ModelInfo,
    /// The model as GPU kernels, or why it cannot be.
    lowered: Result<Arc<crate::gpu::Plan>, crate::gpu::LoweringError>,
    /// Its architecture to retrain (reference models, the quantile regressor), or why it
    /// cannot be retrained here.
    architecture: Result<Arc<crate::train::Architecture>, crate::train::ArchitectureError>,
    /// Unique among the models this process loaded, so that an engine can keep per-model
    /// state (the GPU path's uploaded constants).
    id: u64,
}

/// The next [`Model::id`].
static NEXT_MODEL_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// The CPU engine of a model: tract's optimised plan, or the tree walker for a graph that is
/// one tree ensemble (tract is then not asked to load it: it refuses some of them).
#[derive(Clone)]
enum Runner {
    Tract(Arc<TypedRunnableModel>),
    Trees(Arc<trees::TreeEnsemble>),
}

impl Model {
    /// Parses and prepares an ONNX model.
    pub fn from_bytes(bytes: &[u8], options: &ModelOptions) -> Result<Model, ModelError> {
        if bytes.is_empty() {
            return Err(ModelError::Parse("the file is empty".to_string()));
        }
        let onnx = tract_onnx::onnx();
        let mut proto = onnx
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| ModelError::Parse(format!("{e:#}")))?;
        let exported = ModelInfo::from_proto(&proto)?;
        let mut rewrites = onnx_ml::remove_zipmaps(&mut proto);
        rewrites.extend(onnx_ml::fold_pass_through(&mut proto));
        let declared = ModelInfo::from_proto(&proto)?;
        let output_index = choose_output(&declared, options)?;
        let used_output = declared.outputs[output_index].name.clone();
        rewrites.extend(onnx_ml::keep_only(&mut proto, &used_output));
        rewrites.extend(onnx_ml::rewrite_operators(&mut proto));
        // Inputs and outputs once ZipMap is gone; operators and parameters as exported.
        let mut info = ModelInfo {
            operators: exported.operators,
            parameters: exported.parameters,
            rewrites,
            used_output,
            ..declared
        };

        let trees = match (&proto.graph, &info.record_shape[..]) {
            (Some(graph), &[features]) => {
                trees::find(graph, &info.input.name, &info.used_output, features).map(Arc::new)
            }
            _ => None,
        };
        info.imputes_missing = ["Imputer", "TreeEnsembleClassifier", "TreeEnsembleRegressor"]
            .iter()
            .any(|op| info.operators.contains_key(*op));
        if let Some(t) = &trees {
            info.rewrites.push(format!(
                "TreeEnsembleClassifier: {} trees evaluated by mialab's tree walker, not tract",
                t.trees()
            ));
        }
        // One lowering serves both: the inference plan folds batch normalisation into the
        // convolutions, the architecture keeps it to train.
        let graph = match &proto.graph {
            Some(graph) => {
                crate::gpu::lower_for_training(graph, &info.record_shape, &info.used_output)
            }
            None => Err(crate::gpu::LoweringError::OutputNotReached(
                info.used_output.clone(),
            )),
        };
        let lowered = graph
            .as_ref()
            .map(|g| Arc::new(g.folded()))
            .map_err(Clone::clone);
        let architecture = match graph {
            Ok(g) if trees.is_none() => {
                crate::train::Architecture::from_graph(&g, &info.record_shape).map(Arc::new)
            }
            Err(e) if trees.is_none() => Err(e.into()),
            _ => Err(crate::train::ArchitectureError::Unsupported(
                "it is a tree ensemble, not a network".to_string(),
            )),
        };
        let runner = match trees {
            Some(t) => Runner::Trees(t),
            None => Runner::Tract(tract_plan(&onnx, &proto, &info)?),
        };

        let mut loaded = Model {
            runner,
            kernels: None,
            info,
            lowered,
            architecture,
            id: NEXT_MODEL_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        let probe =
            ArrayD::<f32>::zeros(IxDyn(&[&[1usize][..], &loaded.info.record_shape].concat()));
        loaded.info.output_width = loaded.run_batch(probe)?.ncols();
        loaded.kernels = loaded.checked_kernels();
        Ok(loaded)
    }

    /// The lowered graph as CPU kernels if it lowers, runs on tract, and both agree on a few
    /// seeded random records (a last guard: the lowering is tested layer by layer).
    fn checked_kernels(&mut self) -> Option<Arc<crate::kernels::CpuPlan>> {
        use rand::{RngExt, SeedableRng};
        let plan = self.lowered.as_ref().ok()?.clone();
        if !matches!(self.runner, Runner::Tract(_)) || plan.output_len() != self.info.output_width {
            return None;
        }
        let kernels = Arc::new(crate::kernels::CpuPlan::new(&plan));
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(0);
        let records = 4;
        let shape = [&[records][..], &self.info.record_shape].concat();
        let probe = ArrayD::<f32>::from_shape_fn(IxDyn(&shape), |_| rng.random_range(-1.0..1.0));
        let tract = self.run_batch(probe.clone()).ok()?;
        let values = probe.as_slice()?;
        let ours = kernels.run(values, records).ok()?;
        let agreement = crate::engine::compare(tract.as_slice()?, &ours);
        if agreement.within(1e-4) {
            Some(kernels)
        } else {
            self.info.rewrites.push(format!(
                "mialab's CPU kernels differed from tract by {:.2e} on a probe: tract runs this model",
                agreement.max_abs_diff
            ));
            None
        }
    }

    /// What runs this model's records on the CPU when `engine` is asked for ("mialab's CPU
    /// kernels (x86_64 AVX-512)", "tract on the CPU", "mialab's tree walker").
    pub fn cpu_engine(&self, engine: CpuEngine) -> String {
        match (&self.runner, &self.kernels, engine) {
            (_, Some(k), CpuEngine::Kernels) => {
                format!("mialab's CPU kernels ({})", k.kernel_name())
            }
            (Runner::Trees(_), _, _) => "mialab's tree walker on the CPU".to_string(),
            (Runner::Tract(_), _, _) => "tract on the CPU".to_string(),
        }
    }

    /// The model lowered to GPU kernels, or why the GPU path cannot run it.
    pub fn gpu_plan(&self) -> Result<&Arc<crate::gpu::Plan>, &crate::gpu::LoweringError> {
        self.lowered.as_ref()
    }

    /// The architecture to retrain this model's like with, or why it cannot be retrained.
    pub fn architecture(
        &self,
    ) -> Result<&Arc<crate::train::Architecture>, &crate::train::ArchitectureError> {
        self.architecture.as_ref()
    }

    /// This model's identity among those loaded.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// What the model declares and how mialab will use it.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Runs the model over every record (`[N, ...record shape]`), `batch_size` at a time,
    /// on its fastest CPU engine, and returns the raw output `[N, width]`.
    pub fn predict(
        &self,
        features: &ArrayD<f32>,
        batch_size: usize,
        progress: &mut dyn ProgressSink,
    ) -> Result<Array2<f32>, ModelError> {
        self.predict_with(CpuEngine::Kernels, features, batch_size, progress)
    }

    /// As [`Model::predict`], on the CPU engine `engine` asks for.
    pub fn predict_with(
        &self,
        engine: CpuEngine,
        features: &ArrayD<f32>,
        batch_size: usize,
        progress: &mut dyn ProgressSink,
    ) -> Result<Array2<f32>, ModelError> {
        self.check_records(features.shape(), "the records")?;
        let n = features.shape()[0];
        let batch_size = batch_size.max(1);
        // The kernels read each batch in place from one row-major block (a view when the
        // records already are one, as they are once read).
        let kernels = self
            .kernels
            .as_ref()
            .filter(|_| engine == CpuEngine::Kernels);
        let features = features.as_standard_layout();
        let mut out = Array2::<f32>::zeros((n, self.info.output_width));
        let batches: Vec<(usize, usize)> = (0..n)
            .step_by(batch_size)
            .map(|start| (start, (start + batch_size).min(n)))
            .collect();
        // The batches are the same whatever the thread count; threads only share them out.
        for group in batches.chunks(crate::parallel::chunk_size()) {
            let outputs = crate::parallel::map_ordered(group, |&(start, end)| {
                if let (Some(kernels), Some(values)) = (kernels, features.as_slice()) {
                    return self.kernel_rows(kernels, values, start, end);
                }
                let batch = features
                    .slice_axis(Axis(0), Slice::from(start..end))
                    .to_owned();
                self.run_batch(batch)
            });
            for (&(start, end), rows) in group.iter().zip(outputs) {
                out.slice_axis_mut(Axis(0), Slice::from(start..end))
                    .assign(&rows?);
            }
            let done = group.last().map_or(n, |&(_, end)| end);
            progress.update(Progress {
                step: "inference",
                done,
                total: n,
            });
        }
        Ok(out)
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

    /// Records `start..end` of `values` (records one after another) run on the CPU kernels.
    fn kernel_rows(
        &self,
        kernels: &crate::kernels::CpuPlan,
        values: &[f32],
        start: usize,
        end: usize,
    ) -> Result<Array2<f32>, ModelError> {
        let per_record: usize = self.info.record_shape.iter().product();
        let rows = end - start;
        let out = kernels
            .run(&values[start * per_record..end * per_record], rows)
            .map_err(ModelError::Inference)?;
        Array2::from_shape_vec((rows, self.info.output_width), out)
            .map_err(|e| ModelError::Inference(e.to_string()))
    }

    /// One batch on tract, or on the tree walker for a tree ensemble.
    fn run_batch(&self, batch: ArrayD<f32>) -> Result<Array2<f32>, ModelError> {
        let plan = match &self.runner {
            Runner::Trees(trees) => return trees.predict(&batch).map_err(ModelError::Inference),
            Runner::Tract(plan) => plan,
        };
        let rows = batch.shape()[0];
        let outputs = plan
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

/// tract's optimised plan of `proto` (whose one output is the class scores, [`onnx_ml::keep_only`])
/// for any batch size.
fn tract_plan(
    onnx: &tract_onnx::Onnx,
    proto: &pb::ModelProto,
    info: &ModelInfo,
) -> Result<Arc<TypedRunnableModel>, ModelError> {
    let mut model = onnx
        .model_for_proto_model(proto)
        .map_err(|e| ModelError::Parse(format!("{e:#}")))?;
    let batch = model.symbols.sym("batch");
    let mut shape: Vec<TDim> = vec![batch.into()];
    shape.extend(info.record_shape.iter().map(|&d| TDim::from(d as i64)));
    model
        .set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), shape))
        .map_err(|e| prepare_error(format!("{e:#}")))?;
    model
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(|e| prepare_error(format!("{e:#}")))
}

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
            hint: onnx_ml::unsupported_hint(op),
            detail: message.clone(),
        },
        None => ModelError::Prepare(message),
    }
}
