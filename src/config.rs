//! The settings of an audit: one serde type whose defaults are written here and nowhere
//! else. The CLI maps its flags onto it, the page sends it as JSON, and a [`crate::Session`]
//! reads its two halves apart: [`SignalConfig`] changes what the models are asked and so
//! which cached signals still hold; the attack settings ([`AttackParams`], [`MetricsConfig`])
//! change only the scoring and the measuring.

use crate::attack::{self, AttackParams};
use crate::augment::Augmentations;
use crate::defence::Defence;
use crate::engine::BackendChoice;
use crate::metrics;
use crate::model::OutputKindChoice;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Everything an audit can be told.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Attack ids; empty means every attack the inputs allow.
    pub attacks: Vec<String>,
    /// Seed of every random choice: the AUC bootstrap, the noise defence, the label-only
    /// perturbations.
    pub seed: u64,
    /// How the models are queried and their outputs read.
    pub signals: SignalConfig,
    /// Settings of the attacks that have any.
    pub params: AttackParams,
    /// How scores are measured.
    pub metrics: MetricsConfig,
}

/// What the models are asked and how their answers become signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalConfig {
    /// Whether the model outputs logits or probabilities.
    pub output_kind: OutputKindChoice,
    /// Softmax temperature applied to the model's outputs.
    pub temperature: f64,
    /// Records per inference call.
    pub batch_size: usize,
    /// Which engine runs the models.
    pub backend: BackendChoice,
    /// Output defences the target's API applies to every answer, in order.
    pub defences: Vec<Defence>,
    /// Test-time augmentations LiRA averages over (images only).
    pub augmentations: Augmentations,
}

impl Default for SignalConfig {
    fn default() -> Self {
        SignalConfig {
            output_kind: OutputKindChoice::Auto,
            temperature: 1.0,
            batch_size: crate::model::DEFAULT_BATCH_SIZE,
            backend: BackendChoice::default(),
            defences: Vec::new(),
            augmentations: Augmentations::default(),
        }
    }
}

/// How attack scores are measured (SPEC.md, "Metrics").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Bootstrap resamples of the AUC interval.
    pub bootstrap_resamples: usize,
    /// Significance level of confidence intervals (0.05: 95% intervals).
    pub alpha: f64,
    /// δ of the empirical ε lower bound.
    pub delta: f64,
    /// Fraction of members among the people the attack is used on, for PPV.
    pub member_prior: f64,
    /// FPRs at which decision thresholds are chosen and reported.
    pub operating_fprs: Vec<f64>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            bootstrap_resamples: 1000,
            alpha: 0.05,
            delta: 1e-5,
            member_prior: 0.01,
            operating_fprs: vec![1e-3, 1e-2, 1e-1],
        }
    }
}

/// A setting out of its bounds, or settings that are not the expected JSON.
#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("{name} must be {rule}, got {value}")]
    OutOfRange {
        name: &'static str,
        rule: &'static str,
        value: f64,
    },
    #[error("the settings are not valid JSON for an audit: {0}")]
    Json(String),
    #[error(transparent)]
    Attack(#[from] attack::AttackError),
}

fn check(ok: bool, name: &'static str, rule: &'static str, value: f64) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError::OutOfRange { name, rule, value })
    }
}

impl AuditConfig {
    /// Reads settings from JSON; absent fields keep their defaults, unknown ones are refused.
    pub fn from_json(text: &str) -> Result<AuditConfig, ConfigError> {
        let config: AuditConfig =
            serde_json::from_str(text).map_err(|e| ConfigError::Json(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The settings as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("settings are plain data") + "\n"
    }

    /// Checks every setting is usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.signals.validate()?;
        self.metrics.validate()?;
        self.params.validate()?;
        Ok(())
    }
}

impl SignalConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.temperature.is_finite() && self.temperature > 0.0,
            "temperature",
            "a positive number",
            self.temperature,
        )?;
        check(
            self.batch_size > 0,
            "batch size",
            "at least 1",
            self.batch_size as f64,
        )
    }
}

impl MetricsConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check(
            self.alpha > 0.0 && self.alpha < 1.0,
            "alpha",
            "in (0, 1)",
            self.alpha,
        )?;
        check(
            (0.0..1.0).contains(&self.delta),
            "delta",
            "in [0, 1)",
            self.delta,
        )?;
        check(
            self.member_prior > 0.0 && self.member_prior < 1.0,
            "member prior",
            "in (0, 1)",
            self.member_prior,
        )?;
        check(
            self.bootstrap_resamples >= metrics::bootstrap::MIN_RESAMPLES,
            "bootstrap resamples",
            "at least 200",
            self.bootstrap_resamples as f64,
        )?;
        for &fpr in &self.operating_fprs {
            check(fpr > 0.0 && fpr < 1.0, "an operating FPR", "in (0, 1)", fpr)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_survive_json_and_absent_fields_keep_them() {
        let defaults = AuditConfig::default();
        assert_eq!(
            AuditConfig::from_json(&defaults.to_json()),
            Ok(defaults.clone())
        );
        let partial =
            AuditConfig::from_json(r#"{"seed": 7, "params": {"rmia": {"gamma": 2}}}"#).unwrap();
        assert_eq!(partial.seed, 7);
        assert_eq!(partial.params.rmia.gamma, 2.0);
        assert_eq!(partial.params.rmia.a, defaults.params.rmia.a);
        assert_eq!(partial.metrics, defaults.metrics);
    }

    #[test]
    fn unknown_fields_and_bad_values_are_named() {
        let typo = AuditConfig::from_json(r#"{"sead": 1}"#).unwrap_err();
        assert!(typo.to_string().contains("sead"), "{typo}");
        let alpha = AuditConfig::from_json(r#"{"metrics": {"alpha": 2}}"#).unwrap_err();
        assert!(
            alpha.to_string().contains("alpha must be in (0, 1)"),
            "{alpha}"
        );
        let defence =
            AuditConfig::from_json(r#"{"signals": {"defences": ["round:x"]}}"#).unwrap_err();
        assert!(defence.to_string().contains("round"), "{defence}");
    }
}
