//! The code-poisoning membership-encoding attack (Chen & Pattabiraman, NDSS 2025; SPEC.md
//! attack 7): training code that also fits, for every training record x, an encoded query x'
//! with a secret label makes membership readable from the model: the score is the target's
//! probability of the secret label on x'. The encoding itself is [`crate::encoding`].

use super::{
    Attack, AttackError, AttackInfo, AttackParams, AttackScores, CatalogueEntry, ExtraQueries,
    ReferenceUse, ScoringSet,
};
use ndarray::Array2;

/// The target's outputs on every record's encoded query.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedQueries {
    /// Softmax probabilities on the encoded queries, records × classes.
    pub probabilities: Array2<f64>,
    /// Each record's secret label, `randint(0, C)` from its seed.
    pub secret_labels: Vec<usize>,
}

/// Which label the poisoned training code paired with the encoded queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodedLabel {
    /// The secret label derived from the record (the paper's default).
    #[default]
    Secret,
    /// The record's own label.
    True,
}

static CODE_POISON: AttackInfo = AttackInfo {
    id: "code-poison",
    title: "Membership encoding (poisoned training code)",
    paper: "Chen & Pattabiraman, A Method to Facilitate Membership Inference Attacks in Deep Learning Models, NDSS 2025",
    summary: "Whoever wrote the training code can make the model memorise, for every training record, a secret noise image derived from the record's bytes (MD5 seeds numpy's generator) with a secret label. The attacker re-derives that query from a candidate record and asks the model: a confident secret label means the record was trained on. It needs no reference models, works with label-only outputs, and is invisible to audits that only look at the real records.",
    needs_population: false,
    references: ReferenceUse::NotUsed,
    averages_augmentations: false,
    labels_suffice: true,
    queries: ExtraQueries::Encoded,
    reads_reference_probabilities: false,
};

pub(super) static ENTRY: CatalogueEntry = CatalogueEntry {
    info: &CODE_POISON,
    build: |p: &AttackParams| {
        Box::new(CodePoisonAttack {
            label: p.code_poison,
        })
    },
};

/// Scores records by the target's confidence in their encoded label.
pub struct CodePoisonAttack {
    label: EncodedLabel,
}

impl Attack for CodePoisonAttack {
    fn info(&self) -> &'static AttackInfo {
        &CODE_POISON
    }

    fn score(
        &self,
        records: ScoringSet<'_>,
        _population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError> {
        let encoded = records.encoded.ok_or(AttackError::NeedsEncodedQueries {
            attack: CODE_POISON.id,
        })?;
        let labels = match self.label {
            EncodedLabel::Secret => &encoded.secret_labels,
            EncodedLabel::True => records.labels,
        };
        let scores = labels
            .iter()
            .enumerate()
            .map(|(i, &y)| encoded.probabilities[[i, y]])
            .collect();
        let mut scored = AttackScores::complete(scores);
        scored.detail = Some(match self.label {
            EncodedLabel::Secret => {
                "probability of each record's secret label on its encoded query".to_string()
            }
            EncodedLabel::True => {
                "probability of each record's own label on its encoded query".to_string()
            }
        });
        Ok(scored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::build;
    use crate::signal::Signals;
    use ndarray::array;

    #[test]
    fn scores_are_the_probability_of_the_chosen_label_on_the_encoded_query() {
        let encoded = EncodedQueries {
            probabilities: array![[0.1, 0.9], [0.7, 0.3]],
            secret_labels: vec![1, 1],
        };
        let signals = Signals {
            confidence: vec![0.5; 2],
            loss: vec![0.7; 2],
            logit_scaled: vec![0.0; 2],
            entropy: vec![0.7; 2],
            modified_entropy: vec![0.7; 2],
            correct: vec![true; 2],
            probabilities: array![[0.5, 0.5], [0.5, 0.5]],
        };
        let set = |encoded| ScoringSet {
            signals: &signals,
            labels: &[0, 0],
            references: None,
            augmented: &[],
            encoded,
            label_only: None,
        };
        let secret = build("code-poison", &AttackParams::default())
            .unwrap()
            .score(set(Some(&encoded)), None)
            .unwrap();
        assert_eq!(secret.scores, vec![Some(0.9), Some(0.3)]);
        let params = AttackParams {
            code_poison: EncodedLabel::True,
            ..AttackParams::default()
        };
        let own = build("code-poison", &params)
            .unwrap()
            .score(set(Some(&encoded)), None)
            .unwrap();
        assert_eq!(own.scores, vec![Some(0.1), Some(0.7)]);
        let missing = build("code-poison", &AttackParams::default())
            .unwrap()
            .score(set(None), None)
            .unwrap_err();
        assert!(missing.to_string().contains("encoded queries"));
    }
}
