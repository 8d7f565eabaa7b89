//! Shokri et al.'s shadow-model attack (IEEE S&P 2017; SPEC.md attack 2): the reference
//! models play the shadows. From each one's output on the audit records, labelled IN or OUT
//! by the keep-mask, one logistic regression per class learns to tell members from the
//! sorted probability vector; a record's score is that classifier's probability of IN on
//! the target's output.
//!
//! The classifier is `linfa-logistic` (L-BFGS through argmin), a maintained implementation,
//! rather than a hand-written optimiser. linfa speaks ndarray 0.16, so features cross into
//! it as `ndarray16` arrays.

use super::{
    Attack, AttackError, AttackInfo, AttackParams, AttackScores, Need, Needs, ReferenceUse,
    ScoringSet,
};
use super::{CatalogueEntry, check};
use linfa::prelude::*;
use linfa_logistic::{FittedLogisticRegression, LogisticRegression};
use ndarray::{ArrayView1, Axis};
use serde::{Deserialize, Serialize};

/// The Shokri shadow attack's classifier settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShokriParams {
    /// L2 penalty of the per-class logistic regressions.
    pub l2: f64,
    pub max_iterations: u64,
}

impl Default for ShokriParams {
    fn default() -> Self {
        ShokriParams {
            l2: 1e-3,
            max_iterations: 200,
        }
    }
}

impl ShokriParams {
    pub fn validate(&self) -> Result<(), AttackError> {
        check(
            self.l2.is_finite() && self.l2 >= 0.0,
            "Shokri's L2 penalty",
            "zero or positive",
            self.l2,
        )?;
        check(
            self.max_iterations > 0,
            "Shokri's iterations",
            "at least 1",
            self.max_iterations as f64,
        )
    }
}

static SHOKRI: AttackInfo = AttackInfo {
    id: "shokri",
    title: "Shadow-model attack",
    paper: "Shokri, Stronati, Song & Shmatikov, Membership Inference Attacks Against Machine Learning Models, IEEE S&P 2017",
    summary: "Treats the reference models as shadows of the target: their outputs on records they did and did not train on teach one logistic-regression classifier per class what a member's sorted probability vector looks like. The score is that classifier's probability of 'member' on the target's output. The first membership-inference attack on ML models; it learns one rule for all records of a class, so it finds the average leak rather than each record's own.",
    needs: Needs {
        references: ReferenceUse::InAndOut,
        reference_probabilities: true,
        target_probabilities: true,
        ..Needs::TARGET_ONLY
    },
    reads: &[],
    labels_suffice: false,
    scores_per_class: false,
};

pub(super) static ENTRY: CatalogueEntry = CatalogueEntry {
    info: &SHOKRI,
    build: |p: &AttackParams| Box::new(ShokriAttack { params: p.shokri }),
};

/// The shadow-model attack with its classifier settings.
pub struct ShokriAttack {
    params: ShokriParams,
}

/// Probabilities sorted from largest to smallest: the attack's features.
fn sorted_descending(p: ArrayView1<'_, f64>) -> Vec<f64> {
    let mut v = p.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    v
}

type Classifier = FittedLogisticRegression<f64, bool>;

impl ShokriAttack {
    /// One classifier per class, trained on every (reference model, record) pair.
    fn train(
        &self,
        probabilities: &ndarray::Array3<f64>,
        keep: &ndarray::Array2<bool>,
        labels: &[usize],
        classes: usize,
    ) -> Result<Vec<Option<Classifier>>, AttackError> {
        let width = probabilities.len_of(Axis(2));
        let mut features: Vec<Vec<f64>> = vec![Vec::new(); classes];
        let mut targets: Vec<Vec<bool>> = vec![Vec::new(); classes];
        for (i, &y) in labels.iter().enumerate() {
            for k in 0..keep.ncols() {
                features[y].extend(sorted_descending(probabilities.slice(ndarray::s![
                    i,
                    k,
                    ..
                ])));
                targets[y].push(keep[[i, k]]);
            }
        }
        features
            .into_iter()
            .zip(targets)
            .map(|(x, t)| {
                let has_both = t.iter().any(|&m| m) && t.iter().any(|&m| !m);
                if !has_both {
                    return Ok(None);
                }
                let x = ndarray16::Array2::from_shape_vec((t.len(), width), x)
                    .expect("rows of equal width");
                let dataset = Dataset::new(x, ndarray16::Array1::from(t));
                LogisticRegression::default()
                    .alpha(self.params.l2)
                    .max_iterations(self.params.max_iterations)
                    .fit(&dataset)
                    .map(Some)
                    .map_err(|e| AttackError::Training {
                        attack: SHOKRI.id,
                        reason: e.to_string(),
                    })
            })
            .collect()
    }
}

/// The classifier's probability that `features` came from a member.
fn probability_of_in(classifier: &Classifier, features: Vec<f64>) -> f64 {
    let width = features.len();
    let x = ndarray16::Array2::from_shape_vec((1, width), features).expect("one row");
    let p = classifier.predict_probabilities(&x)[0];
    if classifier.labels().pos.class {
        p
    } else {
        1.0 - p
    }
}

impl Attack for ShokriAttack {
    fn info(&self) -> &'static AttackInfo {
        &SHOKRI
    }

    fn score(
        &self,
        records: ScoringSet<'_>,
        _population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError> {
        let refs = records.references()?;
        let probabilities = refs.probabilities.as_ref().ok_or(AttackError::Missing {
            attack: SHOKRI.id,
            need: Need::ReferenceProbabilities,
        })?;
        let classes = probabilities.len_of(Axis(2));
        let classifiers = self.train(probabilities, &refs.keep, records.labels, classes)?;
        let scores = records
            .target()
            .probabilities
            .rows()
            .into_iter()
            .zip(records.labels)
            .map(|(p, &y)| {
                classifiers[y]
                    .as_ref()
                    .map(|c| probability_of_in(c, sorted_descending(p)))
            })
            .collect();
        let untrained = classifiers.iter().filter(|c| c.is_none()).count();
        Ok(AttackScores {
            scores,
            detail: Some(format!(
                "{} per-class logistic regressions (L2 {}, ≤ {} L-BFGS iterations) on {} reference models{}",
                classes - untrained,
                self.params.l2,
                self.params.max_iterations,
                refs.models(),
                if untrained > 0 {
                    format!("; {untrained} classes lack IN or OUT examples and stay unscored")
                } else {
                    String::new()
                }
            )),
            warning: None,
        })
    }

    fn fits_a_model(&self) -> bool {
        true
    }
}
