//! Outputs provided instead of a model ("bring your own outputs"): for a target that cannot
//! run here (too large, or behind an API), the auditor gives what it answered on the audit
//! records (and, optionally, what reference models and the population gave), and every attack
//! that needs only those signals runs on them.
//!
//! Accepted, in the layouts people already have (docs/own-outputs.md):
//!
//! - **CSV** ([`csv_outputs`]): a header, a `label` column, optionally `id` and `member`, and
//!   either one column per class (logits or probabilities, in class order) or one `loss` column.
//! - **NumPy** ([`arrays`]): `[records, classes]` logits or probabilities, or `[records]`
//!   losses, with the labels (and membership) as separate `.npy` files; reference models'
//!   outputs `[models, records, classes]` and the keep-mask `[models, records]`, LiRA's layout.
//! - **`.npz`** ([`npz_outputs`]): TF Privacy's `AttackInputData` names (`logits_train`,
//!   `logits_test`, `probs_*`, `loss_*`, `labels_*`; train = members), or mialab's
//!   (`outputs`, `labels`, `membership`, `reference_outputs`, `keep`, `population_*`).
//!
//! What is read becomes a [`SignalsFile`], the same thing `mialab signals` writes, so that a
//! session audits it exactly as it audits signals mialab computed itself. Record ids are the
//! records' row indices unless an `id` column names them.

mod arrays;
mod csv_outputs;
mod npz_outputs;
mod scores;

pub use arrays::{from_arrays, read_class_scores, read_reference_scores};
pub use csv_outputs::from_csv;
pub use npz_outputs::from_npz;
pub use scores::Scores;

use crate::audit::AuditSignals;
use crate::model::{OutputKind, OutputKindChoice};
use crate::provenance::Provenance;
use crate::records::Records;
use crate::report::ModelSection;
use crate::set_signals::SetSignals;
use crate::signals_file::{FORMAT, SignalsFile, SignalsMeta};
use ndarray::{Array2, ArrayD, IxDyn};
use thiserror::Error;

/// Why provided outputs could not be used.
#[derive(Debug, Error, PartialEq)]
pub enum ProvidedError {
    #[error("{file}: {message}")]
    Content { file: String, message: String },
    #[error("{file}: {what} has shape {found:?}; expected {expected}")]
    Shape {
        file: String,
        what: String,
        expected: String,
        found: Vec<usize>,
    },
    #[error(
        "{file}: record {record} has label {label}, but the outputs have {classes} class columns"
    )]
    Label {
        file: String,
        record: usize,
        label: usize,
        classes: usize,
    },
    #[error("{file}: record {record}: {value} is not a finite output")]
    NotFinite {
        file: String,
        record: usize,
        value: f64,
    },
    #[error("{file}: {problem}")]
    Probabilities { file: String, problem: String },
}

impl ProvidedError {
    pub(crate) fn content(file: &str, message: impl Into<String>) -> ProvidedError {
        ProvidedError::Content {
            file: file.to_string(),
            message: message.into(),
        }
    }
}

/// The target's (and optionally the reference models') outputs on one record set.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSet {
    pub ids: Vec<String>,
    pub labels: Vec<usize>,
    pub membership: Option<Vec<bool>>,
    pub target: Scores,
    /// One entry per reference model, over the same records.
    pub references: Option<Vec<Scores>>,
}

impl OutputSet {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Everything provided for one audit.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvidedOutputs {
    /// The file holding the target's outputs on the audit records.
    pub provenance: Provenance,
    pub audit: OutputSet,
    pub population: Option<(OutputSet, Provenance)>,
    /// `[records, models]`: audit record i trained reference model k.
    pub keep: Option<Array2<bool>>,
    /// Where the reference outputs and the keep-mask came from.
    pub reference_provenance: Option<Provenance>,
    /// What the file says its class columns are (TF Privacy's `logits_*` or `probs_*`);
    /// `Auto` when it does not say.
    pub declared: OutputKindChoice,
}

impl ProvidedOutputs {
    /// The target's outputs on the audit records alone.
    pub fn new(provenance: Provenance, audit: OutputSet) -> ProvidedOutputs {
        ProvidedOutputs {
            provenance,
            audit,
            population: None,
            keep: None,
            reference_provenance: None,
            declared: OutputKindChoice::Auto,
        }
    }

