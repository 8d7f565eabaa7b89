//! The engine without a native GPU path: a build without the `gpu` feature, or the browser,
//! where the audit itself runs on the CPU (mialab's kernels or tract) and WebGPU, which can
//! only be awaited, runs models before the audit (`src/web/gpu_audit.rs`).

use super::{BackendChoice, BackendUsed, ReducedSignals};
use crate::model::Model;
use crate::progress::ProgressSink;
use ndarray::{Array2, ArrayD};

#[derive(Default)]
pub(super) struct State;

fn no_gpu() -> String {
    if cfg!(target_arch = "wasm32") {
        "in the browser WebGPU runs only what the page runs on it before the audit (the target and references on the audit and population records)".to_string()
    } else {
        "this build of mialab has no GPU path (built without the 'gpu' feature)".to_string()
    }
}

impl State {
    pub(super) fn run(
        &self,
        _model: &Model,
        _features: &ArrayD<f32>,
        _choice: BackendChoice,
        _batch_size: usize,
        _progress: &mut dyn ProgressSink,
    ) -> Result<(Array2<f32>, BackendUsed), String> {
        Err(no_gpu())
    }

    pub(super) fn run_set(
        &self,
        _models: &[Model],
        _features: &ArrayD<f32>,
        _choice: BackendChoice,
        _batch_size: usize,
    ) -> Option<(Vec<Array2<f32>>, BackendUsed)> {
        None
    }

    pub(super) fn run_set_reduced(
        &self,
        _models: &[Model],
        _features: &ArrayD<f32>,
        _labels: &[usize],
        _choice: BackendChoice,
        _batch_size: usize,
        _progress: &mut dyn ProgressSink,
    ) -> Option<(Vec<ReducedSignals>, BackendUsed)> {
        None
    }
}
