//! The engine seam: the one place that chooses which backend runs a model (tract on the CPU,
//! or the GPU kernels of [`crate::gpu`]), runs a model or a set of models over records, and
//! returns their raw outputs or, where the GPU can, their per-record signals reduced on the
//! device. [`compare`] is the one check of two engines' outputs against each other, used by
//! the benchmark, the page's engine check and the GPU tests.
//!
//! [`crate::model::Model`] knows its CPU engines (mialab's kernels, tract, the tree walker)
//! and its lowering to GPU kernels; whether and where those GPU kernels run is decided here. The native GPU path is the `gpu` feature's, in
//! `accelerated.rs`; every other build (no feature, or wasm32, where the audit runs on the CPU
//! and WebGPU is reached asynchronously by the page's check) compiles `cpu_only.rs`, with the
//! same functions saying why there is no GPU.

mod backend;
mod remembered;

#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
#[path = "accelerated.rs"]
mod device;
#[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
#[path = "cpu_only.rs"]
mod device;

pub use backend::{BackendChoice, BackendUsed};
pub use remembered::fingerprint;

use crate::model::{CpuEngine, Model, ModelError};
use crate::progress::{Progress, ProgressSink};
use ndarray::{Array2, ArrayD};

/// One model's outputs reduced on the GPU: `(p_y, logit_scaled)` per record.
pub type ReducedSignals = Vec<(f32, f32)>;

/// Runs models on the backend a [`BackendChoice`] picks; holds what the GPU path keeps
/// between calls (each model's constants, uploaded once) and the outputs another engine
/// computed beforehand ([`Engine::remember`]).
#[derive(Default)]
pub struct Engine {
    device: device::State,
    remembered: remembered::Remembered,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Runs `model` over every record (`[N, ...record shape]`) on the backend `choice` picks,
    /// and says which ran and why.
    pub fn run(
        &self,
        model: &Model,
        features: &ArrayD<f32>,
        choice: BackendChoice,
        batch_size: usize,
        progress: &mut dyn ProgressSink,
    ) -> Result<(Array2<f32>, BackendUsed), ModelError> {
        if choice != BackendChoice::Tract
            && let Some(mut found) = self.remembered.find(&[model.id()], features)
        {
            return Ok(found.remove(0));
        }
        if let Some(engine) = choice.cpu_engine() {
            let out = model.predict_with(engine, features, batch_size, progress)?;
            return Ok((out, BackendUsed::cpu(model.cpu_engine(engine), None)));
        }
        match self
            .device
            .run(model, features, choice, batch_size, progress)
        {
            Ok(done) => Ok(done),
            Err(reason) if choice == BackendChoice::Auto || self.gpu_ran_beforehand() => {
                let out = model.predict(features, batch_size, progress)?;
                let what = model.cpu_engine(CpuEngine::Kernels);
                let reason = self.remembered.note().unwrap_or(reason);
                Ok((out, BackendUsed::cpu(what, Some(reason))))
            }
            Err(reason) => Err(ModelError::Gpu(reason)),
        }
    }

    /// Keeps `output`, computed by `used` for the model `model_id` on records of
    /// [`fingerprint`] `records`, for this engine's calls to find instead of running it.
    /// What a run of `model` on the CPU under `choice` reports, for outputs computed on the
    /// CPU elsewhere (a pool of Web Workers) to read exactly as this engine's own: `None` for
    /// `tract` and `gpu`, and for `auto` without a note of why the GPU did not run.
    pub fn cpu_used(&self, model: &Model, choice: BackendChoice) -> Option<BackendUsed> {
        let what = model.cpu_engine(CpuEngine::Kernels);
        match choice {
            BackendChoice::Cpu => Some(BackendUsed::cpu(what, None)),
            BackendChoice::Auto => Some(BackendUsed::cpu(what, Some(self.remembered.note()?))),
            BackendChoice::Tract | BackendChoice::Gpu => None,
        }
    }

    pub fn remember(&self, model_id: u64, records: u64, output: Array2<f32>, used: BackendUsed) {
        self.remembered.keep(model_id, records, output, used);
    }

    /// Whether outputs of every one of `model_ids` on records of [`fingerprint`] `records`
    /// are kept.
    pub fn remembers(&self, model_ids: &[u64], records: u64) -> bool {
        self.remembered.has_all(model_ids, records)
    }

