//! The model zoo's manifest (`models/manifest.json`, schema `mialab-zoo/1`, documented in
//! `models/README.md`): which data sets, targets and reference models exist, where their
//! files are, and the ground truth (membership, keep-masks) an audit of them needs.
//!
//! Parsing is from text, so the page can read the manifest it fetched; paths stay relative
//! to the manifest's folder and callers resolve them.

use serde::Deserialize;
use thiserror::Error;

/// The manifest schema this build reads.
pub const SCHEMA: &str = "mialab-zoo/1";

#[derive(Debug, Error)]
pub enum ZooError {
    #[error("the zoo manifest is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("the zoo manifest has schema {found:?}; this mialab reads {SCHEMA:?}")]
    Schema { found: String },
    #[error("the zoo has no target {name:?}; it has: {known}")]
    UnknownTarget { name: String, known: String },
}

/// The whole zoo.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub schema: String,
    pub seed: u64,
    pub datasets: Vec<Dataset>,
    /// Every file under the zoo's data set folders, with its size and SHA-256.
    pub artifacts: Vec<Artifact>,
}

/// One data set with its record files, targets and reference sets.
#[derive(Debug, Clone, Deserialize)]
pub struct Dataset {
    pub name: String,
    pub title: String,
    pub architecture: String,
    pub classes: Vec<String>,
    pub input: InputSpec,
    /// The audit set: targets' members and non-members, the references' population.
    pub audit: RecordFiles,
    /// Records no model trained on: population thresholds, RMIA's reference population.
    pub population: RecordFiles,
    /// How many leading audit records each model's `expected` outputs cover.
    pub expected_records: usize,
    pub targets: Vec<Target>,
    pub reference_sets: Vec<ReferenceSet>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InputSpec {
    pub name: String,
    /// Shape of one record.
    pub shape: Vec<usize>,
    pub stored_as: String,
    pub feature_names: Vec<String>,
}

/// `.npy` features and labels plus a text file of ids.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordFiles {
    pub features: String,
    pub labels: String,
    pub ids: String,
    pub count: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Target {
    pub name: String,
    pub model: String,
    /// Boolean `.npy` over the audit set: which records trained this target.
    pub members: String,
    /// onnxruntime's logits on the first `expected_records` audit records.
    pub expected: String,
    /// Name of the reference set trained with this target's recipe.
    pub references: String,
    pub recipe: serde_json::Value,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
    #[serde(default)]
    pub dp: Option<DpGuarantee>,
    #[serde(default)]
    pub poison: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DpGuarantee {
    pub epsilon: f64,
    pub delta: f64,
    pub accountant: String,
}

/// K reference models of one recipe and their keep-mask (K x audit records).
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceSet {
    pub recipe: String,
    pub keep_mask: String,
    pub count: usize,
    pub models: Vec<ReferenceModel>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceModel {
    pub model: String,
    pub expected: String,
    pub train_accuracy: f64,
    pub test_accuracy: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Artifact {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn from_json(text: &str) -> Result<Manifest, ZooError> {
        let manifest: Manifest = serde_json::from_str(text)?;
        if manifest.schema != SCHEMA {
            return Err(ZooError::Schema {
                found: manifest.schema,
            });
        }
        Ok(manifest)
    }

    /// Every target as `dataset/target`.
    pub fn target_names(&self) -> Vec<String> {
        self.datasets
            .iter()
            .flat_map(|d| {
                d.targets
                    .iter()
                    .map(move |t| format!("{}/{}", d.name, t.name))
            })
            .collect()
    }

    /// Looks up `dataset/target`.
    pub fn target(&self, name: &str) -> Result<(&Dataset, &Target), ZooError> {
        self.datasets
            .iter()
            .flat_map(|d| d.targets.iter().map(move |t| (d, t)))
            .find(|(d, t)| format!("{}/{}", d.name, t.name) == name)
            .ok_or_else(|| ZooError::UnknownTarget {
                name: name.to_string(),
                known: self.target_names().join(", "),
            })
    }
}

impl Dataset {
    /// The reference set a target's recipe names.
    pub fn references_of(&self, target: &Target) -> Option<&ReferenceSet> {
        self.reference_sets
            .iter()
            .find(|r| r.recipe == target.references)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_of_another_schema_is_refused_by_name() {
        let text = r#"{"schema": "mialab-zoo/9", "seed": 1, "datasets": [], "artifacts": []}"#;
        let err = Manifest::from_json(text).unwrap_err();
        assert!(err.to_string().contains("mialab-zoo/9"), "{err}");
    }

    #[test]
    fn an_unknown_target_lists_the_known_ones() {
        let text = r#"{"schema": "mialab-zoo/1", "seed": 1, "datasets": [], "artifacts": []}"#;
        let err = Manifest::from_json(text)
            .unwrap()
            .target("x/y")
            .unwrap_err();
        assert!(matches!(err, ZooError::UnknownTarget { .. }), "{err}");
    }
}
