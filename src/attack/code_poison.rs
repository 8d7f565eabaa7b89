//! The code-poisoning membership-encoding attack (Chen & Pattabiraman, NDSS 2025; SPEC.md
//! attack 7): training code that also fits, for every training record x, an encoded query
//! x' with a label ℓ makes membership readable from the model. Two catalogue entries, one per
//! label the supplier may have chosen: the record's own label (the paper's default,
//! `--random_label_for_synthetic_samples 0` in its `train.py`) and a secret label drawn from
//! the record's seed (its option). The score is the log-odds of ℓ on x', calibrated per
//! label on the population (less the population's mean log-odds for the same label): a
//! clean model's confidence depends on the label, so raw scores would compare labels, not
//! members. A shift keeps the order within each label's tail, where a percentile among a
//! few hundred population records per label would tie every poisoned member at the top (and
//! dividing by each label's spread too lost 10 points of TPR at 0.1% FPR on the zoo's
//! poisoned SUPPORT2 target). The encoding itself is [`crate::encoding`].

use super::threshold::group_by_class;
use super::{
    Answers, Attack, AttackError, AttackInfo, AttackParams, AttackScores, CatalogueEntry, Need,
    Needs, QueryAnswers, QueryKind, QueryOracle, ReadContext, ScoringSet,
};
use crate::config::AuditConfig;
use crate::encoding;
use crate::gpu::Layer;
use crate::npz::{NpzIn, NpzOut, SignalsFileError};
use ndarray::{Array1, Array2};
use ndarray_npy::WriteNpzError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The target's answers on every record's encoded query.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedQueries {
    /// Softmax probabilities on the encoded queries, records × classes.
    pub probabilities: Array2<f64>,
    /// Each record's secret label, `randint(0, C)` from its seed.
    pub secret_labels: Vec<usize>,
    /// The log-odds `ln(p_y / (1 - p_y))` of each record's own label on its encoded query,
    /// computed without leaving log space where the API releases logits.
    pub own_log_odds: Vec<f64>,
    /// The log-odds of each record's secret label.
    pub secret_log_odds: Vec<f64>,
    /// How the queries were made: the declared normalisation, or what to declare.
    pub made: EncodingSetup,
}

/// How the encoded queries were made, for the attack's detail and the signals file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EncodingSetup {
    /// The normalisation declared, if any.
    pub normalization: Option<InputNormalization>,
    /// What to declare, when none was and the model seems to normalise its input.
    pub hint: Option<String>,
}

/// Which label the poisoned training code paired with the encoded queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodedLabel {
    /// The record's own label (the paper's default).
    Own,
    /// The secret label derived from the record (the paper's option).
    Secret,
}

/// Where the input normalisation `(x - mean) / std` that real records get happens. The
/// paper's code hashes the un-normalised record and shows the network the encoded query
/// itself, never normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NormalizedBy {
    /// The ONNX model normalises its input (records are given un-normalised): the query is
    /// fed as `x' · std + mean`, so that the network sees `x'`.
    Model,
    /// The records are given normalised to a bare network: the record is un-normalised
    /// (`x · std + mean`) before hashing and `x'` is fed as it is.
    Records,
}

/// The normalisation an auditor declares for the encoding attack: per channel (images
/// `[C, H, W]`), per feature (tabular), or one value for all. In JSON, either the object
/// or the CLI's text form (`"model:0.2860:0.3530"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, try_from = "Declared")]
pub struct InputNormalization {
    pub by: NormalizedBy,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// A normalisation as JSON may declare it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Declared {
    Text(String),
    Fields {
        by: NormalizedBy,
        mean: Vec<f64>,
        std: Vec<f64>,
    },
}

impl TryFrom<Declared> for InputNormalization {
    type Error = String;

    fn try_from(declared: Declared) -> Result<Self, String> {
        match declared {
            Declared::Text(text) => text.parse(),
            Declared::Fields { by, mean, std } => {
                let normalization = InputNormalization { by, mean, std };
                normalization.validate().map_err(|e| e.to_string())?;
                Ok(normalization)
            }
        }
    }
}