    /// Why the engine that computed outputs beforehand was not used (or not for every
    /// run); the runs that fall back to the CPU give it as their reason.
    pub fn note_beforehand(&self, note: Option<String>) {
        self.remembered.set_note(note);
    }

    /// Drops every output kept and the note.
    pub fn forget_remembered(&self) {
        self.remembered.clear();
    }

    /// In the browser the GPU runs only beforehand: where it did, a run it did not do (other
    /// records, such as augmented copies) falls back to the CPU, saying so, even when the GPU
    /// was asked for.
    fn gpu_ran_beforehand(&self) -> bool {
        cfg!(target_arch = "wasm32") && !self.remembered.is_empty()
    }

    /// Runs models of one architecture over the same records: all of them in each GPU
    /// dispatch where that path applies, else one by one on the backend `choice` picks.
    /// Outputs `[records, width]`, in the order of `models`.
    pub fn run_set(
        &self,
        models: &[Model],
        features: &ArrayD<f32>,
        choice: BackendChoice,
        batch_size: usize,
        progress: &mut dyn ProgressSink,
    ) -> Result<(Vec<Array2<f32>>, BackendUsed), ModelError> {
        let ids: Vec<u64> = models.iter().map(Model::id).collect();
        if choice != BackendChoice::Tract
            && let Some(found) = self.remembered.find(&ids, features)
        {
            let used = found.last().map(|(_, used)| used.clone());
            progress.update(Progress {
                step: "reference models",
                done: models.len(),
                total: models.len(),
            });
            let outputs = found.into_iter().map(|(out, _)| out).collect();
            return Ok((
                outputs,
                used.unwrap_or_else(|| BackendUsed::cpu(String::new(), None)),
            ));
        }
        if let Some(done) = self.device.run_set(models, features, choice, batch_size) {
            progress.update(Progress {
                step: "reference models",
                done: models.len(),
                total: models.len(),
            });
            return Ok(done);
        }
        let mut outputs = Vec::with_capacity(models.len());
        let mut used = BackendUsed::cpu(String::new(), None);
        for (k, model) in models.iter().enumerate() {
            let (out, ran) = self.run(
                model,
                features,
                choice,
                batch_size,
                &mut crate::progress::NoProgress,
            )?;
            outputs.push(out);
            used = ran;
            progress.update(Progress {
                step: "reference models",
                done: k + 1,
                total: models.len(),
            });
        }
        Ok((outputs, used))
    }

    /// As [`Engine::run_set`], reduced on the GPU to `(p_y, logit_scaled)` per record and
    /// model for records labelled `labels`: two floats per record come back instead of one
    /// per class. `None` where that path does not apply (no usable GPU, graphs that do not
    /// lower or do not end in raw logits over at least two classes, models of different
    /// architectures); the caller then reads whole outputs.
    pub fn run_set_reduced(
        &self,
        models: &[Model],
        features: &ArrayD<f32>,
        labels: &[usize],
        choice: BackendChoice,
        batch_size: usize,
        progress: &mut dyn ProgressSink,
    ) -> Option<(Vec<ReducedSignals>, BackendUsed)> {
        if !self.remembered.is_empty() {
            return None;
        }
        self.device
            .run_set_reduced(models, features, labels, choice, batch_size, progress)
    }
}

/// How far one engine's outputs are from another's on the same models and records.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Values compared (the shorter output's length).
    pub compared: usize,
    /// Largest `|expected - found|`.
    pub max_abs_diff: f32,
    /// Largest `|expected - found| / (1 + |expected|)`.
    pub max_rel_diff: f32,
    /// Whether the outputs have the same length.
    pub same_length: bool,
}

impl Comparison {
    /// Whether every value agrees within `tolerance`, relative to `1 + |expected|`.
    pub fn within(&self, tolerance: f32) -> bool {
        self.same_length && self.max_rel_diff <= tolerance
    }
}

