//! The browser API of reference training: what the page's training workers call (one model
//! each on the CPU, [`train_reference`]; every model at once on WebGPU,
//! `train_references_on_gpu`), and what the engine's [`Lab`] hands them (the target's bytes,
//! the records, the keep-mask) and makes of their results (how the references compare with
//! the target; a zip to download).

use super::{Lab, js_error, plain_error, to_js};
use crate::model::{Model, ModelOptions};
use crate::train::references::{Accuracy, RecipeMatch, ReferenceTraining, keep_mask};
use crate::train::{Recipe, TrainError, to_onnx};
use ndarray_npy::WriteNpyExt;
use serde::Serialize;
use std::io::Write;
use std::ops::ControlFlow;
use wasm_bindgen::prelude::*;

fn set(object: &js_sys::Object, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(object, &key.into(), value);
}

fn recipe_from(json: &str) -> Result<Recipe, JsError> {
    let recipe: Recipe =
        serde_json::from_str(json).map_err(|e| plain_error(format!("the training recipe: {e}")))?;
    recipe
        .validate()
        .map_err(|e| js_error(TrainError::from(e)))?;
    Ok(recipe)
}

/// One trained reference model, for the page.
#[derive(Serialize)]
struct Trained {
    accuracy: Accuracy,
    losses: Vec<f64>,
}

/// Trains reference model `index` of the target `model` (ONNX bytes) on the records whose
/// `keep` entry is 1, with the recipe `recipe_json` and `seed` (as `mialab train-references`
/// trains model `index`); `on_epoch(epoch, epochs, loss)` hears every epoch. Returns
/// `{onnx, accuracy, losses}`.
#[wasm_bindgen(js_name = trainReference)]
#[allow(clippy::too_many_arguments)]
pub fn train_reference(
    model: &[u8],
    features: &[f32],
    labels: &[u32],
    keep: &[u8],
    recipe_json: &str,
    seed: u32,
    index: usize,
    on_epoch: &js_sys::Function,
) -> Result<JsValue, JsError> {
    let inputs = TrainingInputs::read(model, labels, keep, recipe_json)?;
    let training = inputs.training(features, seed);
    let trained = training
        .train(index, inputs.keep.view(), &mut epoch_reporter(on_epoch))
        .map_err(js_error)?;
    inputs.result(trained, index)
}

/// Every reference model at once on the browser's WebGPU adapter, all in the same dispatches
/// (as `mialab train-references --device gpu` trains them): model `k` on the records whose
/// entry in row `k` of `keep_rows` (`models` rows, one entry per record) is 1, each as
/// [`train_reference`] trains it alone. `on_epoch(model, epoch, epochs, loss)` hears every
/// model's epochs. Resolves to one `{onnx, accuracy, losses}` per model.
#[cfg(feature = "gpu")]
#[wasm_bindgen(js_name = trainReferencesOnGpu)]
#[allow(clippy::too_many_arguments)]
pub async fn train_references_on_gpu(
    model: Vec<u8>,
    features: Vec<f32>,
    labels: Vec<u32>,
    keep_rows: Vec<u8>,
    models: usize,
    recipe_json: String,
    seed: u32,
    on_epoch: js_sys::Function,
) -> Result<js_sys::Array, JsError> {
    let inputs = TrainingInputs::read(&model, &labels, &[], &recipe_json)?;
    let keep = ndarray::Array2::from_shape_vec(
        (models, labels.len()),
        keep_rows.iter().map(|&k| k != 0).collect(),
    )
    .map_err(|_| {
        plain_error(format!(
            "{} keep-mask entries for {models} models of {} records",
            keep_rows.len(),
            labels.len()
        ))
    })?;
    crate::train::gpu_layers(&inputs.architecture)
        .map_err(|e| plain_error(format!("WebGPU cannot train this model: {e}")))?;
    let gpu = crate::gpu::Gpu::open()
        .await
        .map_err(|e| plain_error(format!("WebGPU cannot train here: {e}")))?;
    let training = inputs.training(&features, seed);
    let mut report = |k: usize, end: crate::train::EpochEnd| {
        let _ = on_epoch.apply(
            &JsValue::NULL,
            &js_sys::Array::of4(
                &JsValue::from(k as u32),
                &JsValue::from(end.epoch as u32),
                &JsValue::from(end.epochs as u32),
                &JsValue::from(end.loss),
            ),
        );
        ControlFlow::Continue(())
    };
    let trained = training
        .train_set_on_gpu_async(&gpu, &keep, &mut report)
        .await
        .map_err(js_error)?;
    let results = js_sys::Array::new();
    for (k, reference) in trained.into_iter().enumerate() {
        results.push(&inputs.result(reference, k)?);
    }
    Ok(results)
}

