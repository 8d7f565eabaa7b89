//! What an attack needs, declared once per attack ([`Needs`]), and what an audit offers
//! ([`Available`]): from the loaded inputs before any model runs (to choose the default
//! attacks and to refuse an impossible one at once) and from computed signals before scoring.

use super::query::QueryKind;
use crate::set_signals::SetSignals;
use serde::Serialize;
use std::fmt;

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

/// What an attack cannot run without.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Needs {
    /// Population records (known non-members) to calibrate against.
    pub population: bool,
    /// Reference models on the audit records.
    pub references: ReferenceUse,
    /// Reference models on the population records too.
    pub population_references: bool,
    /// The reference models' whole probability vectors, not only the per-record signals.
    pub reference_probabilities: bool,
    /// The target's whole probability vector, not only the signals of the label (which
    /// provided losses alone give).
    pub target_probabilities: bool,
    /// Queries to the target besides the records themselves.
    pub queries: &'static [&'static QueryKind],
}

impl Needs {
    /// The target's outputs on the records, nothing else.
    pub const TARGET_ONLY: Needs = Needs {
        population: false,
        references: ReferenceUse::NotUsed,
        population_references: false,
        reference_probabilities: false,
        target_probabilities: false,
        queries: &[],
    };

    /// Whether it runs reference models at all.
    pub fn references_used(&self) -> bool {
        self.references != ReferenceUse::NotUsed
    }

    /// What `available` lacks: reference models first, then population records, then the rest.
    pub fn unmet(&self, available: &Available) -> Vec<Need> {
        let mut unmet = Vec::new();
        if self.references > available.references {
            unmet.push(Need::References(self.references));
        }
        if self.population && !available.population {
            unmet.push(Need::Population);
        }
        if self.population_references && !available.population_references {
            unmet.push(Need::PopulationReferences);
        }
        if self.reference_probabilities && !available.reference_probabilities {
            unmet.push(Need::ReferenceProbabilities);
        }
        if self.target_probabilities && !available.target_probabilities {
            unmet.push(Need::TargetProbabilities);
        }
        for kind in self.queries {
            if !available.queries.contains(&kind.id) {
                unmet.push(Need::Query(kind));
            }
        }
        unmet
    }
}

/// One thing an attack needs and lacks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Need {
    Population,
    References(ReferenceUse),
    PopulationReferences,
    ReferenceProbabilities,
    TargetProbabilities,
    Query(&'static QueryKind),
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Need::Population => f.write_str("population records (known non-members)"),
            Need::References(ReferenceUse::InAndOut) => f.write_str(
                "reference models, some of which trained on each audit record (IN) and some not (OUT), with a keep-mask saying which",
            ),
            Need::References(_) => f.write_str(
                "reference models and a keep-mask saying which audit records each trained on",
            ),
            Need::PopulationReferences => f.write_str(
                "reference models on the population records too (RMIA compares each record with population records under every reference model)",
            ),
            Need::ReferenceProbabilities => f.write_str(
                "the reference models' probability vectors, which these reference signals do not hold",
            ),
            Need::TargetProbabilities => f.write_str(
                "the target's whole probability vector, which per-record losses do not give (provide logits or probabilities)",
            ),
            Need::Query(kind) => f.write_str(kind.description),
        }
    }
}

/// What an audit has to offer the attacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    pub population: bool,
    /// The most demanding reference use the reference set supports.
    pub references: ReferenceUse,
    pub population_references: bool,
    pub reference_probabilities: bool,
    pub target_probabilities: bool,
    /// Ids of the query kinds whose answers are (or can be) at hand.
    pub queries: Vec<&'static str>,
}

impl Available {
    /// What computed signals offer.
    pub fn of_signals(records: &SetSignals, population: Option<&SetSignals>) -> Available {
        let references = match &records.references {
            None => ReferenceUse::NotUsed,
            Some(r) if r.keep.iter().any(|&k| k) => ReferenceUse::InAndOut,
            Some(_) => ReferenceUse::OutOnly,
        };
        Available {
            population: population.is_some(),
            references,
            population_references: population.is_some_and(|p| p.references.is_some()),
            reference_probabilities: records
                .references
                .as_ref()
                .is_some_and(|r| r.probabilities.is_some()),
            target_probabilities: records.target.probabilities.ncols() > 0,
            queries: records.queries.kinds().collect(),
        }
    }
}
