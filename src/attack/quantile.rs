//! Quantile regression (Bertran, Tang, Roth, Kearns, Morgenstern & Wu, NeurIPS 2023; SPEC.md
//! attack 8): no reference model of the target's architecture, one regressor instead. It is
//! trained on population records (known non-members) to predict, from a record and its
//! label, the distribution of the target's score on non-members: a Gaussian mean μ(x, y)
//! and scale σ(x, y) fitted by likelihood. A record's score is its standardised residual
//! `(s(x, y) − μ(x, y)) / σ(x, y)`: how far above what the target gives records like it that
//! it never saw. Thresholding at the Gaussian's (1 − α)-quantile gives FPR ≈ α per record.
//!
//! The regressor is made as the attack's query ([`REGRESSED`]), of the audit records only:
//! the population trained it, so its scores on the population are not a fresh non-member
//! sample, and thresholds are cross-fitted on the audit set. It runs when asked for (it
//! trains a network), not in an audit that names no attacks.

use super::{
    Answers, Attack, AttackError, AttackInfo, AttackParams, AttackScores, Needs, QueryAnswers,
    QueryKind, QueryOracle, ReadContext, ScoringSet,
};
use super::{CatalogueEntry, check};
use crate::augment::{self, Augmentations, Query};
use crate::config::AuditConfig;
use crate::npz::{NpzIn, NpzOut, SignalsFileError};
use crate::progress::Progress;
use crate::records::Records;
use crate::signal::Signals;
use crate::train::regressor::{
    RegressorSettings, ScoredRecords, fit_regressor, regressor_architecture,
};
use ndarray::Array1;
use ndarray_npy::WriteNpzError;
use serde::{Deserialize, Serialize};

/// Which score of the target the regressor predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum QuantileScore {
    /// LiRA's φ, `ln(p_y / (1 − p_y))`: close to Gaussian on non-members.
    #[default]
    LogitScaled,
    /// The negative cross-entropy loss.
    NegativeLoss,
}

impl QuantileScore {
    fn of(self, signals: &Signals) -> Vec<f64> {
        match self {
            QuantileScore::LogitScaled => signals.logit_scaled.clone(),
            QuantileScore::NegativeLoss => signals.loss.iter().map(|l| -l).collect(),
        }
    }
}

/// How the regressor is trained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuantileParams {
    pub score: QuantileScore,
    /// The most epochs (training stops when the held-out fifth of the population stops
    /// improving for `patience` epochs).
    pub epochs: usize,
    pub patience: usize,
    pub learning_rate: f64,
    /// AdamW's decoupled weight decay.
    pub weight_decay: f64,
    pub batch_size: usize,
    /// Images: the population is also asked about these transformed copies of its images
    /// (each a non-member query of its own), and the regressor learns from all of them.
    pub augmentations: Augmentations,
    /// Regressors trained (each its own held-out fifth, initial values and batch order); their
    /// predictions are pooled as one Gaussian with the moments of their mixture. Left out of
    /// reports and signals files at its default of one, which they held before it existed.
    #[serde(skip_serializing_if = "is_one")]
    pub ensemble: usize,
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

impl Default for QuantileParams {
    fn default() -> Self {
        QuantileParams {
            score: QuantileScore::LogitScaled,
            epochs: 200,
            patience: 10,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            batch_size: 32,
            augmentations: Augmentations {
                flip: false,
                shift: 1,
            },
            ensemble: 1,
        }
    }
}

