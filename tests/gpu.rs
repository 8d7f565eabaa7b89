//! The GPU path: every zoo model lowers to GPU kernels, the lowered plan (run by the kernels'
//! CPU twins) gives tract's outputs, and a graph with an operator the GPU path lacks is
//! named and left to tract.

use crate::util::{Tol, repo};
use crate::zoo::{audit_records, load_zoo_model, manifest};
use mialab::gpu::twin;
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use ndarray::{ArrayD, Axis};

const RECORDS: usize = 37;

fn first_records(features: &ArrayD<f32>) -> ArrayD<f32> {
    features
        .slice_axis(Axis(0), (0..RECORDS).into())
        .as_standard_layout()
        .into_owned()
}

fn flat(values: impl Iterator<Item = f32>) -> Vec<f64> {
    values.map(f64::from).collect()
}

#[test]
fn every_zoo_model_lowers_and_its_plan_gives_tracts_outputs() {
    for d in &manifest().datasets {
        let records = first_records(&audit_records(d).features);
        let models = d.targets.iter().map(|t| &t.model).chain(
            d.reference_sets
                .iter()
                .flat_map(|r| r.models.iter().map(|m| &m.model))
                .take(2),
        );
        for path in models {
            let model = load_zoo_model(path);
            let plan = model
                .gpu_plan()
                .unwrap_or_else(|e| panic!("{path} does not lower: {e}"));
            let want = model.predict(&records, 64, &mut NoProgress).unwrap();
            let got = twin::run_plan(plan, records.as_slice().unwrap(), RECORDS);
            Tol::DeepGraph.assert_all(&flat(got.into_iter()), &flat(want.iter().copied()), path);
        }
    }
}

#[test]
fn the_example_model_lowers_with_its_single_logit() {
    let bytes = std::fs::read(repo("models/breast_cancer/model.onnx")).unwrap();
    let model = Model::from_bytes(&bytes, &ModelOptions::default()).unwrap();
    let plan = model.gpu_plan().unwrap();
    assert_eq!(
        plan.describe(),
        "dense, activation, dense, activation, dense"
    );
    assert_eq!(plan.output_len(), 1);
}

#[test]
fn an_operator_without_a_kernel_is_named_and_stays_on_tract() {
    let bytes = std::fs::read(repo("models/fixtures/unsupported_op.onnx")).unwrap();
    let err = match Model::from_bytes(&bytes, &ModelOptions::default()) {
        Ok(model) => model.gpu_plan().unwrap_err().to_string(),
        Err(load) => {
            // tract itself lacks the operator: the GPU path is never asked.
            assert!(load.to_string().contains("Det"), "{load}");
            return;
        }
    };
    assert!(err.contains("Det"), "{err}");
}
