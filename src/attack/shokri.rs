//! Shokri et al.'s shadow-model attack (IEEE S&P 2017; SPEC.md attack 2): the reference
//! models play the shadows. From each one's output on the audit records, labelled IN or OUT
//! by the keep-mask, one logistic regression per class learns to tell members from the
//! sorted probability vector; a record's score is that classifier's probability of IN on
//! the target's output.
//!
//! The classifier ([`super::logistic`]) minimises linfa-logistic's and scikit-learn's
//! penalised objective by Newton's method, which suits these few-column fits: the demo's
//! fits took 0.33 s natively and 1.08 s in wasm with linfa-logistic's L-BFGS, and a few
//! hundredths with Newton (docs/benchmarks.md).

use super::logistic::{self, Logistic};
use super::{
    Attack, AttackError, AttackInfo, AttackParams, AttackScores, Need, Needs, ReferenceUse,
    ScoringSet,
};
use super::{CatalogueEntry, check};
use ndarray::{ArrayView1, Axis};
use serde::{Deserialize, Serialize};

/// The Shokri shadow attack's classifier settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShokriParams {
    /// L2 penalty of the per-class logistic regressions.
    pub l2: f64,
    /// Newton steps at most per classifier (each a pass over its rows; a dozen suffice).
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

impl ShokriAttack {
    /// One classifier per class, trained on every (reference model, record) pair.
    fn train(
        &self,
        probabilities: &ndarray::Array3<f64>,
        keep: &ndarray::Array2<bool>,
        labels: &[usize],
        classes: usize,
    ) -> Result<Vec<Option<Logistic>>, AttackError> {
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
                logistic::fit(&x, width, &t, self.params.l2, self.params.max_iterations)
                    .map(Some)
                    .map_err(|e| AttackError::Training {
                        attack: SHOKRI.id,
                        reason: e.to_string(),
                    })
            })
            .collect()
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
                    .map(|c| c.probability(&sorted_descending(p)))
            })
            .collect();
        let untrained = classifiers.iter().filter(|c| c.is_none()).count();
        let unconverged = classifiers
            .iter()
            .flatten()
            .filter(|c| !c.converged)
            .count();
        Ok(AttackScores {
            scores,
            detail: Some(format!(
                "{} per-class logistic regressions (L2 {}, Newton's method, ≤ {} iterations) on {} reference models{}",
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
            warning: (unconverged > 0).then(|| {
                format!(
                    "{unconverged} of Shokri's per-class classifiers had not converged after {} iterations (IN and OUT separate in their class, with too small an L2 penalty to stop the weights growing); their scores are the last iterate's",
                    self.params.max_iterations
                )
            }),
        })
    }

    fn fits_a_model(&self) -> bool {
        true
    }
}
