//! The model zoo read through its manifest: every artifact is the one recorded and inside
//! the size budget, every model gives onnxruntime's outputs, and the ground truth the
//! attacks rely on (target membership, keep-masks) has the shape LiRA's protocol needs.

use crate::util::{Tol, read_npy_f32, repo};
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use mialab::records::{NpyInputs, Records};
use mialab::zoo::{Dataset, Manifest};
use ndarray::{Array1, Array2, Axis};
use ndarray_npy::ReadNpyExt;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const MAX_TOTAL_BYTES: u64 = 40_000_000;
const MAX_FILE_BYTES: u64 = 8_000_000;
const MIN_REFERENCES: usize = 16;

pub(crate) fn zoo(relative: &str) -> PathBuf {
    repo("models").join(relative)
}

pub(crate) fn manifest() -> Manifest {
    Manifest::from_json(&std::fs::read_to_string(zoo("manifest.json")).unwrap()).unwrap()
}

fn bool_npy<D: ndarray::Dimension>(path: &Path) -> ndarray::Array<bool, D>
where
    ndarray::Array<bool, D>: ReadNpyExt,
{
    ndarray::Array::<bool, D>::read_npy(std::fs::File::open(path).unwrap()).unwrap()
}

pub(crate) fn audit_records(d: &Dataset) -> Records {
    let read = |rel: &str| std::fs::read(zoo(rel)).unwrap();
    let (features, labels, ids) = (
        read(&d.audit.features),
        read(&d.audit.labels),
        read(&d.audit.ids),
    );
    Records::from_npy(&NpyInputs {
        features: (&d.audit.features, &features),
        labels: (&d.audit.labels, &labels),
        membership: None,
        ids: Some((&d.audit.ids, &ids)),
        classes: Some(d.classes.clone()),
    })
    .unwrap()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn every_artifact_has_its_recorded_size_and_sha256() {
    let m = manifest();
    assert!(!m.artifacts.is_empty());
    for a in &m.artifacts {
        let bytes = std::fs::read(zoo(&a.path)).unwrap();
        assert_eq!(bytes.len() as u64, a.bytes, "{}", a.path);
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, a.sha256, "{}", a.path);
    }
    for d in &m.datasets {
        let listed = m
            .artifacts
            .iter()
            .filter(|a| a.path.starts_with(&format!("{}/", d.name)))
            .count();
        assert_eq!(listed, files_under(&zoo(&d.name)).len(), "{}", d.name);
    }
}

#[test]
fn everything_under_models_fits_the_size_budget() {
    let files = files_under(&repo("models"));
    let sizes: Vec<(u64, &PathBuf)> = files
        .iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "__pycache__"))
        .map(|p| (p.metadata().unwrap().len(), p))
        .collect();
    let total: u64 = sizes.iter().map(|(s, _)| s).sum();
    assert!(total < MAX_TOTAL_BYTES, "models/ holds {total} bytes");
    for (size, path) in sizes {
        assert!(size < MAX_FILE_BYTES, "{} is {size} bytes", path.display());
    }
}

#[test]
fn every_zoo_model_matches_onnxruntime_on_the_first_audit_records() {
    let m = manifest();
    for d in &m.datasets {
        // The MLPs sum a few hundred terms per output; the CNNs, convolutions and thousands.
        let tol = if d.input.shape.len() > 1 {
            Tol::DeepGraph
        } else {
            Tol::Close
        };
        let records = audit_records(d);
        assert_eq!(records.len(), d.audit.count);
        assert_eq!(records.record_shape(), d.input.shape.as_slice());
        let first = records
            .features
            .slice_axis(Axis(0), (0..d.expected_records).into())
            .to_owned();
        let models = d.targets.iter().map(|t| (&t.model, &t.expected)).chain(
            d.reference_sets
                .iter()
                .flat_map(|r| r.models.iter().map(|m| (&m.model, &m.expected))),
        );
        for (model_path, expected_path) in models {
            let model = load_zoo_model(model_path);
            let out = model.predict(&first, 8, &mut NoProgress).unwrap();
            let expected = read_npy_f32(&zoo(expected_path));
            assert_eq!(out.shape(), expected.shape(), "{model_path}");
            let flat = |it: &mut dyn Iterator<Item = f32>| it.map(f64::from).collect::<Vec<_>>();
            tol.assert_all(
                &flat(&mut out.iter().copied()),
                &flat(&mut expected.iter().copied()),
                model_path,
            );
        }
    }
}

