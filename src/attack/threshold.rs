//! Population threshold attacks ("Attack-P"): a record is called a member when one signal
//! of the target alone is on the member side of a threshold (Yeom et al. 2018; Song & Mittal
//! 2021). The per-class variant calibrates each class against population records of that
//! class, as Song & Mittal's class-dependent thresholds do.

use super::CatalogueEntry;
use super::{Attack, AttackError, AttackInfo, AttackScores, Needs, ScoringSet};
use crate::signal::SignalKind;

/// The signals a threshold attack can use, with their member-side sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdSignal {
    Loss,
    Confidence,
    Entropy,
    ModifiedEntropy,
}

impl ThresholdSignal {
    fn kind(self) -> SignalKind {
        match self {
            ThresholdSignal::Loss => SignalKind::Loss,
            ThresholdSignal::Confidence => SignalKind::Confidence,
            ThresholdSignal::Entropy => SignalKind::Entropy,
            ThresholdSignal::ModifiedEntropy => SignalKind::ModifiedEntropy,
        }
    }

    /// +1 where a larger signal means member (confidence), -1 where smaller does.
    fn sign(self) -> f64 {
        match self {
            ThresholdSignal::Confidence => 1.0,
            _ => -1.0,
        }
    }
}

/// The configuration of a threshold attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThresholdConfig {
    pub signal: ThresholdSignal,
    /// Calibrate each class separately against the population.
    pub per_class: bool,
}

/// Score = the signed signal; per class, the record's mid-rank percentile among population
/// records of its class, so that the threshold "percentile > 1 - α" is Song & Mittal's
/// per-class (1 - α)-quantile threshold at every α at once.
pub struct ThresholdAttack {
    config: ThresholdConfig,
    info: &'static AttackInfo,
}

impl ThresholdAttack {
    pub fn new(config: ThresholdConfig) -> ThresholdAttack {
        let info = ENTRIES
            .iter()
            .map(|e| e.info)
            .zip(CONFIGS)
            .find(|(_, c)| *c == config)
            .map(|(i, _)| i)
            .expect("every threshold configuration has a catalogue entry");
        ThresholdAttack { config, info }
    }

    fn signed(&self, set: ScoringSet<'_>) -> Vec<f64> {
        let sign = self.config.signal.sign();
        set.target()
            .get(self.config.signal.kind())
            .iter()
            .map(|v| sign * v)
            .collect()
    }
}

impl Attack for ThresholdAttack {
    fn info(&self) -> &'static AttackInfo {
        self.info
    }

    fn score(
        &self,
        records: ScoringSet<'_>,
        population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError> {
        let scores = self.signed(records);
        if !self.config.per_class {
            return Ok(AttackScores::complete(scores));
        }
        let Some(population) = population else {
            return Err(AttackError::Missing {
                attack: self.info.id,
                need: super::Need::Population,
            });
        };
        let pop_scores = self.signed(population);
        per_class_percentiles(
            &scores,
            records.labels,
            &pop_scores,
            population.labels,
            self.info.id,
        )
        .map(AttackScores::complete)
    }
}

/// Each score's mid-rank percentile among the population scores of its own class (label),
/// so that one threshold on the result is a per-class threshold on the scores.
pub(super) fn per_class_percentiles(
    scores: &[f64],
    labels: &[usize],
    population_scores: &[f64],
    population_labels: &[usize],
    attack: &'static str,
) -> Result<Vec<f64>, AttackError> {
    let mut by_class = group_by_class(labels, population_scores, population_labels);
    by_class.iter_mut().for_each(|v| v.sort_by(f64::total_cmp));
    scores
        .iter()
        .zip(labels)
        .map(|(&s, &y)| {
            let sorted = &by_class[y];
            if sorted.is_empty() {
                return Err(AttackError::PopulationClassMissing { attack, class: y });
            }
            Ok(mid_rank_percentile(sorted, s))
        })
        .collect()
}

