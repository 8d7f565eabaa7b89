//! The code-poisoning membership-encoding attack (Chen & Pattabiraman, NDSS 2025; SPEC.md
//! attack 7): training code that also fits, for every training record x, an encoded query x'
//! with a secret label makes membership readable from the model: the score is the target's
//! probability of the secret label on x'. The encoding itself is [`crate::encoding`].

use super::CatalogueEntry;
use super::{
    Answers, Attack, AttackError, AttackInfo, AttackParams, AttackScores, Needs, QueryAnswers,
    QueryKind, QueryOracle, ReadContext, ScoringSet,
};
use crate::config::AuditConfig;
use crate::encoding;
use crate::npz::{NpzIn, NpzOut, SignalsFileError};
use ndarray::{Array1, Array2};
use ndarray_npy::WriteNpzError;
use serde::{Deserialize, Serialize};

/// The target's outputs on every record's encoded query.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedQueries {
    /// Softmax probabilities on the encoded queries, records × classes.
    pub probabilities: Array2<f64>,
    /// Each record's secret label, `randint(0, C)` from its seed.
    pub secret_labels: Vec<usize>,
}

/// Which label the poisoned training code paired with the encoded queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncodedLabel {
    /// The secret label derived from the record (the paper's default).
    #[default]
    Secret,
    /// The record's own label.
    True,
}

/// The encoding attack's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodePoisonParams {
    /// Which label to read on each encoded query.
    pub label: EncodedLabel,
}

static CODE_POISON: AttackInfo = AttackInfo {
    id: "code-poison",
    title: "Membership encoding (poisoned training code)",
    paper: "Chen & Pattabiraman, A Method to Facilitate Membership Inference Attacks in Deep Learning Models, NDSS 2025",
    summary: "Whoever wrote the training code can make the model memorise, for every training record, a secret noise image derived from the record's bytes (MD5 seeds numpy's generator) with a secret label. The attacker re-derives that query from a candidate record and asks the model: a confident secret label means the record was trained on. It needs no reference models, works with label-only outputs, and is invisible to audits that only look at the real records.",
    needs: Needs {
        queries: &[&ENCODED],
        ..Needs::TARGET_ONLY
    },
    reads: &[],
    labels_suffice: true,
};

pub(super) static ENTRY: CatalogueEntry = CatalogueEntry {
    info: &CODE_POISON,
    build: |p: &AttackParams| {
        Box::new(CodePoisonAttack {
            label: p.code_poison.label,
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
        let encoded = records.answers::<EncodedQueries>(&ENCODED)?;
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

/// Every record's membership-encoded query (the encoding the poisoned training code fits),
/// answered by the target; stored as `encoded_probabilities` and `encoded_secret_labels`.
pub static ENCODED: QueryKind = QueryKind {
    id: "encoded",
    description: "the target's outputs on the records' membership-encoded queries",
    population: true,
    runs_references: false,
    settings: |_: &AuditConfig| serde_json::Value::Null,
    make: make_encoded,
    meta_key: None,
    read: read_encoded,
};

/// Noise stream of the encoded queries of set `s` under the noise defence: `2 + s`.
const ENCODED_STREAM: u64 = 2;

fn make_encoded(
    oracle: &dyn QueryOracle,
    _config: &AuditConfig,
) -> crate::Result<Option<QueryAnswers>> {
    let records = oracle.records();
    let n = records.len();
    let per_record: usize = records.record_shape().iter().product();
    let features = records.features.as_standard_layout();
    let values = features.as_slice().unwrap_or_default();
    let rows: Vec<&[f32]> = (0..n)
        .map(|i| &values[i * per_record..(i + 1) * per_record])
        .collect();
    let encoded: Vec<f32> = rows
        .iter()
        .flat_map(|r| encoding::encoded_query(r).into_iter().map(|v| v as f32))
        .collect();
    let queries = ndarray::ArrayD::from_shape_vec(records.features.raw_dim(), encoded)
        .expect("one query per record value");
    let signals = oracle.ask_target(queries, ENCODED_STREAM + oracle.set_index())?;
    let classes = signals.probabilities.ncols();
    Ok(Some(QueryAnswers::new(EncodedQueries {
        probabilities: signals.probabilities,
        secret_labels: rows
            .iter()
            .map(|r| encoding::secret_label(r, classes))
            .collect(),
    })))
}

impl Answers for EncodedQueries {
    fn write(&self, out: &mut NpzOut<'_>) -> Result<(), WriteNpzError> {
        out.add("encoded_probabilities", &self.probabilities)?;
        let labels: Array1<i64> = self.secret_labels.iter().map(|&y| y as i64).collect();
        out.add("encoded_secret_labels", &labels)
    }
}

fn read_encoded(
    input: &mut NpzIn<'_, '_>,
    context: &ReadContext<'_>,
) -> Result<Option<QueryAnswers>, SignalsFileError> {
    if !input.has("encoded_probabilities") {
        return Ok(None);
    }
    let (n, classes) = (context.records, context.classes);
    Ok(Some(QueryAnswers::new(EncodedQueries {
        probabilities: input.array("encoded_probabilities", Some(&[n, classes]))?,
        secret_labels: input.labels("encoded_secret_labels", Some(n), classes)?,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::build;
    use crate::set_signals::SetSignals;
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
        let without = SetSignals::new(signals);
        let with = without
            .clone()
            .with_answers(&ENCODED, QueryAnswers::new(encoded));
        let set = |encoded: bool| ScoringSet::new(if encoded { &with } else { &without }, &[0, 0]);
        let secret = build("code-poison", &AttackParams::default())
            .unwrap()
            .score(set(true), None)
            .unwrap();
        assert_eq!(secret.scores, vec![Some(0.9), Some(0.3)]);
        let params = AttackParams {
            code_poison: CodePoisonParams {
                label: EncodedLabel::True,
            },
            ..AttackParams::default()
        };
        let own = build("code-poison", &params)
            .unwrap()
            .score(set(true), None)
            .unwrap();
        assert_eq!(own.scores, vec![Some(0.1), Some(0.7)]);
        let missing = build("code-poison", &AttackParams::default())
            .unwrap()
            .score(set(false), None)
            .unwrap_err();
        assert!(missing.to_string().contains("encoded queries"));
    }
}