#[test]
fn targets_and_reference_sets_follow_the_lira_protocol() {
    let m = manifest();
    for d in &m.datasets {
        let n = d.audit.count;
        for t in &d.targets {
            let members: Array1<bool> = bool_npy(&zoo(&t.members));
            assert_eq!(members.len(), n, "{}", t.members);
            assert_eq!(members.iter().filter(|&&b| b).count(), n / 2, "{}", t.name);
            let refs = d
                .references_of(t)
                .expect("every target names its reference set");
            assert!(refs.models.len() >= MIN_REFERENCES, "{}", refs.recipe);
        }
        for r in &d.reference_sets {
            let keep: Array2<bool> = bool_npy(&zoo(&r.keep_mask));
            assert_eq!(keep.dim(), (r.count, n), "{}", r.keep_mask);
            assert_eq!(r.models.len(), r.count);
            for column in keep.columns() {
                assert_eq!(column.iter().filter(|&&b| b).count(), r.count / 2);
            }
        }
        let population: Vec<String> = std::fs::read_to_string(zoo(&d.population.ids))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let audit: std::collections::HashSet<String> = audit_records(d).ids.into_iter().collect();
        assert_eq!(population.len(), d.population.count);
        assert!(
            population.iter().all(|id| !audit.contains(id)),
            "population and audit sets overlap in {}",
            d.name
        );
    }
}

#[test]
fn dp_targets_state_their_guarantee_and_poisoned_ones_their_recipe() {
    for d in &manifest().datasets {
        let dp = d.targets.iter().find(|t| t.name == "dpsgd").unwrap();
        let guarantee = dp.dp.as_ref().expect("dpsgd carries ε, δ");
        assert!(guarantee.epsilon > 0.0 && guarantee.epsilon < 10.0);
        assert!(guarantee.delta <= 1.0 / d.audit.count as f64);
        let poisoned = d.targets.iter().find(|t| t.name == "poisoned").unwrap();
        assert!(poisoned.poison.is_some());
    }
}

#[test]
fn zoo_command_lists_every_target_with_its_accuracy() {
    let m = manifest();
    let out = crate::util::mialab(&["zoo", "--dir", zoo("").to_str().unwrap()]);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    let text = crate::util::stdout(&out);
    for name in m.target_names() {
        assert!(
            text.contains(&format!("target {name}:")),
            "{name} missing:\n{text}"
        );
    }
    assert!(text.contains("DP ε="), "{text}");
}

