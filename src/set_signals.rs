//! Everything the models answered about one record set (the audit records, or the
//! population): the target's signals, the reference models' matrix, and the answers to each
//! kind of extra query. One type for both sets; attacks score a [`SetSignals`] and labels.

use crate::attack::{QueryAnswers, QueryKind, QueryMap};
use crate::signal::Signals;
use crate::signal_matrix::ReferenceSignals;

/// The signals of one record set.
#[derive(Debug, Clone, PartialEq)]
pub struct SetSignals {
    /// The target's answers to the records themselves, as its API released them.
    pub target: Signals,
    /// The reference models on the same records, when a reference set was run.
    pub references: Option<ReferenceSignals>,
    /// The target's answers to the extra queries that were made, by kind.
    pub queries: QueryMap,
}

impl SetSignals {
    /// The target's signals alone.
    pub fn new(target: Signals) -> SetSignals {
        SetSignals {
            target,
            references: None,
            queries: QueryMap::default(),
        }
    }

    pub fn with_references(mut self, references: ReferenceSignals) -> SetSignals {
        self.references = Some(references);
        self
    }

    pub fn with_answers(mut self, kind: &'static QueryKind, answers: QueryAnswers) -> SetSignals {
        self.queries.insert(kind, answers);
        self
    }

    pub fn len(&self) -> usize {
        self.target.len()
    }

    pub fn is_empty(&self) -> bool {
        self.target.is_empty()
    }
}
