//! Whether an audit reproduces: a recorded report against the report of running it again.
//! First the inputs (the SHA-256 the report recorded for the model, the record sets, each
//! reference model and the keep-mask), then every other value; file names may differ.

use crate::config::{AuditConfig, ConfigError};
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum VerifyError {
    #[error(
        "the report records no settings to run again (report version {version}; reports from version 4 on record them)"
    )]
    NoSettings { version: String },
    #[error("the report's settings: {0}")]
    Config(#[from] ConfigError),
}

/// What differs between a recorded report and its rerun.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    /// Inputs whose content differs from what the report recorded, in words.
    pub changed_inputs: Vec<String>,
    /// Every other value that differs, as `path: recorded -> rerun` (the first 20).
    pub differences: Vec<String>,
    /// How many values differ in all.
    pub difference_count: usize,
}

impl Verdict {
    pub fn reproduces(&self) -> bool {
        self.changed_inputs.is_empty() && self.difference_count == 0
    }
}

/// The settings a report ran with (`settings.config`, report version 4 on).
pub fn recorded_config(report: &Value) -> Result<AuditConfig, VerifyError> {
    let config = report
        .pointer("/settings/config")
        .ok_or_else(|| VerifyError::NoSettings {
            version: report["report_version"].to_string(),
        })?;
    Ok(AuditConfig::from_json(&config.to_string())?)
}

/// The inputs a report names by hash, as (what, JSON pointer).
fn inputs(report: &Value) -> Vec<(String, String)> {
    let mut out = vec![
        ("the model".to_string(), "/model/sha256".to_string()),
        (
            "the audit records".to_string(),
            "/records/sha256".to_string(),
        ),
        (
            "the population records".to_string(),
            "/population/sha256".to_string(),
        ),
        (
            "the keep-mask".to_string(),
            "/references/keep_mask_sha256".to_string(),
        ),
    ];
    let files = report
        .pointer("/references/model_files")
        .and_then(Value::as_array);
    for (k, file) in files.into_iter().flatten().enumerate() {
        let name = file["source"].as_str().unwrap_or("?");
        out.push((
            format!("reference model {k} ({name})"),
            format!("/references/model_files/{k}/sha256"),
        ));
    }
    out
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

/// Compares a recorded report with its rerun.
pub fn compare(recorded: &Value, rerun: &Value) -> Verdict {
    let mut verdict = Verdict::default();
    for (what, pointer) in inputs(recorded) {
        let (a, b) = (recorded.pointer(&pointer), rerun.pointer(&pointer));
        if a != b {
            let show = |v: Option<&Value>| v.map_or("absent".to_string(), short);
            verdict.changed_inputs.push(format!(
                "{what} differs from the one audited (SHA-256 {} in the report, {} now)",
                show(a),
                show(b)
            ));
        }
    }
    walk("", recorded, rerun, &mut verdict);
    verdict
}

fn walk(path: &str, a: &Value, b: &Value, verdict: &mut Verdict) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                if key == "source" || key == "mialab_version" {
                    continue;
                }
                let inner = format!("{path}/{key}");
                walk(&inner, &x[key.as_str()], &y[key.as_str()], verdict);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (k, (u, v)) in x.iter().zip(y).enumerate() {
                walk(&format!("{path}/{k}"), u, v, verdict);
            }
        }
        _ if a == b => {}
        _ => {
            verdict.difference_count += 1;
            if verdict.differences.len() < 20 {
                verdict
                    .differences
                    .push(format!("{path}: {} -> {}", short(a), short(b)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(model: &str, auc: f64) -> Value {
        json!({
            "report_version": 4,
            "settings": {"config": serde_json::from_str::<Value>(&AuditConfig::default().to_json()).unwrap()},
            "model": {"source": "a.onnx", "sha256": model},
            "records": {"source": "r.csv", "sha256": "r"},
            "attacks": [{"id": "loss", "metrics": {"auc": auc}}],
        })
    }

    #[test]
    fn the_same_report_with_other_file_names_reproduces() {
        let mut rerun = report("m", 0.75);
        rerun["model"]["source"] = json!("elsewhere/a.onnx");
        assert!(compare(&report("m", 0.75), &rerun).reproduces());
    }

    #[test]
    fn a_changed_model_and_a_changed_number_are_named() {
        let verdict = compare(&report("m", 0.75), &report("n", 0.5));
        assert_eq!(verdict.changed_inputs.len(), 1);
        assert!(verdict.changed_inputs[0].starts_with("the model differs"));
        assert!(
            verdict
                .differences
                .contains(&"/model/sha256: \"m\" -> \"n\"".to_string())
        );
        assert!(
            verdict
                .differences
                .contains(&"/attacks/0/metrics/auc: 0.75 -> 0.5".to_string())
        );
        assert_eq!(verdict.difference_count, 2);
    }

    #[test]
    fn the_recorded_settings_are_read_back_and_an_old_report_is_refused() {
        assert_eq!(
            recorded_config(&report("m", 0.7)).unwrap(),
            AuditConfig::default()
        );
        let old = json!({"report_version": 3, "settings": {}});
        assert!(
            recorded_config(&old)
                .unwrap_err()
                .to_string()
                .contains("version 4")
        );
    }
}
