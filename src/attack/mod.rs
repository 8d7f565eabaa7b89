//! Membership-inference attacks: pure functions from signals to one score per record,
//! higher meaning more likely a member (SPEC.md, "Conventions").
//!
//! Every attack implements [`Attack`] and is listed once in [`catalogue`], the name →
//! constructor table that the CLI and the page both read, with the description they show.
//! Attacks that calibrate against reference models may leave a record unscored (`None`)
//! when its references cannot support a score; it is then listed, never guessed.

pub mod calibrated;
mod code_poison;
mod label_only;
pub mod lira;
mod params;
mod reference_attacks;
pub mod rmia;
mod shokri;
mod threshold;

pub use code_poison::{EncodedLabel, EncodedQueries};
pub use label_only::{LabelOnlyParams, LabelOnlyQueries};
pub use params::{AttackParams, LiraParams, LiraVariance, RmiaA, RmiaParams, ShokriParams};
pub use threshold::{ThresholdAttack, ThresholdConfig, ThresholdSignal};

use crate::signal::Signals;
use crate::signal_matrix::ReferenceSignals;
use serde::Serialize;
use thiserror::Error;

/// Which reference models an attack reads, ordered from least to most demanding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReferenceUse {
    /// The target's outputs alone.
    NotUsed,
    /// Reference models that did not train on the record ("offline").
    OutOnly,
    /// Reference models that did and that did not train on the record ("online").
    InAndOut,
}

/// What an attack is, for people: shown by `mialab attacks` and the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AttackInfo {
    /// The name used on the command line and in reports.
    pub id: &'static str,
    pub title: &'static str,
    /// The paper that defines it.
    pub paper: &'static str,
    /// One paragraph on how it decides.
    pub summary: &'static str,
    /// Whether it needs population records (known non-members) to calibrate.
    pub needs_population: bool,
    /// Which reference models it needs.
    pub references: ReferenceUse,
    /// Whether it averages its score over test-time augmented queries when given them.
    pub averages_augmentations: bool,
    /// Whether it still works when the target's API releases only the predicted label.
    pub labels_suffice: bool,
    /// Queries to the target besides the records themselves that it reads.
    pub queries: ExtraQueries,
    /// Whether it reads the reference models' whole probability vectors (not only the
    /// per-record signals), which the GPU's signal reduction does not bring back.
    pub reads_reference_probabilities: bool,
}

/// Extra queries an attack sends the target, which the audit computes only when an attack
/// that reads them may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExtraQueries {
    None,
    /// Each record's membership-encoded query (NDSS 2025).
    Encoded,
    /// Perturbed copies of each record (label-only attack).
    Perturbed,
}

/// Records as an attack sees them: one model's signals, the labels and, when a reference
/// set was given, the reference models' signals on the same records.
#[derive(Debug, Clone, Copy)]
pub struct ScoringSet<'a> {
    pub signals: &'a Signals,
    pub labels: &'a [usize],
    pub references: Option<&'a ReferenceSignals>,
    /// The same records under test-time augmentations (images), for LiRA; empty otherwise.
    pub augmented: &'a [AugmentedQuery],
    /// The target's outputs on the records' membership-encoded queries, when computed.
    pub encoded: Option<&'a EncodedQueries>,
    /// The target's top-1 answers on perturbed copies of the records, when computed.
    pub label_only: Option<&'a LabelOnlyQueries>,
}

/// One augmented query of every record: the target's φ and the reference matrix under it.
#[derive(Debug, Clone, PartialEq)]
pub struct AugmentedQuery {
    pub query: crate::augment::Query,
    pub target_logit_scaled: Vec<f64>,
    pub references: ReferenceSignals,
}

/// One score per record (`None`: the record cannot be scored by this attack) and, where the
/// attack chose a parameter from the data, what it chose.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackScores {
    pub scores: Vec<Option<f64>>,
    pub detail: Option<String>,
}

impl AttackScores {
    /// Every record scored.
    pub fn complete(scores: Vec<f64>) -> AttackScores {
        AttackScores {
            scores: scores.into_iter().map(Some).collect(),
            detail: None,
        }
    }
}