    /// The signals of these outputs, as a signals file holds them; `choice` says whether
    /// class columns are logits or probabilities (`Auto`: what the file declares, else
    /// probabilities when every row is a distribution).
    pub fn into_signals_file(self, choice: OutputKindChoice) -> Result<SignalsFile, ProvidedError> {
        let choice = match choice {
            OutputKindChoice::Auto => self.declared,
            given => given,
        };
        let file = self.provenance.source.clone();
        let keep = self.checked_keep()?;
        let (audit, classes, kind) = set_signals(&self.audit, &file, choice, keep)?;
        let population = match &self.population {
            Some((set, provenance)) => {
                let models = self.audit.references.as_ref().map(Vec::len);
                Some(population_signals(
                    set, provenance, choice, classes, models,
                )?)
            }
            None => None,
        };
        let model = ModelSection {
            source: file.clone(),
            sha256: self.provenance.sha256.clone(),
            input: "none: the target's outputs were provided".to_string(),
            output: self.audit.target.describe(kind),
            output_kind: kind.unwrap_or(OutputKind::Probabilities),
            expanded_single_output: false,
            classes,
            parameters: 0,
            backend: None,
        };
        let meta = SignalsMeta {
            format: FORMAT.to_string(),
            mialab_version: env!("CARGO_PKG_VERSION").to_string(),
            model: model.clone(),
            record_shape: Vec::new(),
            temperature: 1.0,
            records: self.provenance.clone(),
            population: self.population.as_ref().map(|(_, p)| p.clone()),
            references: self.reference_provenance.clone(),
            reference_models: Vec::new(),
            class_names: None,
            defences: Vec::new(),
            queries: Default::default(),
        };
        let (population_signals, population_records) = population.unzip();
        Ok(SignalsFile {
            meta,
            records: records_of(&self.audit, &file),
            population: population_records,
            signals: AuditSignals {
                model,
                record_shape: Vec::new(),
                defences: Vec::new(),
                reference_provenance: self.reference_provenance,
                reference_models: Vec::new(),
                audit,
                population: population_signals,
            },
        })
    }

    /// The keep-mask, checked against the reference outputs it describes.
    fn checked_keep(&self) -> Result<Option<Array2<bool>>, ProvidedError> {
        let file = &self.provenance.source;
        let models = self.audit.references.as_ref().map(Vec::len);
        match (models, &self.keep) {
            (None, None) => Ok(None),
            (Some(k), Some(keep)) if keep.dim() == (self.audit.len(), k) => Ok(Some(keep.clone())),
            (Some(k), Some(keep)) => Err(ProvidedError::Shape {
                file: source_of(&self.reference_provenance, file),
                what: "the keep-mask".to_string(),
                expected: format!("[{k} models, {} records]", self.audit.len()),
                found: vec![keep.ncols(), keep.nrows()],
            }),
            (Some(_), None) => Err(ProvidedError::content(
                file,
                "reference outputs need a keep-mask saying which records each reference model trained on",
            )),
            (None, Some(_)) => Err(ProvidedError::content(
                file,
                "a keep-mask was given without reference outputs",
            )),
        }
    }
}

/// The population's signals and records: known non-members, so none is marked a member and
/// no reference model trained on any; the same classes and reference models as the audit
/// records' (`models`).
fn population_signals(
    set: &OutputSet,
    provenance: &Provenance,
    choice: OutputKindChoice,
    classes: usize,
    models: Option<usize>,
) -> Result<(SetSignals, Records), ProvidedError> {
    let file = &provenance.source;
    if let Some(found) = set.references.as_ref().map(Vec::len)
        && models != Some(found)
    {
        return Err(ProvidedError::content(
            file,
            format!(
                "outputs of {found} reference models on the population, of {} on the audit records",
                models.unwrap_or(0)
            ),
        ));
    }
    if set
        .membership
        .as_ref()
        .is_some_and(|m| m.iter().any(|&m| m))
    {
        return Err(ProvidedError::content(
            file,
            "population records are known non-members, but some are marked members",
        ));
    }
    let none_in = set
        .references
        .as_ref()
        .map(|r| Array2::from_elem((set.len(), r.len()), false));
    let (signals, population_classes, _) = set_signals(set, file, choice, none_in)?;
    if population_classes != classes {
        return Err(ProvidedError::content(
            file,
            format!(
                "the population's outputs have {population_classes} classes, the audit records' {classes}"
            ),
        ));
    }
    Ok((signals, records_of(set, file)))
}

fn source_of(provenance: &Option<Provenance>, fallback: &str) -> String {
    provenance
        .as_ref()
        .map_or(fallback.to_string(), |p| p.source.clone())
}

/// The signals of one set, its number of classes, and how its class columns were read.
fn set_signals(
    set: &OutputSet,
    file: &str,
    choice: OutputKindChoice,
    keep: Option<Array2<bool>>,
) -> Result<(SetSignals, usize, Option<OutputKind>), ProvidedError> {
    let (target, kind) = set.target.signals(&set.labels, file, choice)?;
    let classes = set.target.classes(&set.labels);
    let mut signals = SetSignals::new(target);
    if let (Some(references), Some(keep)) = (&set.references, keep) {
        signals = signals.with_references(scores::reference_signals(
            references,
            &set.labels,
            keep,
            file,
            choice,
            classes,
        )?);
    }
    Ok((signals, classes, kind))
}

/// The records of a set as the report sees them: ids, labels, membership, no features.
fn records_of(set: &OutputSet, file: &str) -> Records {
    Records {
        source: file.to_string(),
        ids: set.ids.clone(),
        features: ArrayD::zeros(IxDyn(&[set.len(), 0])),
        feature_names: Vec::new(),
        labels: set.labels.clone(),
        membership: set.membership.clone(),
        classes: None,
        missing: None,
    }
}

/// Row indices as record ids.
pub(crate) fn index_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

#[cfg(test)]
mod tests;