/// The population's values of each class, indexed by class, as many classes as either set
/// of labels names.
pub(super) fn group_by_class(
    labels: &[usize],
    population_values: &[f64],
    population_labels: &[usize],
) -> Vec<Vec<f64>> {
    let classes = labels
        .iter()
        .chain(population_labels)
        .max()
        .map_or(0, |m| m + 1);
    let mut by_class: Vec<Vec<f64>> = vec![Vec::new(); classes];
    for (&v, &y) in population_values.iter().zip(population_labels) {
        by_class[y].push(v);
    }
    by_class
}

/// `(#{v < s} + ½ #{v == s}) / n` over sorted `values`.
fn mid_rank_percentile(sorted: &[f64], s: f64) -> f64 {
    let below = sorted.partition_point(|v| *v < s);
    let not_above = sorted.partition_point(|v| *v <= s);
    (below as f64 + 0.5 * (not_above - below) as f64) / sorted.len() as f64
}

const SONG_MITTAL: &str = "Song & Mittal, Systematic Evaluation of Privacy Risks of Machine Learning Models, USENIX Security 2021";
const YEOM: &str = "Yeom, Giacomelli, Fredrikson & Jha, Privacy Risk in Machine Learning: Analyzing the Connection to Overfitting, IEEE CSF 2018";

const CONFIGS: [ThresholdConfig; 8] = [
    ThresholdConfig {
        signal: ThresholdSignal::Loss,
        per_class: false,
    },
    ThresholdConfig {
        signal: ThresholdSignal::Confidence,
        per_class: false,
    },
    ThresholdConfig {
        signal: ThresholdSignal::Entropy,
        per_class: false,
    },
    ThresholdConfig {
        signal: ThresholdSignal::ModifiedEntropy,
        per_class: false,
    },
    ThresholdConfig {
        signal: ThresholdSignal::Loss,
        per_class: true,
    },
    ThresholdConfig {
        signal: ThresholdSignal::Confidence,
        per_class: true,
    },
    ThresholdConfig {
        signal: ThresholdSignal::Entropy,
        per_class: true,
    },
    ThresholdConfig {
        signal: ThresholdSignal::ModifiedEntropy,
        per_class: true,
    },
];

macro_rules! entry {
    ($index:expr, $id:literal, $title:literal, $paper:expr, $summary:literal, $needs:literal) => {
        CatalogueEntry {
            info: &AttackInfo {
                id: $id,
                title: $title,
                paper: $paper,
                summary: $summary,
                needs: Needs {
                    population: $needs,
                    target_probabilities: matches!(
                        CONFIGS[$index].signal,
                        ThresholdSignal::Entropy | ThresholdSignal::ModifiedEntropy
                    ),
                    ..Needs::TARGET_ONLY
                },
                reads: &[],
                labels_suffice: false,
                scores_per_class: $needs,
            },
            build: |_| Box::new(ThresholdAttack::new(CONFIGS[$index])),
        }
    };
}

