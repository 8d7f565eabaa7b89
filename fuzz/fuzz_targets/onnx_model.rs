//! ONNX bytes through mialab's checks into tract, and (when the model loads and one record
//! is small) one forward pass on a zero record: what `mialab inspect`, `audit` and the page's
//! model upload do first.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = Model::from_bytes(data, &ModelOptions::default()) else {
        return;
    };
    let shape = &model.info().record_shape;
    let elements: usize = shape.iter().product();
    if elements == 0 || elements > 4096 {
        return;
    }
    let mut full = vec![1];
    full.extend_from_slice(shape);
    let zeros = ndarray::ArrayD::<f32>::zeros(full);
    let _ = model.predict(&zeros, 1, &mut NoProgress);
});
