//! Membership-inference attacks: pure functions from signals to one score per record,
//! higher meaning more likely a member (SPEC.md, "Conventions").
//!
//! Every attack implements [`Attack`] and is listed once in [`CATALOGUE`], the name →
//! constructor table that the CLI and the page both read, with the description they show.

pub mod calibrated;
pub mod lira;
pub mod rmia;
mod threshold;

pub use threshold::{ThresholdAttack, ThresholdConfig, ThresholdSignal};

use crate::signal::Signals;
use serde::Serialize;
use thiserror::Error;

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
}

/// Records as an attack sees them: one model's signals and the labels.
#[derive(Debug, Clone, Copy)]
pub struct ScoringSet<'a> {
    pub signals: &'a Signals,
    pub labels: &'a [usize],
}

/// A membership-inference attack over one target model's signals.
pub trait Attack {
    fn info(&self) -> &'static AttackInfo;

    /// Scores `records`; `population` holds known non-members for attacks that calibrate.
    fn score(
        &self,
        records: ScoringSet<'_>,
        population: Option<ScoringSet<'_>>,
    ) -> Result<Vec<f64>, AttackError>;
}

/// Why an attack cannot run.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AttackError {
    #[error("unknown attack '{name}'; available: {available}")]
    Unknown { name: String, available: String },
    #[error("attack '{attack}' needs population records (known non-members); pass --population")]
    NeedsPopulation { attack: &'static str },
    #[error(
        "attack '{attack}' needs population records of every class, but the population has none of class {class}"
    )]
    PopulationClassMissing { attack: &'static str, class: usize },
}

/// One row of the attack table.
pub struct CatalogueEntry {
    pub info: &'static AttackInfo,
    pub build: fn() -> Box<dyn Attack>,
}

/// Every attack mialab knows, in the order they are listed and reported.
pub static CATALOGUE: &[CatalogueEntry] = &threshold::ENTRIES;

/// The attacks run when none are named: every one whose inputs are available.
pub fn default_attacks(has_population: bool) -> Vec<&'static str> {
    CATALOGUE
        .iter()
        .filter(|e| has_population || !e.info.needs_population)
        .map(|e| e.info.id)
        .collect()
}

/// Builds the attack called `id`.
pub fn build(id: &str) -> Result<Box<dyn Attack>, AttackError> {
    CATALOGUE
        .iter()
        .find(|e| e.info.id == id)
        .map(|e| (e.build)())
        .ok_or_else(|| AttackError::Unknown {
            name: id.to_string(),
            available: CATALOGUE
                .iter()
                .map(|e| e.info.id)
                .collect::<Vec<_>>()
                .join(", "),
        })
}