pub(super) static ENTRIES: [CatalogueEntry; 8] = [
    entry!(
        0,
        "loss",
        "Loss threshold",
        YEOM,
        "Models fit their training records more closely than unseen ones, so a low cross-entropy loss on the record's true label suggests a member. Score = -loss.",
        false
    ),
    entry!(
        1,
        "confidence",
        "Confidence threshold",
        SONG_MITTAL,
        "A model tends to be more confident in the true label of records it was trained on. Score = the softmax probability of the true class.",
        false
    ),
    entry!(
        2,
        "entropy",
        "Prediction-entropy threshold",
        SONG_MITTAL,
        "Members tend to get sharper, lower-entropy predictions; the label is not used. Score = -entropy of the predicted distribution.",
        false
    ),
    entry!(
        3,
        "modified-entropy",
        "Modified-entropy threshold",
        SONG_MITTAL,
        "Song & Mittal's modified entropy is low when the model is confident and right, high when it is confident and wrong, so it separates members better than plain entropy. Score = -modified entropy.",
        false
    ),
    entry!(
        4,
        "loss-per-class",
        "Loss threshold, per class",
        SONG_MITTAL,
        "As the loss attack, but each record is compared with population records of its own class, because some classes are harder than others. Score = the record's percentile among its class's population losses (negated).",
        true
    ),
    entry!(
        5,
        "confidence-per-class",
        "Confidence threshold, per class",
        SONG_MITTAL,
        "As the confidence attack, with a separate threshold per class learned from population records of that class. Score = the record's percentile among its class's population confidences.",
        true
    ),
    entry!(
        6,
        "entropy-per-class",
        "Entropy threshold, per class",
        SONG_MITTAL,
        "As the entropy attack, with a separate threshold per class learned from population records of that class. Score = the record's percentile among its class's population entropies (negated).",
        true
    ),
    entry!(
        7,
        "modified-entropy-per-class",
        "Modified-entropy threshold, per class",
        SONG_MITTAL,
        "Song & Mittal's strongest reference-free attack: modified entropy with class-dependent thresholds learned from population records. Score = the record's percentile among its class's population modified entropies (negated).",
        true
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::AttackParams;
    use crate::set_signals::SetSignals;
    use crate::signal::Signals;

    fn build(id: &str) -> Result<Box<dyn Attack>, AttackError> {
        crate::attack::build(id, &AttackParams::default())
    }

    fn scores(s: AttackScores) -> Vec<f64> {
        s.scores.into_iter().map(Option::unwrap).collect()
    }

    fn signals(loss: &[f64]) -> SetSignals {
        SetSignals::new(Signals {
            confidence: loss.iter().map(|l| (-l).exp()).collect(),
            loss: loss.to_vec(),
            logit_scaled: vec![0.0; loss.len()],
            entropy: loss.to_vec(),
            modified_entropy: loss.to_vec(),
            correct: vec![true; loss.len()],
            probabilities: ndarray::Array2::zeros((loss.len(), 2)),
        })
    }

    #[test]
    fn global_attacks_negate_losses_and_keep_confidence() {
        let s = signals(&[0.1, 2.0]);
        let set = ScoringSet::new(&s, &[0, 1]);
        assert_eq!(
            scores(build("loss").unwrap().score(set, None).unwrap()),
            vec![-0.1, -2.0]
        );
        assert_eq!(
            scores(build("confidence").unwrap().score(set, None).unwrap()),
            s.target.confidence
        );
    }

    #[test]
    fn per_class_scores_are_percentiles_within_the_records_class() {
        // Class 0 is easy (population losses 0.1..0.4), class 1 hard (1..4).
        let pop = signals(&[0.1, 0.2, 0.3, 0.4, 1.0, 2.0, 3.0, 4.0]);
        let pop_set = ScoringSet::new(&pop, &[0, 0, 0, 0, 1, 1, 1, 1]);
        let rec = signals(&[0.25, 2.5, 0.2]);
        let rec_set = ScoringSet::new(&rec, &[0, 1, 1]);
        let scores = scores(
            build("loss-per-class")
                .unwrap()
                .score(rec_set, Some(pop_set))
                .unwrap(),
        );
        // -0.25 beats two of class 0's four; -2.5 beats two of class 1's; -0.2 beats all of class 1.
        assert_eq!(scores, vec![0.5, 0.5, 1.0]);
        assert_eq!(
            build("loss-per-class")
                .unwrap()
                .score(rec_set, None)
                .unwrap_err(),
            AttackError::Missing {
                attack: "loss-per-class",
                need: crate::attack::Need::Population
            }
        );
        let missing = ScoringSet::new(&rec, &[0, 2, 1]);
        assert_eq!(
            build("loss-per-class")
                .unwrap()
                .score(missing, Some(pop_set))
                .unwrap_err(),
            AttackError::PopulationClassMissing {
                attack: "loss-per-class",
                class: 2
            }
        );
    }

    #[test]
    fn every_catalogue_entry_builds_with_its_own_info() {
        for entry in crate::attack::catalogue() {
            assert_eq!(
                (entry.build)(&AttackParams::default()).info().id,
                entry.info.id
            );
        }
    }
}