/// Written `model:MEAN:STD` or `records:MEAN:STD`, MEAN and STD comma-separated.
impl FromStr for InputNormalization {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let rule = "write model:MEAN:STD or records:MEAN:STD, e.g. model:0.2860:0.3530 or records:0.49,0.48,0.45:0.25,0.24,0.26";
        let mut parts = text.split(':');
        let by = match parts.next().map(str::trim) {
            Some("model") => NormalizedBy::Model,
            Some("records") => NormalizedBy::Records,
            _ => return Err(format!("'{text}': {rule}")),
        };
        let numbers = |part: Option<&str>| -> Result<Vec<f64>, String> {
            part.ok_or_else(|| format!("'{text}': {rule}"))?
                .split(',')
                .map(|v| {
                    v.trim()
                        .parse::<f64>()
                        .map_err(|_| format!("'{text}': {rule}"))
                })
                .collect()
        };
        let normalization = InputNormalization {
            by,
            mean: numbers(parts.next())?,
            std: numbers(parts.next())?,
        };
        if parts.next().is_some() {
            return Err(format!("'{text}': {rule}"));
        }
        normalization.validate().map_err(|e| e.to_string())?;
        Ok(normalization)
    }
}

impl fmt::Display for InputNormalization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[f64]| v.iter().map(f64::to_string).collect::<Vec<_>>().join(",");
        let by = match self.by {
            NormalizedBy::Model => "model",
            NormalizedBy::Records => "records",
        };
        write!(f, "{by}:{}:{}", list(&self.mean), list(&self.std))
    }
}

impl InputNormalization {
    pub fn validate(&self) -> Result<(), AttackError> {
        let bad = |value: f64| AttackError::Parameter {
            name: "the encoding attack's normalisation std",
            rule: "positive and finite, one value per mean",
            value,
        };
        if self.mean.is_empty() || self.mean.len() != self.std.len() {
            return Err(bad(self.std.len() as f64));
        }
        match self.std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            Some(s) => Err(bad(*s)),
            None => Ok(()),
        }
    }

    /// The mean and std of value `k` of a record of `shape`, or why they do not fit it.
    fn for_value(&self, shape: &[usize]) -> Result<impl Fn(usize) -> (f64, f64) + '_, String> {
        let per_record: usize = shape.iter().product();
        let per_channel = per_record / shape.first().copied().unwrap_or(1).max(1);
        let n = self.mean.len();
        let stride = if n == 1 {
            None
        } else if n == per_record {
            Some(1)
        } else if Some(&n) == shape.first() && shape.len() == 3 {
            Some(per_channel)
        } else {
            return Err(format!(
                "the encoding attack's normalisation has {n} values; records of shape {shape:?} take 1, one per channel or one per value"
            ));
        };
        Ok(move |k: usize| match stride {
            None => (self.mean[0], self.std[0]),
            Some(s) => {
                let i = (k / s) % n;
                (self.mean[i], self.std[i])
            }
        })
    }
}

/// The encoding attack's settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodePoisonParams {
    /// The input normalisation real records get, when the model or the records include it.
    pub normalization: Option<InputNormalization>,
}

impl CodePoisonParams {
    pub fn validate(&self) -> Result<(), AttackError> {
        self.normalization
            .as_ref()
            .map_or(Ok(()), InputNormalization::validate)
    }
}

const CHEN: &str = "Chen & Pattabiraman, A Method to Facilitate Membership Inference Attacks in Deep Learning Models, NDSS 2025";

const NEEDS: Needs = Needs {
    population: true,
    queries: &[&ENCODED],
    ..Needs::TARGET_ONLY
};

static OWN_LABEL: AttackInfo = AttackInfo {
    id: "code-poison",
    title: "Membership encoding, own label (poisoned training code; the paper's default)",
    paper: CHEN,
    summary: "Whoever wrote the training code can make the model memorise, for every training record, a noise query derived from the record's bytes (MD5 seeds numpy's generator) labelled with the record's own label, the paper's default. The attacker re-derives that query from a candidate record and asks the model: a confident answer of the record's label means it was trained on. Scores are the label's log-odds, calibrated per label on population records. It needs no reference models, works with label-only outputs, and is invisible to audits that only look at the real records.",
    needs: NEEDS,
    reads: &[],
    labels_suffice: true,
    scores_per_class: true,
};

