//! Every model's signals on every record set of one audit: what the attacks read, and what
//! a signals file holds. Computing it is the slow part of an audit; a
//! [`crate::Session`] keeps it and recomputes only the parts a new request invalidates.

use crate::defence::Defence;
use crate::provenance::Provenance;
use crate::report::ModelSection;
use crate::set_signals::SetSignals;

/// The signals of one audit.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditSignals {
    /// The target model as the report describes it.
    pub model: ModelSection,
    /// Shape of one record as the model takes it.
    pub record_shape: Vec<usize>,
    /// Output defences the target's answers went through: part of the signals, not of the
    /// attacks, so attacking them later always sees the defences they were computed under.
    pub defences: Vec<Defence>,
    /// Where the reference set came from, when its signals are here.
    pub reference_provenance: Option<Provenance>,
    /// Each reference model's file and hash, in keep-mask column order, when its signals are here.
    pub reference_models: Vec<Provenance>,
    /// The audit records.
    pub audit: SetSignals,
    /// The population records (known non-members), when given.
    pub population: Option<SetSignals>,
}
