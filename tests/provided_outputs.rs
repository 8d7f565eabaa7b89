//! "Bring your own outputs": audits of outputs the target already gave, in the layouts
//! auditors have (`models/fixtures/outputs/build.py`: onnxruntime's logits as CSV, losses as
//! CSV, TF Privacy's AttackInputData as .npz; LiRA's `[models, records, classes]` .npy with
//! a keep-mask), against audits that run the models themselves.

use crate::util::{Tol, mialab, read_npy_f32, repo, stderr};
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use ndarray::{Array3, Axis};
use serde_json::Value;
use std::path::Path;

fn audit(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    args.extend(["-q".into(), "--out".into(), out.display().to_string()]);
    let run = mialab(&args);
    assert!(run.status.success(), "{args:?}: {}", stderr(&run));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn path(relative: &str) -> String {
    repo(relative).display().to_string()
}

fn aucs(report: &Value) -> Vec<(String, f64)> {
    report["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["metrics"]["auc"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn assert_same_aucs(a: &Value, b: &Value, tol: Tol, what: &str) {
    let (a, b) = (aucs(a), aucs(b));
    assert_eq!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>(),
        "{what}"
    );
    for ((id, x), (_, y)) in a.iter().zip(&b) {
        assert!(tol.accepts(*x, *y), "{what}: {id} AUC {x} vs {y}");
    }
}

const ATTACKS: &str = "loss,confidence,entropy,modified-entropy";

#[test]
fn onnxruntime_logits_as_csv_give_the_report_the_model_gives() {
    let dir = "models/fixtures/exporters";
    let from_model = audit(&[
        "audit",
        "--model",
        &path(&format!("{dir}/wine_pytorch_style_opset17.onnx")),
        "--records",
        &path(&format!("{dir}/wine_features.npy")),
        "--labels",
        &path(&format!("{dir}/wine_labels.npy")),
        "--membership",
        &path(&format!("{dir}/wine_members.npy")),
        "--attack",
        ATTACKS,
    ]);
    let csv = path("models/fixtures/outputs/wine_logits.csv");
    let provided = audit(&["audit", "--outputs", &csv, "--attack", ATTACKS]);
    assert_same_aucs(
        &from_model,
        &provided,
        Tol::Close,
        "CSV logits vs the model",
    );
    assert_eq!(provided["model"]["output_kind"], "logits");
    assert_eq!(provided["model"]["parameters"], 0);
    assert_eq!(provided["records"]["members"], 89);
    assert_eq!(provided["utility"], from_model["utility"]);

    let npz = path("models/fixtures/outputs/wine_attack_input.npz");
    let tf_privacy = audit(&["audit", "--outputs", &npz, "--attack", ATTACKS]);
    assert_same_aucs(&provided, &tf_privacy, Tol::Exact, "TF Privacy .npz vs CSV");
}

#[test]
fn losses_alone_run_the_attacks_that_read_the_label_and_refuse_the_others() {
    let logits = audit(&[
        "audit",
        "--outputs",
        &path("models/fixtures/outputs/wine_logits.csv"),
        "--attack",
        "loss,confidence",
    ]);
    let losses_csv = path("models/fixtures/outputs/wine_losses.csv");
    let losses = audit(&["audit", "--outputs", &losses_csv]);
    assert_same_aucs(&logits, &losses, Tol::Close, "losses vs logits");
    assert!(losses["utility"]["accuracy"].is_null());
    let refused = mialab(&[
        "audit",
        "--outputs",
        &losses_csv,
        "--attack",
        "entropy",
        "-q",
    ]);
    let err = stderr(&refused);
    assert!(!refused.status.success());
    assert!(
        err.contains("whole probability vector") && err.contains("provided outputs"),
        "{err}"
    );
}

/// tract's logits of `model` over `features`.
fn logits(model: &Path, features: &ndarray::ArrayD<f32>) -> ndarray::Array2<f32> {
    let bytes = std::fs::read(model).unwrap();
    Model::from_bytes(&bytes, &ModelOptions::default())
        .unwrap()
        .predict(features, 512, &mut NoProgress)
        .unwrap()
}

/// Every reference model's logits, `[models, records, classes]` (LiRA's layout).
fn reference_logits(features: &ndarray::ArrayD<f32>) -> Array3<f32> {
    let refs: Vec<ndarray::Array2<f32>> = (0..16)
        .map(|k| {
            logits(
                &repo(&format!(
                    "models/support2/references/overfit/ref-{k:02}.onnx"
                )),
                features,
            )
        })
        .collect();
    let views: Vec<_> = refs.iter().map(|r| r.view().insert_axis(Axis(0))).collect();
    ndarray::concatenate(Axis(0), &views).unwrap()
}

#[test]
fn reference_outputs_in_lira_layout_give_the_zoo_audits_reference_attacks() {
    let attacks = "loss,lira-online,lira-offline,calibrated-loss,rmia-online,shokri";
    let zoo = audit(&[
        "audit",
        "--zoo",
        "support2/overfit",
        "--zoo-dir",
        &path("models"),
        "--attack",
        attacks,
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, a: &ndarray::ArrayD<f32>| {
        let p = tmp.path().join(name);
        ndarray_npy::write_npy(&p, a).unwrap();
        p.display().to_string()
    };
    let audit_features = read_npy_f32(&repo("models/support2/audit_features.npy"));
    let population = read_npy_f32(&repo("models/support2/population_features.npy"));
    let target = repo("models/support2/targets/overfit.onnx");
    let t = write("target.npy", &logits(&target, &audit_features).into_dyn());
    let p = write("population.npy", &logits(&target, &population).into_dyn());
    let r = write(
        "references.npy",
        &reference_logits(&audit_features).into_dyn(),
    );
    let pr = write(
        "population_references.npy",
        &reference_logits(&population).into_dyn(),
    );
    let provided = audit(&[
        "audit",
        "--outputs",
        &t,
        "--labels",
        &path("models/support2/audit_labels.npy"),
        "--membership",
        &path("models/support2/targets/overfit.members.npy"),
        "--reference-outputs",
        &r,
        "--keep-mask",
        &path("models/support2/references/overfit/keep.npy"),
        "--population-outputs",
        &p,
        "--population-labels",
        &path("models/support2/population_labels.npy"),
        "--population-reference-outputs",
        &pr,
        "--attack",
        attacks,
    ]);
    assert_same_aucs(
        &zoo,
        &provided,
        Tol::Exact,
        "provided logits vs the zoo's models",
    );
    assert_eq!(
        provided["references"]["models"], 16,
        "{}",
        provided["references"]
    );
}
