//! The label-only attack (Choquette-Choo, Tramèr, Carlini & Papernot, ICML 2021; SPEC.md
//! attack 6): for APIs that return only the top class. Each record is queried in Q perturbed
//! copies (tabular: Gaussian noise of σ per standardised feature; images: mirror and one-pixel
//! shifts); members tend to stay correctly classified under perturbation, so the score is the
//! fraction of copies still classified as the record's label.

use super::{
    Answers, Attack, AttackError, AttackInfo, AttackParams, AttackScores, Needs, QueryAnswers,
    QueryKind, QueryOracle, QueryParts, ReadContext, ScoringSet,
};
use super::{CatalogueEntry, check};
use crate::augment::{self, Augmentations};
use crate::config::AuditConfig;
use crate::npz::{NpzIn, NpzOut, SignalsFileError};
use crate::progress::Progress;
use crate::records::{Records, feature_moments};
use ndarray::{Array1, ArrayD};
use ndarray_npy::WriteNpzError;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// How the perturbed copies are made.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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

impl LabelOnlyParams {
    pub fn validate(&self) -> Result<(), AttackError> {
        check(
            self.queries > 0,
            "label-only queries",
            "at least 1",
            self.queries as f64,
        )?;
        check(
            self.sigma.is_finite() && self.sigma > 0.0,
            "label-only noise σ",
            "a positive number",
            self.sigma,
        )
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
    needs: Needs {
        queries: &[&PERTURBED],
        ..Needs::TARGET_ONLY
    },
    reads: &[],
    labels_suffice: true,
    scores_per_class: false,
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
        let queries = records.answers::<LabelOnlyQueries>(&PERTURBED)?;
        let mut scored = AttackScores::complete(queries.fraction_correct.clone());
        scored.detail = Some(format!(
            "{} queries: {}",
            queries.queries, queries.perturbation
        ));
        Ok(scored)
    }
}

/// Perturbed copies of every record, answered with the target's top-1 label
/// (`params.label_only`), stored as `label_only_fraction_correct`. Each copy is a part of
/// its own (its noise has a stream of its own), so workers can share a set's copies.
pub static PERTURBED: QueryKind = QueryKind {
    id: "label-only",
    description: "the target's answers on perturbed copies of the records",
    population: true,
    runs_references: false,
    by_default: true,
    settings: |config: &AuditConfig| serde_json::json!({"params": config.params.label_only, "seed": config.seed}),
    make: make_perturbed,
    meta_key: Some("label_only"),
    read: read_perturbed,
    parts: Some(QueryParts {
        count: copy_count,
        make: count_correct,
        join: fractions_correct,
    }),
};

/// Noise streams of copy `q` of set `s` under the noise defence: `1000 (s + 1) + q`.
const PERTURBED_STREAM: u64 = 1_000;

/// The perturbation for images: the image and its mirror, each shifted by up to one pixel.
const IMAGE_COPIES: Augmentations = Augmentations {
    flip: true,
    shift: 1,
};

fn is_image(records: &Records) -> bool {
    IMAGE_COPIES.check(records.record_shape()).is_ok()
}

/// Each feature's standard deviation over `records` (1 where it is 0), so that label-only
/// noise is σ per standardised feature.
fn feature_scale(records: &Records) -> Vec<f32> {
    let per_record: usize = records.record_shape().iter().product();
    let features = records.features.as_standard_layout();
    let values = features.as_slice().unwrap_or_default();
    feature_moments(values, per_record)
        .into_iter()
        .map(|(_, var)| if var > 0.0 { var.sqrt() as f32 } else { 1.0 })
        .collect()
}

/// Copies per record: the 18 flip × shift copies of an image, else `params.queries`.
fn copy_count(records: &Records, config: &AuditConfig) -> usize {
    if is_image(records) {
        IMAGE_COPIES.queries().len()
    } else {
        config.params.label_only.queries
    }
}

/// Copy `copy` of every record of set `set`: for images, one of the mirror × one-pixel shifts;
/// for other records, Gaussian noise of `params.sigma` audit-record standard deviations
/// (`scale`) per feature, from ChaCha8 seeded by the seed and the set, on stream `copy`.
/// Never inlined into its caller's loop, which runs once per set: V8 swaps in optimised wasm
/// code only between calls (as `ScoreWalk::aucs` in src/metrics/bootstrap.rs explains).
#[inline(never)]
fn perturbed_copy(
    records: &Records,
    scale: &[f32],
    config: &AuditConfig,
    set: u64,
    copy: usize,
) -> ArrayD<f32> {
    if is_image(records) {
        return augment::apply(&records.features, IMAGE_COPIES.queries()[copy]);
    }
    let sigma = config.params.label_only.sigma;
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(config.seed ^ (set << 32));
    rng.set_stream(copy as u64);
    let mut noisy = records.features.as_standard_layout().into_owned();
    let values = noisy.as_slice_mut().expect("standard layout");
    for record in values.chunks_mut(scale.len().max(1)) {
        for (v, s) in record.iter_mut().zip(scale) {
            let z: f64 = StandardNormal.sample(&mut rng);
            *v += (sigma * z) as f32 * s;
        }
    }
    noisy
}