/// What one reference model trains from, read from the page's values.
struct TrainingInputs {
    target: Model,
    architecture: crate::train::Architecture,
    recipe: Recipe,
    labels: Vec<usize>,
    keep: ndarray::Array1<bool>,
}

impl TrainingInputs {
    fn read(model: &[u8], labels: &[u32], keep: &[u8], recipe_json: &str) -> Result<Self, JsError> {
        let target = Model::from_bytes(model, &ModelOptions::default()).map_err(js_error)?;
        let architecture = target
            .architecture()
            .map_err(|e| js_error(TrainError::Architecture(e.clone())))?
            .as_ref()
            .clone();
        Ok(TrainingInputs {
            target,
            architecture,
            recipe: recipe_from(recipe_json)?,
            labels: labels.iter().map(|&y| y as usize).collect(),
            keep: ndarray::Array1::from_iter(keep.iter().map(|&k| k != 0)),
        })
    }

    fn training<'a>(&'a self, features: &'a [f32], seed: u32) -> ReferenceTraining<'a> {
        ReferenceTraining {
            architecture: &self.architecture,
            features,
            labels: &self.labels,
            recipe: &self.recipe,
            seed: u64::from(seed),
        }
    }

    /// `{onnx, accuracy, losses}` of a trained model.
    fn result(
        &self,
        trained: crate::train::references::TrainedReference,
        index: usize,
    ) -> Result<JsValue, JsError> {
        let info = self.target.info();
        let onnx = to_onnx(
            &trained.network,
            &info.input.name,
            &info.used_output,
            &format!("mialab reference {index}"),
        );
        let object: js_sys::Object = to_js(&Trained {
            accuracy: trained.accuracy,
            losses: trained.losses,
        })?
        .into();
        set(&object, "onnx", &js_sys::Uint8Array::from(onnx.as_slice()));
        Ok(object.into())
    }
}

/// Calls `on_epoch(epoch, epochs, loss)` for every epoch.
fn epoch_reporter(
    on_epoch: &js_sys::Function,
) -> impl FnMut(crate::train::EpochEnd) -> ControlFlow<()> + '_ {
    move |end| {
        let _ = on_epoch.call3(
            &JsValue::NULL,
            &JsValue::from(end.epoch as u32),
            &JsValue::from(end.epochs as u32),
            &JsValue::from(end.loss),
        );
        ControlFlow::Continue(())
    }
}

