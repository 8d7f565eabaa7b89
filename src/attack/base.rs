//! What every attack is made of: its description and needs ([`AttackInfo`]), the records
//! it scores ([`ScoringSet`]), the trait it implements ([`Attack`]), the one place its needs
//! are checked before it scores ([`run`]), and why it could not run ([`AttackError`]).

use super::{Answers, Available, Need, Needs, QueryKind, ReferenceUse};
use crate::set_signals::SetSignals;
use crate::signal::Signals;
use crate::signal_matrix::ReferenceSignals;
use serde::Serialize;
use thiserror::Error;

/// What an attack is, for people and for the audit: shown by `mialab attacks` and the page.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AttackInfo {
    /// The name used on the command line and in reports.
    pub id: &'static str,
    pub title: &'static str,
    /// The paper that defines it.
    pub paper: &'static str,
    /// One paragraph on how it decides.
    pub summary: &'static str,
    /// What it cannot run without.
    pub needs: Needs,
    /// Queries it reads when they were made (LiRA's augmented queries), besides those it needs.
    pub reads: &'static [&'static QueryKind],
    /// Whether it still works when the target's API releases only the predicted label.
    pub labels_suffice: bool,
    /// Whether its score is a percentile within the record's class among population
    /// records, so that a population threshold needs enough population records per class.
    pub scores_per_class: bool,
}

impl AttackInfo {
    /// Whether an audit that names no attacks runs it (where its needs are met): not when
    /// its queries train a model.
    pub fn runs_by_default(&self) -> bool {
        self.needs.queries.iter().all(|k| k.by_default)
    }

    /// Every query it needs or reads.
    pub fn queries(&self) -> impl Iterator<Item = &'static QueryKind> + use<> {
        self.needs.queries.iter().chain(self.reads).copied()
    }
}

/// Records as an attack sees them: the signals of one record set and its labels.
#[derive(Debug, Clone, Copy)]
pub struct ScoringSet<'a> {
    pub signals: &'a SetSignals,
    pub labels: &'a [usize],
}

impl<'a> ScoringSet<'a> {
    pub fn new(signals: &'a SetSignals, labels: &'a [usize]) -> ScoringSet<'a> {
        ScoringSet { signals, labels }
    }

    /// The target's signals on these records.
    pub fn target(&self) -> &'a Signals {
        &self.signals.target
    }

    /// The reference models' signals on these records.
    pub fn references(&self) -> Result<&'a ReferenceSignals, AttackError> {
        self.signals
            .references
            .as_ref()
            .ok_or(AttackError::missing(Need::References(
                ReferenceUse::OutOnly,
            )))
    }

    /// The target's answers to the queries of `kind`.
    pub fn answers<T: Answers>(&self, kind: &'static QueryKind) -> Result<&'a T, AttackError> {
        self.optional_answers(kind)
            .ok_or(AttackError::missing(Need::Query(kind)))
    }

    /// The target's answers to the queries of `kind`, when they were made.
    pub fn optional_answers<T: Answers>(&self, kind: &'static QueryKind) -> Option<&'a T> {
        self.signals.queries.get(kind)
    }
}

/// One score per record (`None`: the record cannot be scored by this attack) and, where the
/// attack chose a parameter from the data, what it chose.
#[derive(Debug, Clone, PartialEq)]
pub struct AttackScores {
    pub scores: Vec<Option<f64>>,
    pub detail: Option<String>,
    /// Something the user should act on (a setting that seems to be missing), in words.
    pub warning: Option<String>,
}

impl AttackScores {
    /// Every record scored.
    pub fn complete(scores: Vec<f64>) -> AttackScores {
        AttackScores {
            scores: scores.into_iter().map(Some).collect(),
            detail: None,
            warning: None,
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

    /// Scores the population records themselves, to calibrate thresholds on, with every
    /// parameter resolved as it was for `records` (an attack that tunes one on the audit
    /// set must not tune it again on the population).
    fn score_population(
        &self,
        _records: ScoringSet<'_>,
        population: ScoringSet<'_>,
    ) -> Result<AttackScores, AttackError> {
        self.score(population, Some(population))
    }

    /// Whether scoring fits a model (a classifier over the reference models' outputs), which
    /// takes far longer than the other attacks' arithmetic: the page scores such an attack in
    /// a worker of its own while its own thread scores the rest.
    fn fits_a_model(&self) -> bool {
        false
    }
}

/// Checks `attack`'s needs against the signals at hand, then scores `records`.
pub fn run(
    attack: &dyn Attack,
    records: ScoringSet<'_>,
    population: Option<ScoringSet<'_>>,
) -> Result<AttackScores, AttackError> {
    let info = attack.info();
    let available = Available::of_signals(records.signals, population.map(|p| p.signals));
    if let Some(need) = info.needs.unmet(&available).into_iter().next() {
        return Err(AttackError::Missing {
            attack: info.id,
            need,
        });
    }
    attack
        .score(records, population)
        .map_err(|e| e.for_attack(info.id))
}

/// Why an attack cannot run.
#[derive(Debug, Error, PartialEq)]
pub enum AttackError {
    #[error("unknown attack '{name}'; available: {available}")]
    Unknown { name: String, available: String },
    #[error("attack '{attack}' needs {need}")]
    Missing { attack: &'static str, need: Need },
    #[error(
        "attack '{attack}' needs population records of every class, but the population has none of class {class}"
    )]
    PopulationClassMissing { attack: &'static str, class: usize },
    #[error("{name} must be {rule}, got {value}")]
    Parameter {
        name: &'static str,
        rule: &'static str,
        value: f64,
    },
    #[error("{message}")]
    Normalization { message: String },
    #[error("attack '{attack}' cannot train its classifier: {reason}")]
    Training {
        attack: &'static str,
        reason: String,
    },
}

impl AttackError {
    /// A need found missing while scoring, before the attack is named.
    fn missing(need: Need) -> AttackError {
        AttackError::Missing { attack: "", need }
    }

    fn for_attack(self, id: &'static str) -> AttackError {
        match self {
            AttackError::Missing { attack: "", need } => AttackError::Missing { attack: id, need },
            other => other,
        }
    }
}