/// Asks the target about copies `copies` of every record and counts, per record, the copies
/// still classified as its label.
fn count_correct(
    oracle: &dyn QueryOracle,
    config: &AuditConfig,
    copies: Range<usize>,
) -> crate::Result<Vec<u32>> {
    let records = oracle.records();
    let set = oracle.set_index();
    let scale = if is_image(records) {
        Vec::new()
    } else {
        feature_scale(oracle.audit_records())
    };
    let mut correct = vec![0u32; records.len()];
    let total = copies.len();
    for (done, copy) in copies.enumerate() {
        let features = perturbed_copy(records, &scale, config, set, copy);
        let stream = PERTURBED_STREAM * (set + 1) + copy as u64;
        let signals = oracle.ask_target(features, stream)?;
        for (count, ok) in correct.iter_mut().zip(&signals.correct) {
            *count += u32::from(*ok);
        }
        oracle.progress(Progress {
            step: "label-only queries",
            done: done + 1,
            total,
        });
    }
    Ok(correct)
}

/// The fraction of every record's copies still classified as its label, from the counts
/// over all of them.
fn fractions_correct(records: &Records, config: &AuditConfig, correct: Vec<u32>) -> QueryAnswers {
    let queries = copy_count(records, config);
    QueryAnswers::new(LabelOnlyQueries {
        fraction_correct: correct
            .into_iter()
            .map(|c| f64::from(c) / queries as f64)
            .collect(),
        queries,
        perturbation: if is_image(records) {
            "the image, its mirror and their one-pixel shifts (reflect padding)".to_string()
        } else {
            format!(
                "Gaussian noise of {} standard deviations on every feature (seed {})",
                config.params.label_only.sigma, config.seed
            )
        },
    })
}

/// Asks the target about every perturbed copy of every record (SPEC.md attack 6).
fn make_perturbed(
    oracle: &dyn QueryOracle,
    config: &AuditConfig,
) -> crate::Result<Option<QueryAnswers>> {
    let records = oracle.records();
    let correct = count_correct(oracle, config, 0..copy_count(records, config))?;
    Ok(Some(fractions_correct(records, config, correct)))
}

/// The copies' settings, kept in the signals file's meta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PerturbedMeta {
    queries: usize,
    perturbation: String,
}

impl Answers for LabelOnlyQueries {
    fn write(&self, out: &mut NpzOut<'_>) -> Result<(), WriteNpzError> {
        out.add(
            "label_only_fraction_correct",
            &Array1::from(self.fraction_correct.clone()),
        )
    }

    fn meta(&self) -> serde_json::Value {
        serde_json::to_value(PerturbedMeta {
            queries: self.queries,
            perturbation: self.perturbation.clone(),
        })
        .expect("plain data")
    }
}

fn read_perturbed(
    input: &mut NpzIn<'_, '_>,
    context: &ReadContext<'_>,
) -> Result<Option<QueryAnswers>, SignalsFileError> {
    let name = "label_only_fraction_correct";
    if context.meta.is_null() || !input.has(name) {
        return Ok(None);
    }
    let meta: PerturbedMeta = serde_json::from_value(context.meta.clone())
        .map_err(|e| input.content(format!("its label-only settings: {e}")))?;
    Ok(Some(QueryAnswers::new(LabelOnlyQueries {
        fraction_correct: input.vector(name, context.records)?,
        queries: meta.queries,
        perturbation: meta.perturbation,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::build;
    use crate::set_signals::SetSignals;
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
        let without = SetSignals::new(signals);
        let with = without
            .clone()
            .with_answers(&PERTURBED, QueryAnswers::new(queries));
        let attack = build("label-only", &AttackParams::default()).unwrap();
        let scored = attack.score(ScoringSet::new(&with, &[0, 1]), None).unwrap();
        assert_eq!(scored.scores, vec![Some(1.0), Some(0.25)]);
        assert!(
            attack
                .score(ScoringSet::new(&without, &[0, 1]), None)
                .is_err()
        );
    }
}