/// A zip (deflated) of files `names[i]` holding `contents[i]`, for the page to download.
#[wasm_bindgen(js_name = zipFiles)]
pub fn zip_files(names: Vec<String>, contents: js_sys::Array) -> Result<Vec<u8>, JsError> {
    if names.len() != contents.length() as usize {
        return Err(plain_error("one name per file"));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in names.iter().zip(contents.iter()) {
        let bytes = js_sys::Uint8Array::new(&bytes).to_vec();
        zip.start_file(name.as_str(), options)
            .map_err(plain_error)?;
        zip.write_all(&bytes).map_err(plain_error)?;
    }
    Ok(zip.finish().map_err(plain_error)?.into_inner())
}

impl Lab {
    /// The loaded target and audit records, or what is missing.
    fn target_and_records(&self) -> Result<(&Model, &crate::records::Records), JsError> {
        let target = self
            .session
            .target()
            .ok_or(crate::session::SessionError::NoTarget)
            .map_err(js_error)?;
        Ok((target, self.session.records().map_err(js_error)?))
    }
}

#[wasm_bindgen]
impl Lab {
    /// What the training workers need: the target's bytes, the audit records' features and
    /// labels, the keep-mask of `models` references drawn with `seed` (rows `[models ·
    /// records]` and as `.npy`), and the architecture and epochs `recipe_json` comes to.
    /// Fails, naming the operator, for a model that cannot be retrained here.
    #[wasm_bindgen(js_name = trainingSetup)]
    pub fn training_setup(
        &self,
        recipe_json: &str,
        models: usize,
        seed: u32,
    ) -> Result<JsValue, JsError> {
        let (target, records) = self.target_and_records()?;
        let architecture = target
            .architecture()
            .map_err(|e| js_error(TrainError::Architecture(e.clone())))?;
        let recipe = recipe_from(recipe_json)?;
        if !(2..=1024).contains(&models) {
            return Err(plain_error("train between 2 and 1024 reference models"));
        }
        let features = crate::train::references::training_features(records, architecture.classes())
            .map_err(js_error)?;
        let keep = keep_mask(records.len(), models, u64::from(seed));
        let mut npy = Vec::new();
        keep.write_npy(&mut npy).map_err(plain_error)?;
        let object = js_sys::Object::new();
        set(
            &object,
            "model",
            &js_sys::Uint8Array::from(self.model_bytes.as_slice()).into(),
        );
        set(
            &object,
            "features",
            &js_sys::Float32Array::from(features.as_slice()).into(),
        );
        let labels: Vec<u32> = records.labels.iter().map(|&y| y as u32).collect();
        set(
            &object,
            "labels",
            &js_sys::Uint32Array::from(labels.as_slice()).into(),
        );
        let rows: Vec<u8> = keep.iter().map(|&k| u8::from(k)).collect();
        set(
            &object,
            "keepRows",
            &js_sys::Uint8Array::from(rows.as_slice()).into(),
        );
        set(
            &object,
            "keepNpy",
            &js_sys::Uint8Array::from(npy.as_slice()).into(),
        );
        set(&object, "records", &JsValue::from(records.len() as u32));
        set(
            &object,
            "architecture",
            &JsValue::from_str(&architecture.describe()),
        );
        set(
            &object,
            "parameters",
            &JsValue::from(architecture.parameters() as u32),
        );
        set(
            &object,
            "epochs",
            &JsValue::from(recipe.epochs_for(architecture) as u32),
        );
        // Why the GPU cannot train it (null: it can).
        #[cfg(feature = "gpu")]
        let gpu_unable = crate::train::gpu_layers(architecture).err();
        #[cfg(not(feature = "gpu"))]
        let gpu_unable = Some("this build has no GPU path".to_string());
        set(
            &object,
            "gpuUnable",
            &gpu_unable.map_or(JsValue::NULL, |r| JsValue::from_str(&r)),
        );
        Ok(object.into())
    }

    /// How the trained references' accuracies (`accuracies_json`: one
    /// `{train, held_out, audit}` per model) compare with the target's on the audit records.
    #[wasm_bindgen(js_name = recipeMatch)]
    pub fn recipe_match(&self, accuracies_json: &str) -> Result<JsValue, JsError> {
        let accuracies: Vec<Accuracy> =
            serde_json::from_str(accuracies_json).map_err(plain_error)?;
        let (target, records) = self.target_and_records()?;
        let output = target
            .predict(
                &records.features,
                crate::model::DEFAULT_BATCH_SIZE,
                &mut crate::progress::NoProgress,
            )
            .map_err(js_error)?;
        let predicted = crate::train::references::output_classes(&output);
        to_js(&RecipeMatch::new(records, &predicted, None, &accuracies))
    }
}
