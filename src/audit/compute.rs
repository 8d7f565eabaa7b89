//! Computing signals, one part of one record set at a time: the target's answers to the
//! records, the reference models' matrix, and the answers to an attack's extra queries
//! (made by the attack's own [`QueryKind`] through the [`QueryOracle`] this module gives it).
//! Every answer of the target passes through the audit's output defences, each set of
//! queries with its own noise stream; reference models are never defended.

use crate::attack::{QueryAnswers, QueryKind, QueryOracle};
use crate::config::{AuditConfig, SignalConfig};
use crate::defence;
use crate::engine::{BackendUsed, Engine};
use crate::model::{Model, ModelOutput};
use crate::progress::{NoProgress, Progress, ProgressSink};
use crate::provenance::Provenance;
use crate::records::Records;
use crate::reference::{check_reference_models, model_output, reference_signals};
use crate::report::ModelSection;
use crate::signal::Signals;
use crate::signal_matrix::ReferenceSignals;
use ndarray::{Array2, ArrayD};
use std::cell::RefCell;
use std::ops::Range;

/// What the models of one audit run on.
#[derive(Clone, Copy)]
pub struct ModelInputs<'a> {
    pub engine: &'a Engine,
    pub target: &'a Model,
    /// The audit records, whichever set is being queried: statistics both sets share (the
    /// label-only noise scale) come from them.
    pub audit: &'a Records,
    /// The population records, when there are any.
    pub population: Option<&'a Records>,
    pub references: Option<ReferenceModels<'a>>,
}

/// K reference models and which audit records each trained on. Population records are
/// taken to be outside every reference model's training set.
#[derive(Clone, Copy)]
pub struct ReferenceModels<'a> {
    pub models: &'a [Model],
    /// One name per model (its file), for messages.
    pub names: &'a [String],
    /// `[audit records, models]`.
    pub keep: &'a Array2<bool>,
}

/// Which record set is queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSet {
    Audit,
    Population,
}

impl RecordSet {
    /// 0 for the audit records, 1 for the population: the noise stream of the set's own
    /// records, and part of every stream of its extra queries.
    pub fn index(self) -> u64 {
        match self {
            RecordSet::Audit => 0,
            RecordSet::Population => 1,
        }
    }
}

/// The target's answers to `features`, as its API releases them (after the output
/// defences), with their signals for records labelled `labels`; the output returned is the
/// model's own, before defences.
fn answers(
    engine: &Engine,
    model: &Model,
    records: &Records,
    config: &AuditConfig,
    stream: u64,
    progress: &mut dyn ProgressSink,
) -> crate::Result<(ModelOutput, Signals, BackendUsed)> {
    let (output, released, used) = released(engine, model, records, config, stream, progress)?;
    let signals = Signals::compute(&released, &records.labels, config.signals.temperature);
    Ok((output, signals, used))
}

/// The model's own output on `records` and what its API releases of it.
fn released(
    engine: &Engine,
    model: &Model,
    records: &Records,
    config: &AuditConfig,
    stream: u64,
    progress: &mut dyn ProgressSink,
) -> crate::Result<(ModelOutput, ModelOutput, BackendUsed)> {
    let settings = &config.signals;
    let (output, used) = model_output(engine, model, records, settings, progress)?;
    let released = defence::release(&settings.defences, &output, config.seed, stream);
    Ok((output, released, used))
}

/// The target on the records of one set.
pub fn target_signals(
    inputs: &ModelInputs<'_>,
    records: &Records,
    set: RecordSet,
    config: &AuditConfig,
    progress: &mut dyn ProgressSink,
) -> crate::Result<(ModelOutput, Signals, BackendUsed)> {
    if set == RecordSet::Population {
        records.check_population()?;
    }
    answers(
        inputs.engine,
        inputs.target,
        records,
        config,
        set.index(),
        progress,
    )
}

/// The keep-mask of a set: the audit records' own, or nobody IN for the population.
fn keep_of(references: &ReferenceModels<'_>, records: &Records, set: RecordSet) -> Array2<bool> {
    match set {
        RecordSet::Audit => references.keep.clone(),
        RecordSet::Population => Array2::from_elem((records.len(), references.models.len()), false),
    }
}

/// Every reference model on the records of one set (checked against the target first).
pub fn set_references(
    inputs: &ModelInputs<'_>,
    records: &Records,
    set: RecordSet,
    settings: &SignalConfig,
    probabilities: bool,
    progress: &mut dyn ProgressSink,
) -> crate::Result<Option<ReferenceSignals>> {
    let Some(refs) = inputs.references else {
        return Ok(None);
    };
    check_reference_models(inputs.target, refs.models, refs.names)?;
    reference_signals(
        inputs.engine,
        refs.models,
        records,
        keep_of(&refs, records, set),
        settings,
        probabilities,
        progress,
    )
    .map(Some)
}

