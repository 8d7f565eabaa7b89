//! Which CSV columns play which role. A schema can be given as flags or as a JSON file:
//! `{"label": "diagnosis", "classes": ["malignant", "benign"], "id": "id", "member": "member"}`.

use super::RecordsError;
use serde::Deserialize;

/// The roles of a CSV's columns. Feature columns default to every column not otherwise used.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSchema {
    /// The label column.
    #[serde(default = "default_label")]
    pub label: String,
    /// The record id column; `None` uses a column named `id` when there is one, else ids made
    /// from each record's content ([`super::fingerprint::content_ids`]).
    #[serde(default)]
    pub id: Option<String>,
    /// The membership column (0/1); `None` uses a column named `member` when there is one.
    #[serde(default)]
    pub member: Option<String>,
    /// Feature columns in the model's input order; `None` means all remaining columns.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// Class names in the model's output order; labels are then names, not indices.
    #[serde(default)]
    pub classes: Option<Vec<String>>,
}

fn default_label() -> String {
    "label".to_string()
}

impl Default for RecordSchema {
    fn default() -> Self {
        RecordSchema {
            label: default_label(),
            id: None,
            member: None,
            features: None,
            classes: None,
        }
    }
}

impl RecordSchema {
    /// The schema for population records, which are non-members by definition: a membership
    /// column is optional there (and, if present, must say 0 everywhere).
    pub fn for_population(&self) -> RecordSchema {
        RecordSchema {
            member: None,
            ..self.clone()
        }
    }

    /// Parses a schema from JSON text.
    pub fn from_json(text: &str) -> Result<RecordSchema, RecordsError> {
        serde_json::from_str(text).map_err(|e| RecordsError::Schema(e.to_string()))
    }
}
