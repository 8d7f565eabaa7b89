//! A model run on its own, outside a [`super::Lab`]: records in, the model's outputs out.
//! It is what a page needs to check mialab's outputs against another runtime's and to time
//! them side by side (`scripts/bench-browser.mjs` runs it beside onnxruntime-web), and
//! what a pool of workers would each hold to split a batch of records between them.

use super::{js_error, plain_error};
use crate::model::{Model, ModelOptions};
use crate::progress::NoProgress;
use ndarray::{ArrayD, IxDyn};
use wasm_bindgen::prelude::*;

/// One loaded ONNX model: `new InferenceModel(bytes)`, then `run(features, records)`.
#[wasm_bindgen]
pub struct InferenceModel {
    model: Model,
}

#[wasm_bindgen]
impl InferenceModel {
    /// Loads an ONNX model as the page's audit loads one (the same rewrites and engine).
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<InferenceModel, JsError> {
        let model = Model::from_bytes(bytes, &ModelOptions::default()).map_err(js_error)?;
        Ok(InferenceModel { model })
    }

    /// Values per record the model reads.
    #[wasm_bindgen(js_name = recordLength)]
    pub fn record_length(&self) -> usize {
        self.model.info().record_shape.iter().product()
    }

    /// Values per record the model returns.
    #[wasm_bindgen(js_name = outputWidth)]
    pub fn output_width(&self) -> usize {
        self.model.info().output_width
    }

    /// What runs the records ("mialab's CPU kernels (wasm32)", "tract on the CPU", ...).
    pub fn engine(&self) -> String {
        self.model.cpu_engine(crate::model::CpuEngine::Kernels)
    }

    /// Floating-point operations per record, counted from the lowered graph (a multiply-add
    /// is two); 0 when the graph does not lower.
    #[wasm_bindgen(js_name = flopsPerRecord)]
    pub fn flops_per_record(&self) -> f64 {
        self.model
            .gpu_plan()
            .map_or(0.0, |plan| plan.flops_per_record() as f64)
    }

    /// The outputs of `features` (records one after another, [`Self::record_length`] values
    /// each), `batch` records per run, one record's outputs after another.
    pub fn run(&self, features: &[f32], batch: usize) -> Result<Vec<f32>, JsError> {
        let per_record = self.record_length();
        if per_record == 0 || !features.len().is_multiple_of(per_record) {
            return Err(plain_error(format!(
                "{} values are not whole records of {per_record} values",
                features.len()
            )));
        }
        let shape = [
            &[features.len() / per_record][..],
            &self.model.info().record_shape,
        ]
        .concat();
        let records = ArrayD::from_shape_vec(IxDyn(&shape), features.to_vec())
            .map_err(|e| plain_error(format!("the records: {e}")))?;
        let outputs = self
            .model
            .predict(&records, batch.max(1), &mut NoProgress)
            .map_err(js_error)?;
        Ok(outputs.into_iter().collect())
    }
}