/// A membership-inference attack over one target model's signals.
pub trait Attack {
    fn info(&self) -> &'static AttackInfo;

    /// Scores `records`; `population` holds known non-members for attacks that calibrate.
    fn score(
        &self,
        records: ScoringSet<'_>,
        population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError>;
}

/// Why an attack cannot run.
#[derive(Debug, Error, PartialEq)]
pub enum AttackError {
    #[error("unknown attack '{name}'; available: {available}")]
    Unknown { name: String, available: String },
    #[error("attack '{attack}' needs population records (known non-members); pass --population")]
    NeedsPopulation { attack: &'static str },
    #[error(
        "attack '{attack}' needs population records of every class, but the population has none of class {class}"
    )]
    PopulationClassMissing { attack: &'static str, class: usize },
    #[error("attack '{attack}' needs reference models; pass --references and --keep-mask")]
    NeedsReferences { attack: &'static str },
    #[error(
        "attack '{attack}' needs reference models on the population records too (RMIA compares each record with population records under every reference model)"
    )]
    NeedsPopulationReferences { attack: &'static str },
    #[error(
        "attack '{attack}' needs the reference models' probability vectors, which these reference signals do not hold"
    )]
    NeedsProbabilities { attack: &'static str },
    #[error(
        "attack '{attack}' needs the target's outputs on the encoded queries, which were not computed for these signals"
    )]
    NeedsEncodedQueries { attack: &'static str },
    #[error(
        "attack '{attack}' needs the target's answers on perturbed copies of the records, which were not computed for these signals"
    )]
    NeedsLabelOnlyQueries { attack: &'static str },
    #[error("{name} must be {rule}, got {value}")]
    Parameter {
        name: &'static str,
        rule: &'static str,
        value: f64,
    },
    #[error("attack '{attack}' cannot train its classifier: {reason}")]
    Training {
        attack: &'static str,
        reason: String,
    },
}

/// One row of the attack table.
pub struct CatalogueEntry {
    pub info: &'static AttackInfo,
    pub build: fn(&AttackParams) -> Box<dyn Attack>,
}

/// Every attack mialab knows, in the order they are listed and reported.
pub fn catalogue() -> impl Iterator<Item = &'static CatalogueEntry> {
    threshold::ENTRIES
        .iter()
        .chain(reference_attacks::ENTRIES.iter())
        .chain(std::iter::once(&shokri::ENTRY))
        .chain(std::iter::once(&label_only::ENTRY))
        .chain(std::iter::once(&code_poison::ENTRY))
}

/// The population (threshold) attacks: those that read the target's outputs on the real
/// records alone.
pub fn population_attacks() -> Vec<&'static str> {
    threshold::ENTRIES.iter().map(|e| e.info.id).collect()
}

/// What an audit has to offer the attacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Available {
    pub population: bool,
    /// The most demanding reference use the reference set supports.
    pub references: ReferenceUse,
    /// Whether the target's outputs on encoded queries were computed.
    pub encoded_queries: bool,
    /// Whether the target's answers on perturbed copies were computed.
    pub label_only_queries: bool,
}

/// The attacks run when none are named: every one whose inputs are available.
pub fn default_attacks(available: Available) -> Vec<&'static str> {
    catalogue()
        .filter(|e| available.population || !e.info.needs_population)
        .filter(|e| e.info.references <= available.references)
        .filter(|e| match e.info.queries {
            ExtraQueries::None => true,
            ExtraQueries::Encoded => available.encoded_queries,
            ExtraQueries::Perturbed => available.label_only_queries,
        })
        .map(|e| e.info.id)
        .collect()
}

/// Builds the attack called `id` with `params`.
pub fn build(id: &str, params: &AttackParams) -> Result<Box<dyn Attack>, AttackError> {
    params.validate()?;
    catalogue()
        .find(|e| e.info.id == id)
        .map(|e| (e.build)(params))
        .ok_or_else(|| AttackError::Unknown {
            name: id.to_string(),
            available: catalogue()
                .map(|e| e.info.id)
                .collect::<Vec<_>>()
                .join(", "),
        })
}
