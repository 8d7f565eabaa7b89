//! The exporter matrix (`models/fixtures/exporters/matrix.json`, written by its `build.py`):
//! models exported as scikit-learn, skl2onnx, onnxmltools (XGBoost, LightGBM) and PyTorch
//! users export them, each with every option at its default and, where the exporter writes a
//! ZipMap, once more without. Each loads unchanged, gives onnxruntime's class scores, and
//! audits through the CLI.

use crate::util::{Tol, mialab, read_npy_f32, repo, stderr};
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Matrix {
    models: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    model: String,
    exporter: String,
    features: String,
    labels: String,
    zipmap: Option<bool>,
    operators: Vec<String>,
}

fn dir() -> PathBuf {
    repo("models/fixtures/exporters")
}

fn matrix() -> Vec<Entry> {
    let text = std::fs::read_to_string(dir().join("matrix.json")).unwrap();
    serde_json::from_str::<Matrix>(&text).unwrap().models
}

#[test]
fn every_exported_model_loads_unchanged_and_gives_onnxruntimes_scores() {
    let entries = matrix();
    assert!(entries.len() >= 20, "{} models", entries.len());
    for e in &entries {
        let what = format!("{} ({}, {})", e.name, e.model, e.exporter);
        let bytes = std::fs::read(dir().join(format!("{}.onnx", e.name))).unwrap();
        let model = Model::from_bytes(&bytes, &ModelOptions::default())
            .unwrap_or_else(|err| panic!("{what}: {err}"));
        let info = model.info();
        assert!(
            !info.used_output.contains("label"),
            "{what}: reads {}",
            info.used_output
        );
        assert!(info.parameters > 0, "{what}: no parameters counted");
        if e.zipmap == Some(true) && e.operators.iter().any(|o| o.ends_with(":ZipMap")) {
            assert!(
                info.rewrites.iter().any(|r| r.starts_with("ZipMap")),
                "{what}: {:?}",
                info.rewrites
            );
        }
        if e.operators
            .iter()
            .any(|o| o.ends_with(":TreeEnsembleClassifier"))
        {
            assert!(
                info.rewrites.iter().any(|r| r.contains("tree walker")),
                "{what}: {:?}",
                info.rewrites
            );
        }
        let features = read_npy_f32(&dir().join(&e.features));
        let out = model.predict(&features, 64, &mut NoProgress).unwrap();
        let expected = read_npy_f32(&dir().join(format!("{}.expected.npy", e.name)));
        assert_eq!(out.shape(), expected.shape(), "{what}");
        let flat = |a: &mut dyn Iterator<Item = f32>| a.map(f64::from).collect::<Vec<_>>();
        Tol::Close.assert_all(
            &flat(&mut out.iter().copied()),
            &flat(&mut expected.iter().copied()),
            &what,
        );
    }
}

#[test]
fn every_exported_model_audits_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    for e in matrix() {
        let path = |f: &str| dir().join(f).display().to_string();
        let out = tmp.path().join(format!("{}.json", e.name));
        let run = mialab(&[
            "audit",
            "--model",
            &path(&format!("{}.onnx", e.name)),
            "--records",
            &path(&e.features),
            "--labels",
            &path(&e.labels),
            "--membership",
            &path("wine_members.npy"),
            "--attack",
            "loss,confidence",
            "-q",
            "--out",
            &out.display().to_string(),
        ]);
        assert!(run.status.success(), "{}: {}", e.name, stderr(&run));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(report["records"]["records"], 178, "{}", e.name);
        for attack in report["attacks"].as_array().unwrap() {
            let auc = attack["metrics"]["auc"].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&auc), "{}: AUC {auc}", e.name);
        }
    }
}

#[test]
fn a_model_that_still_cannot_load_names_its_operator_and_what_to_do() {
    let path = dir().join("unsupported_wine_svc.onnx");
    let run = mialab(&["inspect", &path.display().to_string()]);
    let err = stderr(&run);
    assert!(!run.status.success());
    assert!(
        err.contains("SVMClassifier") && err.contains("--outputs"),
        "{err}"
    );
}