static SECRET_LABEL: AttackInfo = AttackInfo {
    id: "code-poison-secret",
    title: "Membership encoding, secret label (poisoned training code; the paper's option)",
    paper: CHEN,
    summary: "The same encoded query per record, paired by the training code with a secret label drawn from the record's seed (`randint(0, C)`) instead of its own label, the paper's option. An auditor who does not know which the supplier chose runs both. Scores are the secret label's log-odds, calibrated per label on population records.",
    needs: NEEDS,
    reads: &[],
    labels_suffice: true,
    scores_per_class: true,
};

pub(super) static ENTRIES: [CatalogueEntry; 2] = [
    CatalogueEntry {
        info: &OWN_LABEL,
        build: |_: &AttackParams| Box::new(CodePoisonAttack(EncodedLabel::Own)),
    },
    CatalogueEntry {
        info: &SECRET_LABEL,
        build: |_: &AttackParams| Box::new(CodePoisonAttack(EncodedLabel::Secret)),
    },
];

/// Scores records by the target's calibrated confidence in their encoded label.
pub struct CodePoisonAttack(EncodedLabel);

impl CodePoisonAttack {
    /// The log-odds of the attack's label on each record's query, and that label.
    fn read<'a>(&self, set: &ScoringSet<'a>) -> Result<(&'a [f64], &'a [usize]), AttackError> {
        let encoded = set.answers::<EncodedQueries>(&ENCODED)?;
        Ok(match self.0 {
            EncodedLabel::Own => (&encoded.own_log_odds, set.labels),
            EncodedLabel::Secret => (&encoded.secret_log_odds, &encoded.secret_labels),
        })
    }
}

impl Attack for CodePoisonAttack {
    fn info(&self) -> &'static AttackInfo {
        match self.0 {
            EncodedLabel::Own => &OWN_LABEL,
            EncodedLabel::Secret => &SECRET_LABEL,
        }
    }

    fn score(
        &self,
        records: ScoringSet<'_>,
        population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError> {
        let id = self.info().id;
        let population = population.ok_or(AttackError::Missing {
            attack: id,
            need: Need::Population,
        })?;
        let (log_odds, labels) = self.read(&records)?;
        let (pop_log_odds, pop_labels) = self.read(&population)?;
        let scores = shifted_per_label(log_odds, labels, pop_log_odds, pop_labels, id)?;
        let label = match self.0 {
            EncodedLabel::Own => "its own label",
            EncodedLabel::Secret => "its secret label",
        };
        let made = &records.answers::<EncodedQueries>(&ENCODED)?.made;
        let normalization = match &made.normalization {
            Some(n) => format!("; normalisation declared: {n}"),
            None => String::new(),
        };
        let mut scored = AttackScores::complete(scores);
        scored.warning = made.hint.clone();
        scored.detail = Some(format!(
            "log-odds of each record's encoded query answering {label}, less the mean of {} population records' for the same label{normalization}",
            pop_labels.len()
        ));
        Ok(scored)
    }
}

