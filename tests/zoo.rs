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

fn zoo(relative: &str) -> PathBuf {
    repo("models").join(relative)
}

fn manifest() -> Manifest {
    Manifest::from_json(&std::fs::read_to_string(zoo("manifest.json")).unwrap()).unwrap()
}

fn bool_npy<D: ndarray::Dimension>(path: &Path) -> ndarray::Array<bool, D>
where
    ndarray::Array<bool, D>: ReadNpyExt,
{
    ndarray::Array::<bool, D>::read_npy(std::fs::File::open(path).unwrap()).unwrap()
}

fn audit_records(d: &Dataset) -> Records {
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
            let bytes = std::fs::read(zoo(model_path)).unwrap();
            let model = Model::from_bytes(&bytes, &ModelOptions::default()).unwrap();
            let out = model.predict(&first, 8, &mut NoProgress).unwrap();
            let expected = read_npy_f32(&zoo(expected_path));
            assert_eq!(out.shape(), expected.shape(), "{model_path}");
            let flat = |it: &mut dyn Iterator<Item = f32>| it.map(f64::from).collect::<Vec<_>>();
            Tol::Close.assert_all(
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