impl QuantileParams {
    pub fn validate(&self) -> Result<(), AttackError> {
        check(
            self.augmentations.shift <= Augmentations::MAX_SHIFT,
            "quantile regressor's image shifts",
            "0, 1 or 2 pixels",
            self.augmentations.shift as f64,
        )?;
        check(
            (1..=10_000).contains(&self.epochs),
            "quantile regressor epochs",
            "between 1 and 10000",
            self.epochs as f64,
        )?;
        check(
            self.patience >= 1,
            "quantile regressor patience",
            "at least 1",
            self.patience as f64,
        )?;
        check(
            self.learning_rate.is_finite() && self.learning_rate > 0.0 && self.learning_rate <= 1.0,
            "quantile regressor learning rate",
            "in (0, 1]",
            self.learning_rate,
        )?;
        check(
            self.weight_decay.is_finite() && (0.0..=1.0).contains(&self.weight_decay),
            "quantile regressor weight decay",
            "in [0, 1]",
            self.weight_decay,
        )?;
        check(
            self.batch_size >= 1,
            "quantile regressor batch size",
            "at least 1",
            self.batch_size as f64,
        )?;
        check(
            (1..=MAX_ENSEMBLE).contains(&self.ensemble),
            "quantile regressors in the ensemble",
            "between 1 and 64",
            self.ensemble as f64,
        )
    }
}

/// The most regressors an ensemble may train.
const MAX_ENSEMBLE: usize = 64;

/// The regressor's prediction for every audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressedScores {
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    pub score: QuantileScore,
    /// How the regressor was made, in words.
    pub description: String,
}

static QUANTILE: AttackInfo = AttackInfo {
    id: "quantile-regression",
    title: "Quantile regression (no reference models)",
    paper: "Bertran, Tang, Roth, Kearns, Morgenstern & Wu, Scalable Membership Inference Attacks via Quantile Regression, NeurIPS 2023",
    summary: "Needs no reference models, only population records. A regressor of the target's own architecture is trained on the population to predict, from a record and its label, what score the target gives records like it that it never trained on (a mean and a spread). A record whose score sits far above that prediction is likely a member: like LiRA, it asks how unusual the target's answer is for this particular record, at the cost of training one model instead of many.",
    needs: Needs {
        population: true,
        queries: &[&REGRESSED],
        ..Needs::TARGET_ONLY
    },
    reads: &[],
    labels_suffice: false,
    scores_per_class: false,
};

pub(super) static ENTRY: CatalogueEntry = CatalogueEntry {
    info: &QUANTILE,
    build: |params: &AttackParams| {
        Box::new(QuantileAttack {
            score: params.quantile.score,
        })
    },
};

/// Scores records by their standardised residual under the regressor.
pub struct QuantileAttack {
    score: QuantileScore,
}

impl Attack for QuantileAttack {
    fn info(&self) -> &'static AttackInfo {
        &QUANTILE
    }

    fn score(
        &self,
        records: ScoringSet<'_>,
        _population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError> {
        let regressed = records.answers::<RegressedScores>(&REGRESSED)?;
        if regressed.score != self.score {
            return Err(AttackError::Parameter {
                name: "quantile regressor's score",
                rule: "the score its answers were computed for",
                value: f64::NAN,
            });
        }
        let observed = self.score.of(records.target());
        let scores = observed
            .iter()
            .zip(&regressed.mean)
            .zip(&regressed.scale)
            .map(|((s, m), sigma)| (s - m) / sigma.max(1e-12))
            .collect();
        let mut scored = AttackScores::complete(scores);
        scored.detail = Some(regressed.description.clone());
        Ok(scored)
    }
}

/// The regressor fitted on the population and its prediction for the audit records
/// (`params.quantile`), stored as `quantile_mean` and `quantile_scale`.
pub static REGRESSED: QueryKind = QueryKind {
    id: "quantile-regression",
    description: "a regressor of the target's score trained on the population records (known non-members), which needs population records",
    population: false,
    runs_references: false,
    by_default: false,
    settings: |config: &AuditConfig| serde_json::json!({"params": config.params.quantile, "seed": config.seed}),
    make: make_regressed,
    meta_key: Some("quantile_regression"),
    read: read_regressed,
    parts: None,
};

/// The population's answers are the ones its own records got (the same noise stream); copy
/// k of them under the noise defence draws from stream `1 + 100000 k`.
const POPULATION_STREAM: u64 = 1;
const AUGMENTED_STREAM: u64 = 100_000;

