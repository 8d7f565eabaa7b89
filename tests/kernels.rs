//! mialab's CPU kernels on every zoo model (targets and references): the same logits as
//! onnxruntime (stored beside each model by its build script) and as tract, within float32
//! rounding; the report names which CPU engine ran; a graph that does not lower stays on
//! tract.

use crate::util::{Tol, read_npy_f32, repo};
use mialab::engine::{BackendChoice, Engine};
use mialab::model::{CpuEngine, Model, ModelOptions};
use mialab::progress::NoProgress;
use ndarray::{ArrayD, Axis, Slice};

fn flat(a: impl IntoIterator<Item = f32>) -> Vec<f64> {
    a.into_iter().map(f64::from).collect()
}

/// The features as mialab reads them (uint8 pixels divided by 255).
fn audit_features(path: &str) -> ArrayD<f32> {
    use ndarray_npy::ReadNpyExt;
    let open = || std::fs::File::open(repo(&format!("models/{path}"))).unwrap();
    ArrayD::<f32>::read_npy(open()).unwrap_or_else(|_| {
        ArrayD::<u8>::read_npy(open())
            .unwrap()
            .mapv(|v| f32::from(v) / 255.0)
    })
}

#[test]
fn every_zoo_model_runs_on_the_kernels_as_on_onnxruntime_and_tract() {
    let manifest = crate::zoo::manifest();
    let mut checked = 0;
    for d in &manifest.datasets {
        let features = audit_features(&d.audit.features);
        let first = features
            .slice_axis(Axis(0), Slice::from(0..d.expected_records))
            .to_owned();
        let some = features.slice_axis(Axis(0), Slice::from(0..300)).to_owned();
        let models = d
            .targets
            .iter()
            .map(|t| (t.model.clone(), t.expected.clone()))
            .chain(d.reference_sets.iter().flat_map(|s| {
                s.models
                    .iter()
                    .map(|m| (m.model.clone(), m.expected.clone()))
            }));
        for (model_path, expected) in models {
            let bytes = std::fs::read(repo(&format!("models/{model_path}"))).unwrap();
            let model = Model::from_bytes(&bytes, &ModelOptions::default()).unwrap();
            assert!(
                model
                    .cpu_engine(CpuEngine::Kernels)
                    .starts_with("mialab's CPU kernels"),
                "{model_path}: {}",
                model.cpu_engine(CpuEngine::Kernels)
            );
            let ours = model.predict(&first, 3, &mut NoProgress).unwrap();
            let want = read_npy_f32(&repo(&format!("models/{expected}")));
            Tol::Close.assert_all(
                &flat(ours.iter().copied()),
                &flat(want.iter().copied()),
                &model_path,
            );
            let ours = model.predict(&some, 64, &mut NoProgress).unwrap();
            let tract = model
                .predict_with(CpuEngine::Tract, &some, 64, &mut NoProgress)
                .unwrap();
            // Two float32 summation orders through two convolutions and two dense layers.
            Tol::DeepGraph.assert_all(
                &flat(ours.iter().copied()),
                &flat(tract.iter().copied()),
                &format!("{model_path} against tract"),
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} zoo models");
}

#[test]
fn the_report_names_the_cpu_engine_and_unlowered_graphs_stay_on_tract() {
    let engine = Engine::default();
    let bytes = std::fs::read(repo("models/fixtures/image_tiny.onnx")).unwrap();
    let model = Model::from_bytes(&bytes, &ModelOptions::default()).unwrap();
    let inputs = read_npy_f32(&repo("models/fixtures/image_tiny.inputs.npy"));
    for (choice, names) in [
        (BackendChoice::Cpu, "mialab's CPU kernels"),
        (BackendChoice::Tract, "tract on the CPU"),
    ] {
        let (_, used) = engine
            .run(&model, &inputs, choice, 4, &mut NoProgress)
            .unwrap();
        assert_eq!(used.engine, "cpu");
        assert!(used.detail.starts_with(names), "{choice}: {}", used.detail);
    }
    let bytes = std::fs::read(repo("models/fixtures/gpu_unlowered.onnx")).unwrap();
    let unlowered = Model::from_bytes(&bytes, &ModelOptions::default()).unwrap();
    let inputs = read_npy_f32(&repo("models/fixtures/gpu_unlowered.inputs.npy"));
    let (_, used) = engine
        .run(&unlowered, &inputs, BackendChoice::Cpu, 4, &mut NoProgress)
        .unwrap();
    assert_eq!(used.detail, "tract on the CPU");
}