#[test]
fn audit_of_a_zoo_target_reads_its_ground_truth_and_finds_the_overfit_leak() {
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let out = crate::util::mialab(&[
        "audit",
        "--zoo",
        "support2/overfit",
        "--zoo-dir",
        zoo("").to_str().unwrap(),
        "--attack",
        "loss",
        "--bootstrap",
        "200",
        "-q",
        "--out",
        report_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["records"]["records"], 8000);
    assert_eq!(report["records"]["members"], 4000);
    assert_eq!(report["population"]["records"], 1105);
    let auc = report["attacks"][0]["metrics"]["auc"].as_f64().unwrap();
    assert!(
        auc > 0.6,
        "the overfit SUPPORT2 target should leak, AUC {auc}"
    );
}

#[test]
fn an_unknown_zoo_target_is_named_with_the_known_ones() {
    let out = crate::util::mialab(&[
        "audit",
        "--zoo",
        "support2/nonesuch",
        "--zoo-dir",
        zoo("").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = crate::util::stderr(&out);
    assert!(
        err.contains("support2/nonesuch") && err.contains("support2/overfit"),
        "{err}"
    );
}

pub(crate) fn load_zoo_model(rel: &str) -> Model {
    Model::from_bytes(&std::fs::read(zoo(rel)).unwrap(), &ModelOptions::default()).unwrap()
}

/// Audits a zoo target with every attack (its reference set included) into a JSON report.
pub(crate) fn audit_zoo_target(name: &str, extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let zoo_dir = zoo("");
    let mut args = vec![
        "audit",
        "--zoo",
        name,
        "--zoo-dir",
        zoo_dir.to_str().unwrap(),
        "--bootstrap",
        "200",
        "-q",
        "--out",
        report_path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = crate::util::mialab(&args);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap()
}

pub(crate) fn tpr_at(attack: &serde_json::Value, fpr: f64) -> f64 {
    attack["metrics"]["tpr_at_fpr"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| (t["fpr"].as_f64().unwrap() - fpr).abs() < 1e-12)
        .and_then(|t| t["tpr"].as_f64())
        .unwrap()
}

fn by_id<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    crate::util::attack_in(report, id)
}

#[test]
fn lira_and_rmia_beat_every_population_attack_at_low_fpr_on_the_overfit_target() {
    let report = audit_zoo_target("support2/overfit", &[]);
    let references = &report["references"];
    assert_eq!(references["models"], 16);
    assert_eq!(references["in_per_record"]["min"], 8);
    assert_eq!(references["records_without_in"], 0);
    let attacks = report["attacks"].as_array().unwrap();
    assert_eq!(
        attacks.len(),
        mialab::attack::catalogue()
            .filter(|e| e.info.runs_by_default())
            .count()
    );
    let best_population = mialab::attack::catalogue()
        .filter(|e| e.info.runs_by_default())
        .filter(|e| e.info.needs.references == mialab::attack::ReferenceUse::NotUsed)
        .map(|e| tpr_at(by_id(&report, e.info.id), 1e-3))
        .fold(0.0, f64::max);
    for id in ["lira-online", "rmia-online"] {
        let tpr = tpr_at(by_id(&report, id), 1e-3);
        assert!(
            tpr > best_population + 0.01,
            "{id} TPR@0.1% {tpr} vs best population attack {best_population}"
        );
        assert_eq!(by_id(&report, id)["scored"], 8000);
    }
}

#[test]
fn every_attack_stays_near_chance_on_the_dp_sgd_target() {
    let report = audit_zoo_target("support2/dpsgd", &["--rmia-a", "tune"]);
    for attack in report["attacks"].as_array().unwrap() {
        let auc = attack["metrics"]["auc"].as_f64().unwrap();
        assert!(auc < 0.56, "{} AUC {auc} on the ε≈3 target", attack["id"]);
    }
    assert!(
        by_id(&report, "rmia-offline")["detail"]
            .as_str()
            .unwrap()
            .contains("tuned on reference model 0"),
    );
}

#[test]
fn a_keep_mask_of_the_wrong_shape_is_refused() {
    use mialab::config::SignalConfig;
    use mialab::engine::{BackendChoice, Engine};
    use mialab::reference::reference_signals;
    let m = manifest();
    let (d, target) = m.target("support2/overfit").unwrap();
    let records = audit_records(d);
    let err = reference_signals(
        &Engine::default(),
        &[load_zoo_model(&target.model)],
        &records,
        Array2::from_elem((10, 1), false),
        &SignalConfig {
            batch_size: 64,
            backend: BackendChoice::Cpu,
            ..SignalConfig::default()
        },
        true,
        &mut NoProgress,
    )
    .unwrap_err();
    assert!(err.to_string().contains("reference signals"), "{err}");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("keep-mask"), "{source}");
}

#[test]
fn the_encoding_attack_reads_membership_from_the_poisoned_target_only() {
    let attack = |name: &str| {
        // The zoo's poisoning code pairs each encoding with its secret label.
        let report = audit_zoo_target(name, &["--no-references", "--attack", "code-poison-secret"]);
        by_id(&report, "code-poison-secret").clone()
    };
    let (poisoned, clean) = (attack("support2/poisoned"), attack("support2/overfit"));
    let auc = |a: &serde_json::Value| a["metrics"]["auc"].as_f64().unwrap();
    assert!(
        auc(&poisoned) > 0.99,
        "poisoned target: AUC {}",
        auc(&poisoned)
    );
    assert!(
        tpr_at(&poisoned, 0.01) > 0.95,
        "poisoned: TPR@1% {}",
        tpr_at(&poisoned, 0.01)
    );
    assert!(
        tpr_at(&poisoned, 0.001) >= 0.9,
        "poisoned: TPR@0.1% {}",
        tpr_at(&poisoned, 0.001)
    );
    assert!(
        (auc(&clean) - 0.5).abs() < 0.05,
        "clean target: AUC {}",
        auc(&clean)
    );
    assert_eq!(
        clean["metrics"]["chance_in_interval"], true,
        "the clean twin shows no sign of poisoned code"
    );
    assert_eq!(poisoned["metrics"]["chance_in_interval"], false);
}

#[test]
fn lira_and_rmia_on_the_real_records_read_the_poisoned_twin_within_a_few_points_of_the_clean_one() {
    let attacks = ["--attack", "lira-online,rmia-online"];
    let poisoned = audit_zoo_target("support2/poisoned", &attacks);
    let clean = audit_zoo_target("support2/overfit", &attacks);
    for id in ["lira-online", "rmia-online"] {
        let auc = |r: &serde_json::Value| by_id(r, id)["metrics"]["auc"].as_f64().unwrap();
        assert!(
            (auc(&poisoned) - auc(&clean)).abs() <= 0.05,
            "{id}: poisoned AUC {} vs clean {}",
            auc(&poisoned),
            auc(&clean)
        );
    }
}

#[test]
fn the_label_only_attack_sees_the_overfit_leak_and_not_the_dp_one() {
    let auc = |name: &str| {
        let report = audit_zoo_target(name, &["--no-references", "--attack", "label-only"]);
        let attack = by_id(&report, "label-only");
        assert!(attack["detail"].as_str().unwrap().contains("20 queries"));
        attack["metrics"]["auc"].as_f64().unwrap()
    };
    let (overfit, dp) = (auc("support2/overfit"), auc("support2/dpsgd"));
    assert!(overfit > 0.7, "overfit target: label-only AUC {overfit}");
    assert!(dp < 0.56, "DP-SGD target: label-only AUC {dp}");
}

#[test]
fn top1_outputs_block_the_loss_attack_and_leave_the_label_only_attack_working() {
    let attacks = ["--no-references", "--attack", "loss,label-only"];
    let open = audit_zoo_target("support2/overfit", &attacks);
    let mut defended_args = attacks.to_vec();
    defended_args.extend(["--defence", "top1"]);
    let defended = audit_zoo_target("support2/overfit", &defended_args);
    assert_eq!(
        defended["settings"]["defences"],
        serde_json::json!(["top1"])
    );
    let auc = |r: &serde_json::Value, id| by_id(r, id)["metrics"]["auc"].as_f64().unwrap();
    assert!(
        auc(&open, "loss") > 0.7,
        "open loss AUC {}",
        auc(&open, "loss")
    );
    assert_eq!(auc(&defended, "loss"), 0.5);
    assert!(
        by_id(&defended, "loss")["detail"]
            .as_str()
            .unwrap()
            .contains("labels only")
    );
    assert_eq!(auc(&defended, "label-only"), auc(&open, "label-only"));
    assert!(auc(&defended, "label-only") > 0.7);
}

#[test]
fn rounding_to_one_decimal_keeps_the_auc_but_removes_the_low_fpr_leak() {
    let attacks = ["--no-references", "--attack", "loss"];
    let mut rounded_args = attacks.to_vec();
    rounded_args.extend(["--defence", "round:1"]);
    let open = audit_zoo_target("support2/overfit", &attacks);
    let rounded = audit_zoo_target("support2/overfit", &rounded_args);
    let loss = |r: &serde_json::Value| by_id(r, "loss").clone();
    assert!(tpr_at(&loss(&open), 0.1) > 0.1);
    assert_eq!(tpr_at(&loss(&rounded), 0.1), 0.0);
    let gap = loss(&open)["metrics"]["auc"].as_f64().unwrap()
        - loss(&rounded)["metrics"]["auc"].as_f64().unwrap();
    assert!(gap.abs() < 0.02, "AUC moved by {gap}");
}