fn make_regressed(
    oracle: &dyn QueryOracle,
    config: &AuditConfig,
) -> crate::Result<Option<QueryAnswers>> {
    let Some(population) = oracle.population() else {
        return Ok(None);
    };
    let params = config.params.quantile;
    let images = params.augmentations;
    let copies = if images.check(population.record_shape()).is_ok() {
        images.queries()
    } else {
        vec![Query::IDENTITY]
    };
    let (mut features, mut labels, mut scores) = (Vec::new(), Vec::new(), Vec::new());
    let mut classes = 0;
    for (k, copy) in copies.iter().enumerate() {
        let asked = Records {
            features: augment::apply(&population.features, *copy),
            ..population.clone()
        };
        let answers =
            oracle.ask_target_about(&asked, POPULATION_STREAM + AUGMENTED_STREAM * k as u64)?;
        classes = answers.probabilities.ncols();
        scores.extend(params.score.of(&answers));
        labels.extend_from_slice(&population.labels);
        features.extend(asked.features.iter().copied());
    }
    let target = oracle.target();
    let (architecture, description) = regressor_architecture(
        target.architecture().ok().map(|a| a.as_ref()),
        population.record_shape(),
        classes,
        &features,
    );
    let data = ScoredRecords {
        features: &features,
        labels: &labels,
        scores: &scores,
        copies: copies.len(),
    };
    let records = oracle.records();
    let audit_features: Vec<f32> = records.features.iter().copied().collect();
    let members = params.ensemble.max(1);
    let mut predictions = Vec::with_capacity(members);
    let mut fitted_descriptions = Vec::with_capacity(members);
    for member in 0..members {
        let settings = RegressorSettings {
            epochs: params.epochs,
            patience: params.patience,
            learning_rate: params.learning_rate,
            weight_decay: params.weight_decay,
            batch_size: params.batch_size,
            seed: config.seed,
            stream: REGRESSOR_STREAM + member as u64,
        };
        let step = if members == 1 {
            "training the quantile regressor".to_string()
        } else {
            format!("training quantile regressor {} of {members}", member + 1)
        };
        let fitted = fit_regressor(
            architecture.clone(),
            description.clone(),
            data,
            &settings,
            &mut |done, total| {
                oracle.progress(Progress {
                    step: &step,
                    done,
                    total,
                })
            },
        )?;
        predictions.push(fitted.predict(&audit_features, &records.labels)?);
        fitted_descriptions.push(format!(
            "best epoch {} (held-out Gaussian NLL {:.4})",
            fitted.best_epoch, fitted.held_out_loss
        ));
        if member + 1 == members {
            let trained_on = format!(
                "trained on {} population records{}, {} held out",
                fitted.trained_on,
                if copies.len() > 1 {
                    format!(
                        " and {} mirrored and shifted copies of each",
                        copies.len() - 1
                    )
                } else {
                    String::new()
                },
                fitted.held_out,
            );
            fitted_descriptions.insert(0, trained_on);
        }
    }
    let (mean, scale) = mixture_moments(&predictions);
    let regressors = if members == 1 {
        format!("regressor: {description}")
    } else {
        format!(
            "an ensemble of {members} regressors, pooled as their mixture's mean and spread: {description}"
        )
    };
    Ok(Some(QueryAnswers::new(RegressedScores {
        mean,
        scale,
        score: params.score,
        description: format!("{regressors}, {}", fitted_descriptions.join("; ")),
    })))
}

/// The regressors draw from streams 1, 2, … of the audit's seed.
const REGRESSOR_STREAM: u64 = 1;

/// One Gaussian per record from several regressors' `(means, scales)`: the mean and standard
/// deviation of the equal-weight mixture of their Gaussians, so that where the regressors
/// disagree about a record its spread widens (one regressor: its own prediction).
fn mixture_moments(predictions: &[(Vec<f64>, Vec<f64>)]) -> (Vec<f64>, Vec<f64>) {
    let Some((first, _)) = predictions.first() else {
        return (Vec::new(), Vec::new());
    };
    if predictions.len() == 1 {
        return predictions[0].clone();
    }
    let k = predictions.len() as f64;
    (0..first.len())
        .map(|i| {
            let mean = predictions.iter().map(|(m, _)| m[i]).sum::<f64>() / k;
            let second_moment = predictions
                .iter()
                .map(|(m, s)| s[i] * s[i] + (m[i] - mean).powi(2))
                .sum::<f64>()
                / k;
            (mean, second_moment.sqrt())
        })
        .unzip()
}

