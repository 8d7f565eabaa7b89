//! The label-only attack (Choquette-Choo, Tramèr, Carlini & Papernot, ICML 2021; SPEC.md
//! attack 6): for APIs that return only the top class. Each record is queried in Q perturbed
//! copies (tabular: Gaussian noise of σ per standardised feature; images: mirror and one-pixel
//! shifts); members tend to stay correctly classified under perturbation, so the score is the
//! fraction of copies still classified as the record's label.

use super::{
    Attack, AttackError, AttackInfo, AttackParams, AttackScores, CatalogueEntry, ExtraQueries,
    ReferenceUse, ScoringSet,
};

/// How the perturbed copies are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelOnlyParams {
    /// Noisy copies per tabular record (images always get the 18 flip × shift copies).
    pub queries: usize,
    /// Noise standard deviation, in units of each feature's standard deviation.
    pub sigma: f64,
}

impl Default for LabelOnlyParams {
    fn default() -> Self {
        LabelOnlyParams {
            queries: 20,
            sigma: 0.1,
        }
    }
}

/// The target's top-1 answers on each record's perturbed copies.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelOnlyQueries {
    /// Fraction of copies still classified as the record's label.
    pub fraction_correct: Vec<f64>,
    pub queries: usize,
    /// The perturbation used, in words.
    pub perturbation: String,
}

static LABEL_ONLY: AttackInfo = AttackInfo {
    id: "label-only",
    title: "Label-only (robustness to perturbation)",
    paper: "Choquette-Choo, Tramèr, Carlini & Papernot, Label-Only Membership Inference Attacks, ICML 2021",
    summary: "Works when the model only answers with a class. Each record is sent in several slightly perturbed copies (noise on tabular features; mirrored and shifted images): a model keeps classifying its training records correctly under small changes more often than records it never saw. The score is the fraction of copies still classified correctly.",
    needs_population: false,
    references: ReferenceUse::NotUsed,
    averages_augmentations: false,
    labels_suffice: true,
    queries: ExtraQueries::Perturbed,
    reads_reference_probabilities: false,
};

pub(super) static ENTRY: CatalogueEntry = CatalogueEntry {
    info: &LABEL_ONLY,
    build: |_: &AttackParams| Box::new(LabelOnlyAttack),
};

/// Scores records by how often their perturbed copies keep the right label.
pub struct LabelOnlyAttack;

impl Attack for LabelOnlyAttack {
    fn info(&self) -> &'static AttackInfo {
        &LABEL_ONLY
    }

    fn score(
        &self,
        records: ScoringSet<'_>,
        _population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError> {
        let queries = records
            .label_only
            .ok_or(AttackError::NeedsLabelOnlyQueries {
                attack: LABEL_ONLY.id,
            })?;
        let mut scored = AttackScores::complete(queries.fraction_correct.clone());
        scored.detail = Some(format!(
            "{} queries: {}",
            queries.queries, queries.perturbation
        ));
        Ok(scored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::build;
    use crate::signal::Signals;

    #[test]
    fn scores_are_the_fractions_of_copies_still_correct() {
        let signals = Signals {
            confidence: vec![0.5; 2],
            loss: vec![0.7; 2],
            logit_scaled: vec![0.0; 2],
            entropy: vec![0.7; 2],
            modified_entropy: vec![0.7; 2],
            correct: vec![true; 2],
            probabilities: ndarray::Array2::from_elem((2, 2), 0.5),
        };
        let queries = LabelOnlyQueries {
            fraction_correct: vec![1.0, 0.25],
            queries: 4,
            perturbation: "noise".to_string(),
        };
        let set = |label_only| ScoringSet {
            signals: &signals,
            labels: &[0, 1],
            references: None,
            augmented: &[],
            encoded: None,
            label_only,
        };
        let attack = build("label-only", &AttackParams::default()).unwrap();
        let scored = attack.score(set(Some(&queries)), None).unwrap();
        assert_eq!(scored.scores, vec![Some(1.0), Some(0.25)]);
        assert!(attack.score(set(None), None).is_err());
    }
}