/// Compares `found` (one engine's outputs) with `expected` (another's), value by value; a
/// NaN on either side counts as an infinite difference.
pub fn compare(expected: &[f32], found: &[f32]) -> Comparison {
    let (mut max_abs_diff, mut max_rel_diff) = (0.0f32, 0.0f32);
    for (e, f) in expected.iter().zip(found) {
        let diff = if e.is_nan() || f.is_nan() {
            f32::INFINITY
        } else {
            (e - f).abs()
        };
        max_abs_diff = max_abs_diff.max(diff);
        max_rel_diff = max_rel_diff.max(diff / (1.0 + e.abs()));
    }
    Comparison {
        compared: expected.len().min(found.len()),
        max_abs_diff,
        max_rel_diff,
        same_length: expected.len() == found.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelOptions;
    use crate::progress::NoProgress;

    fn example_model() -> Model {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/breast_cancer/model.onnx"
        );
        let bytes = std::fs::read(path).expect("the bundled example model");
        Model::from_bytes(&bytes, &ModelOptions::default()).expect("it loads")
    }

    #[test]
    fn outputs_handed_over_serve_exactly_their_model_and_records() {
        let model = example_model();
        let width: usize = model.info().record_shape.iter().product();
        let records = |offset: f32| {
            let values = (0..3 * width).map(|i| offset + i as f32 * 0.01).collect();
            ArrayD::from_shape_vec(ndarray::IxDyn(&[3, width]), values).unwrap()
        };
        let (a, b) = (records(0.0), records(0.5));
        let engine = Engine::default();
        let auto = BackendChoice::Auto;
        let (computed, _) = engine.run(&model, &a, auto, 8, &mut NoProgress).unwrap();
        let handed = computed.mapv(|v| v + 100.0);
        let elsewhere = BackendUsed {
            engine: "gpu".to_string(),
            detail: "elsewhere".to_string(),
        };
        engine.remember(
            model.id(),
            fingerprint(&a),
            handed.clone(),
            elsewhere.clone(),
        );
        assert!(engine.remembers(&[model.id()], fingerprint(&a)));
        assert!(!engine.remembers(&[model.id()], fingerprint(&b)));
        let found = engine.run(&model, &a, auto, 8, &mut NoProgress).unwrap();
        assert_eq!(found, (handed.clone(), elsewhere.clone()));
        let (set, used) = engine
            .run_set(std::slice::from_ref(&model), &a, auto, 8, &mut NoProgress)
            .unwrap();
        assert_eq!((set, used), (vec![handed.clone()], elsewhere.clone()));
        // The CPU asked for finds them too (a pool of workers hands over CPU outputs);
        // tract asked for, other records or another load of the model: computed here.
        let cpu = engine
            .run(&model, &a, BackendChoice::Cpu, 8, &mut NoProgress)
            .unwrap();
        assert_eq!(cpu, (handed.clone(), elsewhere.clone()));
        let tract = engine
            .run(&model, &a, BackendChoice::Tract, 8, &mut NoProgress)
            .unwrap();
        assert!((&tract.0 - &computed).iter().all(|d| d.abs() < 1e-3));
        engine.note_beforehand(Some("the test said so".to_string()));
        let (_, other) = engine.run(&model, &b, auto, 8, &mut NoProgress).unwrap();
        assert!(
            other.detail.ends_with("because the test said so"),
            "{other}"
        );
        let reloaded = example_model();
        let (again, _) = engine.run(&reloaded, &a, auto, 8, &mut NoProgress).unwrap();
        assert_eq!(again, computed);
        engine.forget_remembered();
        let (after, _) = engine.run(&model, &a, auto, 8, &mut NoProgress).unwrap();
        assert_eq!(after, computed);
    }

    #[test]
    fn the_fingerprint_reads_values_and_shape_not_memory_layout() {
        let a = ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), vec![1.0f32, 2., 3., 4., 5., 6.])
            .unwrap();
        let t = a.t().to_owned();
        let back = t.t();
        assert_eq!(fingerprint(&a), fingerprint(&back.to_owned()));
        assert_eq!(fingerprint(&a), fingerprint(&back.into_dyn().to_owned()));
        let mut changed = a.clone();
        changed[[1, 2]] = 6.5;
        assert_ne!(fingerprint(&a), fingerprint(&changed));
        let reshaped = a
            .clone()
            .into_shape_with_order(ndarray::IxDyn(&[3, 2]))
            .unwrap();
        assert_ne!(fingerprint(&a), fingerprint(&reshaped));
    }

    #[test]
    fn comparison_finds_the_largest_difference_and_counts_nan_as_infinite() {
        let c = compare(&[1.0, -3.0, 0.5], &[1.0, -2.5, 0.5]);
        assert_eq!((c.compared, c.max_abs_diff), (3, 0.5));
        assert!((c.max_rel_diff - 0.125).abs() < 1e-7);
        assert!(c.within(0.2) && !c.within(0.1));
        assert!(!compare(&[1.0], &[f32::NAN]).within(1e9));
        assert!(!compare(&[1.0, 2.0], &[1.0]).within(1.0));
    }
}