/// The regressor's settings, kept in the signals file's meta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RegressedMeta {
    score: QuantileScore,
    description: String,
}

impl Answers for RegressedScores {
    fn write(&self, out: &mut NpzOut<'_>) -> Result<(), WriteNpzError> {
        out.add("quantile_mean", &Array1::from(self.mean.clone()))?;
        out.add("quantile_scale", &Array1::from(self.scale.clone()))
    }

    fn meta(&self) -> serde_json::Value {
        serde_json::to_value(RegressedMeta {
            score: self.score,
            description: self.description.clone(),
        })
        .expect("plain data")
    }
}

fn read_regressed(
    input: &mut NpzIn<'_, '_>,
    context: &ReadContext<'_>,
) -> Result<Option<QueryAnswers>, SignalsFileError> {
    if context.meta.is_null() || !input.has("quantile_mean") {
        return Ok(None);
    }
    let meta: RegressedMeta = serde_json::from_value(context.meta.clone())
        .map_err(|e| input.content(format!("its quantile-regression settings: {e}")))?;
    Ok(Some(QueryAnswers::new(RegressedScores {
        mean: input.vector("quantile_mean", context.records)?,
        scale: input.vector("quantile_scale", context.records)?,
        score: meta.score,
        description: meta.description,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::build;
    use crate::set_signals::SetSignals;

    #[test]
    fn scores_are_standardised_residuals_of_the_chosen_score() {
        let signals = Signals {
            confidence: vec![0.9, 0.5],
            loss: vec![0.1, 0.7],
            logit_scaled: vec![2.0, 0.0],
            entropy: vec![0.3, 0.7],
            modified_entropy: vec![0.3, 0.7],
            correct: vec![true, true],
            probabilities: ndarray::Array2::from_elem((2, 2), 0.5),
        };
        let regressed = RegressedScores {
            mean: vec![1.0, 0.5],
            scale: vec![0.5, 2.0],
            score: QuantileScore::LogitScaled,
            description: "test".to_string(),
        };
        let set = SetSignals::new(signals).with_answers(&REGRESSED, QueryAnswers::new(regressed));
        let attack = build("quantile-regression", &AttackParams::default()).unwrap();
        let scored = attack.score(ScoringSet::new(&set, &[0, 1]), None).unwrap();
        assert_eq!(scored.scores, vec![Some(2.0), Some(-0.25)]);
        let mut other = AttackParams::default();
        other.quantile.score = QuantileScore::NegativeLoss;
        let attack = build("quantile-regression", &other).unwrap();
        assert!(attack.score(ScoringSet::new(&set, &[0, 1]), None).is_err());
    }

    #[test]
    fn an_ensemble_pools_its_regressors_as_their_mixtures_mean_and_spread() {
        let one = (vec![1.0, -2.0], vec![0.5, 1.0]);
        assert_eq!(mixture_moments(std::slice::from_ref(&one)), one);
        let two = (vec![3.0, -2.0], vec![0.5, 3.0]);
        let (mean, scale) = mixture_moments(&[one, two]);
        assert_eq!(mean, vec![2.0, -2.0]);
        // Equal spreads, means apart: the spread widens by the means' own variance.
        assert!((scale[0] - (0.25f64 + 1.0).sqrt()).abs() < 1e-12);
        // Equal means: the mixture's variance is the mean of the variances.
        assert!((scale[1] - 5.0f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn bad_settings_are_named() {
        let mut p = AttackParams::default();
        p.quantile.epochs = 0;
        assert!(p.validate().unwrap_err().to_string().contains("epochs"));
        let mut p = AttackParams::default();
        p.quantile.ensemble = 0;
        assert!(p.validate().unwrap_err().to_string().contains("ensemble"));
    }
}