/// Each record's log-odds less the population's mean log-odds for the same label.
fn shifted_per_label(
    log_odds: &[f64],
    labels: &[usize],
    population_log_odds: &[f64],
    population_labels: &[usize],
    attack: &'static str,
) -> Result<Vec<f64>, AttackError> {
    let means: Vec<Option<f64>> = group_by_class(labels, population_log_odds, population_labels)
        .iter()
        .map(|values| {
            (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
        })
        .collect();
    log_odds
        .iter()
        .zip(labels)
        .map(|(&v, &y)| match means[y] {
            None => Err(AttackError::PopulationClassMissing { attack, class: y }),
            Some(mean) => Ok(v - mean),
        })
        .collect()
}

/// Every record's membership-encoded query (the encoding the poisoned training code fits),
/// answered by the target; stored as `encoded_probabilities`, `encoded_secret_labels` and
/// the two labels' log-odds.
pub static ENCODED: QueryKind = QueryKind {
    id: "encoded",
    description: "the target's answers on the records' membership-encoded queries",
    population: true,
    runs_references: false,
    by_default: true,
    settings: |config: &AuditConfig| {
        serde_json::to_value(&config.params.code_poison.normalization).expect("plain data")
    },
    make: make_encoded,
    meta_key: Some("encoded"),
    read: read_encoded,
    parts: None,
};

/// Noise stream of the encoded queries of set `s` under the noise defence: `2 + s`.
const ENCODED_STREAM: u64 = 2;

/// The per-value affine map `x · scale + shift` a model applies before anything else, when
/// it starts with one (the usual place of an exported normalisation).
fn leading_affine(oracle: &dyn QueryOracle) -> Option<(Vec<f32>, Vec<f32>)> {
    let plan = oracle.target().gpu_plan().ok()?;
    let mut combined: Option<(Vec<f32>, Vec<f32>)> = None;
    for layer in &plan.layers {
        let Layer::ChannelAffine {
            channels,
            inner,
            scale,
            shift,
        } = layer
        else {
            break;
        };
        let expand = |v: &[f32]| -> Vec<f32> {
            v.iter()
                .flat_map(|x| std::iter::repeat_n(*x, *inner))
                .collect()
        };
        let (scale, shift) = (expand(scale), expand(shift));
        debug_assert_eq!(scale.len(), channels * inner);
        combined = Some(match combined {
            None => (scale, shift),
            Some((s0, b0)) => (
                s0.iter().zip(&scale).map(|(a, b)| a * b).collect(),
                b0.iter()
                    .zip(&scale)
                    .zip(&shift)
                    .map(|((b, s), t)| b * s + t)
                    .collect(),
            ),
        });
    }
    combined
}

/// What to declare when nothing was and the model starts with a normalisation.
fn hint_for(oracle: &dyn QueryOracle) -> Option<String> {
    let (scale, shift) = leading_affine(oracle)?;
    let channels = oracle
        .records()
        .record_shape()
        .first()
        .copied()
        .unwrap_or(1);
    let per_channel = scale.len() / channels.max(1);
    let pick = |v: &[f32]| -> Vec<f32> { v.iter().step_by(per_channel.max(1)).copied().collect() };
    let (scale, shift) = (pick(&scale), pick(&shift));
    let std: Vec<String> = scale.iter().map(|s| format!("{:.4}", 1.0 / s)).collect();
    let mean: Vec<String> = scale
        .iter()
        .zip(&shift)
        .map(|(s, b)| format!("{:.4}", -b / s))
        .collect();
    Some(format!(
        "the model starts by normalising its input (x - mean) / std with mean {} and std {}, and no normalisation was declared: if the training code hashed un-normalised records (the paper's code does), declare it as model:{}:{}",
        mean.join(","),
        std.join(","),
        mean.join(","),
        std.join(",")
    ))
}

fn make_encoded(
    oracle: &dyn QueryOracle,
    config: &AuditConfig,
) -> crate::Result<Option<QueryAnswers>> {
    let records = oracle.records();
    let n = records.len();
    let shape = records.record_shape();
    let per_record: usize = shape.iter().product();
    let features = records.features.as_standard_layout();
    let values = features.as_slice().unwrap_or_default();
    let normalization = config.params.code_poison.normalization.as_ref();
    let moments = normalization
        .map(|norm| norm.for_value(shape))
        .transpose()
        .map_err(|message| AttackError::Normalization { message })?;
    let classes = oracle.target().info().output_width.max(2);
    let (mut secret_labels, mut queries) =
        (Vec::with_capacity(n), Vec::with_capacity(n * per_record));
    for row in values.chunks(per_record.max(1)).take(n) {
        let raw: Vec<f32> = match (normalization, &moments) {
            (Some(norm), Some(at)) if norm.by == NormalizedBy::Records => row
                .iter()
                .enumerate()
                .map(|(k, x)| {
                    let (mean, std) = at(k);
                    (f64::from(*x) * std + mean) as f32
                })
                .collect(),
            _ => row.to_vec(),
        };
        let encoded = encoding::encode(&raw, classes);
        secret_labels.push(encoded.secret_label);
        queries.extend(encoded.query.iter().enumerate().map(|(k, v)| {
            let v = *v as f32;
            match (normalization, &moments) {
                (Some(norm), Some(at)) if norm.by == NormalizedBy::Model => {
                    let (mean, std) = at(k);
                    (f64::from(v) * std + mean) as f32
                }
                _ => v,
            }
        }));
    }
    let queries = ndarray::ArrayD::from_shape_vec(records.features.raw_dim(), queries)
        .expect("one query per record value");
    let stream = ENCODED_STREAM + oracle.set_index();
    let answers =
        oracle.ask_target_labelled(queries, &[&records.labels, &secret_labels], stream)?;
    let [own, secret] = <[_; 2]>::try_from(answers).expect("one answer per label set");
    Ok(Some(QueryAnswers::new(EncodedQueries {
        probabilities: own.probabilities,
        secret_labels,
        own_log_odds: own.logit_scaled,
        secret_log_odds: secret.logit_scaled,
        made: EncodingSetup {
            normalization: normalization.cloned(),
            hint: normalization.is_none().then(|| hint_for(oracle)).flatten(),
        },
    })))
}

impl Answers for EncodedQueries {
    fn write(&self, out: &mut NpzOut<'_>) -> Result<(), WriteNpzError> {
        out.add("encoded_probabilities", &self.probabilities)?;
        let labels: Array1<i64> = self.secret_labels.iter().map(|&y| y as i64).collect();
        out.add("encoded_secret_labels", &labels)?;
        out.add(
            "encoded_own_log_odds",
            &Array1::from(self.own_log_odds.clone()),
        )?;
        out.add(
            "encoded_secret_log_odds",
            &Array1::from(self.secret_log_odds.clone()),
        )
    }

    fn meta(&self) -> serde_json::Value {
        serde_json::to_value(&self.made).expect("plain data")
    }
}

/// `ln(p / (1 - p))` from a probability alone (files written before the log-odds were kept).
fn log_odds_of(p: f64) -> f64 {
    p.max(1e-45).ln() - (1.0 - p).max(1e-45).ln()
}

fn read_encoded(
    input: &mut NpzIn<'_, '_>,
    context: &ReadContext<'_>,
) -> Result<Option<QueryAnswers>, SignalsFileError> {
    if !input.has("encoded_probabilities") {
        return Ok(None);
    }
    let (n, classes) = (context.records, context.classes);
    let probabilities: Array2<f64> = input.array("encoded_probabilities", Some(&[n, classes]))?;
    let secret_labels = input.labels("encoded_secret_labels", Some(n), classes)?;
    let labels = context.labels;
    let from_probabilities = |labels: &[usize]| -> Vec<f64> {
        labels
            .iter()
            .enumerate()
            .map(|(i, &y)| log_odds_of(probabilities[[i, y]]))
            .collect()
    };
    let own_log_odds = match input.has("encoded_own_log_odds") {
        true => input.vector("encoded_own_log_odds", n)?,
        false => from_probabilities(labels),
    };
    let secret_log_odds = match input.has("encoded_secret_log_odds") {
        true => input.vector("encoded_secret_log_odds", n)?,
        false => from_probabilities(&secret_labels),
    };
    let made = match context.meta {
        serde_json::Value::Null => EncodingSetup::default(),
        meta => serde_json::from_value(meta.clone())
            .map_err(|e| input.content(format!("its encoded queries' settings: {e}")))?,
    };
    Ok(Some(QueryAnswers::new(EncodedQueries {
        probabilities,
        secret_labels,
        own_log_odds,
        secret_log_odds,
        made,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::build;
    use crate::set_signals::SetSignals;
    use crate::signal::Signals;
    use ndarray::array;

    fn signals(n: usize) -> Signals {
        Signals {
            confidence: vec![0.5; n],
            loss: vec![0.7; n],
            logit_scaled: vec![0.0; n],
            entropy: vec![0.7; n],
            modified_entropy: vec![0.7; n],
            correct: vec![true; n],
            probabilities: Array2::from_elem((n, 2), 0.5),
        }
    }

    fn encoded(own: Vec<f64>, secret: Vec<f64>, secret_labels: Vec<usize>) -> QueryAnswers {
        let n = own.len();
        QueryAnswers::new(EncodedQueries {
            probabilities: Array2::from_elem((n, 2), 0.5),
            secret_labels,
            own_log_odds: own,
            secret_log_odds: secret,
            made: EncodingSetup::default(),
        })
    }

    #[test]
    fn scores_are_log_odds_less_the_population_mean_of_the_same_label() {
        let records = SetSignals::new(signals(2)).with_answers(
            &ENCODED,
            encoded(vec![40.0, -1.0], vec![0.5, 3.0], vec![1, 0]),
        );
        // Population: label 0 answers -2, 0; label 1 answers 1, 2 (own); secret labels 0, 0, 1, 1.
        let population = SetSignals::new(signals(4)).with_answers(
            &ENCODED,
            encoded(
                vec![-2.0, 0.0, 1.0, 2.0],
                vec![1.0, 2.0, 0.0, 4.0],
                vec![0, 0, 1, 1],
            ),
        );
        let score = |id: &str| {
            build(id, &AttackParams::default())
                .unwrap()
                .score(
                    ScoringSet::new(&records, &[0, 1]),
                    Some(ScoringSet::new(&population, &[0, 0, 1, 1])),
                )
                .unwrap()
                .scores
        };
        // Own label: label 0's population answers -2, 0 (mean -1), label 1's 1, 2 (mean 1.5):
        // record 0 (label 0, 40) scores 41, record 1 (label 1, -1) scores -2.5.
        assert_eq!(score("code-poison"), vec![Some(41.0), Some(-2.5)]);
        // Secret label: label 0's answers 1, 2 (mean 1.5), label 1's 0, 4 (mean 2): record 0
        // (secret 1, 0.5) scores -1.5, record 1 (secret 0, 3) scores 1.5.
        assert_eq!(score("code-poison-secret"), vec![Some(-1.5), Some(1.5)]);
        let missing = build("code-poison", &AttackParams::default())
            .unwrap()
            .score(ScoringSet::new(&SetSignals::new(signals(2)), &[0, 0]), None)
            .unwrap_err();
        assert!(missing.to_string().contains("population"), "{missing}");
    }

    #[test]
    fn log_odds_do_not_saturate_where_probabilities_do() {
        // Logit margins of 40 and 50 both round p to 1.0 in float64; their log-odds differ.
        let p = |margin: f64| 1.0 / (1.0 + (-margin).exp());
        assert_eq!(p(40.0), p(50.0));
        let logits = crate::model::ModelOutput {
            kind: crate::model::OutputKind::Logits,
            values: array![[40.0, 0.0], [50.0, 0.0]],
            expanded_single: false,
        };
        let s = Signals::compute(&logits, &[0, 0], 1.0);
        assert!((s.logit_scaled[0] - 40.0).abs() < 1e-9 && (s.logit_scaled[1] - 50.0).abs() < 1e-9);
        assert!(log_odds_of(0.75) > log_odds_of(0.5) && log_odds_of(0.5) == 0.0);
    }

    #[test]
    fn a_normalisation_is_written_and_read_as_the_cli_takes_it() {
        let n: InputNormalization = "model:0.286:0.353".parse().unwrap();
        assert_eq!(
            (n.by, n.mean.as_slice(), n.std.as_slice()),
            (NormalizedBy::Model, &[0.286][..], &[0.353][..])
        );
        assert_eq!(n.to_string().parse::<InputNormalization>().unwrap(), n);
        let rgb: InputNormalization = "records:0.49,0.48,0.45:0.25,0.24,0.26".parse().unwrap();
        let at = rgb.for_value(&[3, 2, 2]).unwrap();
        assert_eq!(at(0), (0.49, 0.25));
        assert_eq!(at(5), (0.48, 0.24));
        assert!(rgb.for_value(&[1, 28, 28]).is_err());
        assert!("model:0.5".parse::<InputNormalization>().is_err());
        assert!("records:0.5:0".parse::<InputNormalization>().is_err());
        assert!("weights:0.5:0.5".parse::<InputNormalization>().is_err());
        let text: InputNormalization = serde_json::from_str("\"model:0.286:0.353\"").unwrap();
        let fields: InputNormalization =
            serde_json::from_str(r#"{"by": "model", "mean": [0.286], "std": [0.353]}"#).unwrap();
        assert_eq!(text, fields);
        assert!(serde_json::from_str::<InputNormalization>("\"model:1:0\"").is_err());
    }
}