/// The answers to `kind`'s queries about the records of one set.
pub fn set_queries(
    kind: &QueryKind,
    inputs: &ModelInputs<'_>,
    records: &Records,
    set: RecordSet,
    config: &AuditConfig,
    progress: &mut dyn ProgressSink,
) -> crate::Result<Option<QueryAnswers>> {
    (kind.make)(&Oracle::new(inputs, records, set, config, progress), config)
}

/// Parts `parts` of `kind`'s queries about one record set (a kind that splits into parts,
/// [`QueryKind::parts`]): one sum per record over those parts.
pub fn set_query_parts(
    kind: &QueryKind,
    inputs: &ModelInputs<'_>,
    records: &Records,
    set: RecordSet,
    config: &AuditConfig,
    parts: Range<usize>,
    progress: &mut dyn ProgressSink,
) -> crate::Result<Option<Vec<u32>>> {
    let Some(split) = &kind.parts else {
        return Ok(None);
    };
    let oracle = Oracle::new(inputs, records, set, config, progress);
    (split.make)(&oracle, config, parts).map(Some)
}

/// The target model as the report describes it, from its output on the audit records.
pub fn model_section(
    provenance: &Provenance,
    model: &Model,
    output: &ModelOutput,
    backend: BackendUsed,
) -> ModelSection {
    let info = model.info();
    ModelSection {
        source: provenance.source.clone(),
        sha256: provenance.sha256.clone(),
        input: info.input.to_string(),
        output: info.used_output.clone(),
        output_kind: output.kind,
        expanded_single_output: output.expanded_single,
        classes: output.classes(),
        parameters: info.parameters,
        backend: Some(backend),
    }
}

/// What a query kind may ask about one record set.
struct Oracle<'a, 'p> {
    inputs: &'a ModelInputs<'a>,
    records: &'a Records,
    set: RecordSet,
    config: &'a AuditConfig,
    progress: RefCell<&'p mut dyn ProgressSink>,
}

impl<'a, 'p> Oracle<'a, 'p> {
    fn new(
        inputs: &'a ModelInputs<'a>,
        records: &'a Records,
        set: RecordSet,
        config: &'a AuditConfig,
        progress: &'p mut dyn ProgressSink,
    ) -> Self {
        Oracle {
            inputs,
            records,
            set,
            config,
            progress: RefCell::new(progress),
        }
    }

    fn with_features(&self, features: ArrayD<f32>) -> Records {
        Records {
            features,
            ..self.records.clone()
        }
    }
}

impl QueryOracle for Oracle<'_, '_> {
    fn records(&self) -> &Records {
        self.records
    }

    fn audit_records(&self) -> &Records {
        self.inputs.audit
    }

    fn set_index(&self) -> u64 {
        self.set.index()
    }

    fn ask_target(&self, features: ArrayD<f32>, stream: u64) -> crate::Result<Signals> {
        let labels = &self.records.labels;
        let mut answers = self.ask_target_labelled(features, &[labels], stream)?;
        Ok(answers.remove(0))
    }

    fn ask_target_labelled(
        &self,
        features: ArrayD<f32>,
        label_sets: &[&[usize]],
        stream: u64,
    ) -> crate::Result<Vec<Signals>> {
        let queries = self.with_features(features);
        let (_, output, _) = released(
            self.inputs.engine,
            self.inputs.target,
            &queries,
            self.config,
            stream,
            &mut NoProgress,
        )?;
        let temperature = self.config.signals.temperature;
        Ok(label_sets
            .iter()
            .map(|labels| Signals::compute(&output, labels, temperature))
            .collect())
    }

    fn target(&self) -> &Model {
        self.inputs.target
    }

    fn population(&self) -> Option<&Records> {
        self.inputs.population
    }

    fn ask_target_about(&self, records: &Records, stream: u64) -> crate::Result<Signals> {
        let (_, output, _) = released(
            self.inputs.engine,
            self.inputs.target,
            records,
            self.config,
            stream,
            &mut NoProgress,
        )?;
        Ok(Signals::compute(
            &output,
            &records.labels,
            self.config.signals.temperature,
        ))
    }

    fn ask_references(&self, features: ArrayD<f32>) -> crate::Result<Option<ReferenceSignals>> {
        let Some(refs) = self.inputs.references else {
            return Ok(None);
        };
        let queries = self.with_features(features);
        reference_signals(
            self.inputs.engine,
            refs.models,
            &queries,
            keep_of(&refs, self.records, self.set),
            &self.config.signals,
            true,
            &mut NoProgress,
        )
        .map(Some)
    }

    fn progress(&self, progress: Progress<'_>) {
        self.progress.borrow_mut().update(progress);
    }
}
