//! A session: what the user loaded (the target, the audit records, the population, the
//! reference models and their keep-mask) and the signals computed from it, behind one API
//! that the CLI and the page both drive.
//!
//! Each part of the cached signals is kept with the settings it was computed under (its
//! key): the target's answers depend on how outputs are read and on the output defences,
//! the reference matrix on how outputs are read, each kind of extra query on its own
//! settings too. A request recomputes exactly the parts it needs whose key changed, and
//! drops every part whose key no longer holds, so attacks never read stale signals: a new
//! attack that needs the references runs the references only; a new defence or seed reruns
//! the target's answers and the queries they affect; a new attack parameter or metric
//! setting runs no model at all.

use crate::attack::{
    self, Attack, Available, Need, QueryKind, ReferenceUse, catalogue, default_attacks, query_kinds,
};
mod cache;
mod query_shares;

use crate::audit::compute::ReferenceModels;
use crate::audit::measure::{
    MeasuredAttack, ScoredAttack, ScoresMadeElsewhere, assemble, measure_attacks, score_attacks,
};
use crate::audit::{AuditData, AuditOutcome, AuditSignals};
use crate::clock;
use crate::config::AuditConfig;
use crate::defence::Defence;
use crate::engine::Engine;
use crate::model::Model;
use crate::progress::ProgressSink;
use crate::provenance::Provenance;
use crate::records::Records;
use crate::reference::check_reference_models;
use crate::signals_file::{Packing, SignalsFile};
use cache::{Cache, EarlyAnswers, Inputs, Plan};
pub use cache::{PendingRuns, QueryAhead, QueryPartRange};
use ndarray::Array2;
pub use query_shares::share_query_parts;
use serde::Serialize;
use thiserror::Error;

/// Something a session was asked before it could answer.
#[derive(Debug, Error, PartialEq)]
pub enum SessionError {
    #[error("load a model first")]
    NoTarget,
    #[error("load the audit records first")]
    NoRecords,
    #[error(
        "the keep-mask is {found:?} but there are {records} audit records and {models} reference models (it must be records × models)"
    )]
    KeepShape {
        found: (usize, usize),
        records: usize,
        models: usize,
    },
    #[error("attack '{attack}' needs {need}, which this signals file does not hold")]
    NotInSignalsFile { attack: &'static str, need: String },
    #[error("attack '{attack}' needs {need}, which the provided outputs do not hold")]
    NotInProvidedOutputs { attack: &'static str, need: String },
    #[error("the inputs changed while another worker scored attacks for this audit: run it again")]
    ChangedMidAudit,
    #[error("another worker was to score {expected:?} for this audit, and returned other scores")]
    ScoresElsewhere { expected: Vec<&'static str> },
    #[error("another worker's {kind} queries cannot be taken: {why}")]
    QueryParts { kind: String, why: String },
}

/// A part of the signals that a request computed, and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Computed {
    /// What ran, in words ("the target on the audit records").
    pub part: String,
    pub seconds: f64,
}

/// One audit through a session: its outcome, what had to be computed for it (nothing when
/// the cache served every signal), and how long the models and the attacks took.
#[derive(Debug, Clone)]
pub struct AuditRun {
    pub outcome: AuditOutcome,
    pub computed: Vec<Computed>,
    pub signal_seconds: f64,
    pub attack_seconds: f64,
}

/// A request checked against the inputs ([`Session::request`]).
struct Request {
    /// Its settings as it runs under them.
    config: AuditConfig,
    attacks: Vec<Box<dyn Attack>>,
    /// The signals its attacks read.
    plan: Plan,
}

/// An audit begun with some attacks left to another worker ([`Session::begin_audit`]).
pub struct AuditUnderway {
    config: AuditConfig,
    /// The attacks' ids in the order the report lists them.
    order: Vec<&'static str>,
    /// The attacks measured so far.
    measured: Vec<MeasuredAttack>,
    /// The attacks whose scores another worker makes.
    waiting: Vec<Box<dyn Attack>>,
    with_references: bool,
    computed: Vec<Computed>,
    signal_seconds: f64,
    attack_seconds: f64,
    /// The session's inputs and signals it was begun over.
    generation: u64,
}

impl AuditRun {
    /// Whether every signal came from the cache (no model ran).
    pub fn cached(&self) -> bool {
        self.computed.is_empty()
    }
}

/// A loaded input with where it came from.
struct Loaded<T> {
    value: T,
    provenance: Provenance,
}

/// The reference models in keep-mask column order, and the keep-mask.
#[derive(Default)]
struct References {
    models: Vec<Model>,
    names: Vec<String>,
    files: Vec<Provenance>,
    keep: Option<(Array2<bool>, Provenance)>,
}

impl References {
    /// The models with their keep-mask, once both are loaded.
    fn usable(&self) -> Option<ReferenceModels<'_>> {
        let (keep, _) = self.keep.as_ref()?;
        (!self.models.is_empty()).then_some(ReferenceModels {
            models: &self.models,
            names: &self.names,
            keep,
        })
    }
}

/// Signals read from a file: nothing can be recomputed, and the settings they were made
/// under are the file's.
struct Fixed {
    temperature: f64,
    /// The signals came from provided outputs ([`crate::provided`]), not a signals file.
    provided: bool,
}

/// What the user loaded and what has been computed from it.
#[derive(Default)]
pub struct Session {
    engine: Engine,
    target: Option<Loaded<Model>>,
    records: Option<Loaded<Records>>,
    population: Option<Loaded<Records>>,
    references: References,
    cache: Option<Cache>,
    /// Query answers made ahead of the next audit ([`Session::prepare_queries`]).
    early: Vec<EarlyAnswers>,
    /// Counts changes to the inputs and the signals, so that an audit finished after an
    /// await can tell that it still stands on what it began with.
    generation: u64,
    fixed: Option<Fixed>,
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    /// A session over the signals of a file written by `mialab signals`: its attacks and
    /// metrics can be rerun, its models not.
    pub fn from_signals_file(file: SignalsFile) -> Session {
        let loaded = |records: Records, provenance: Provenance| Loaded {
            value: records,
            provenance,
        };
        let population = file.population.zip(file.meta.population.clone());
        Session {
            records: Some(loaded(file.records, file.meta.records.clone())),
            population: population.map(|(r, p)| loaded(r, p)),
            cache: Some(Cache::fixed(file.signals)),
            fixed: Some(Fixed {
                temperature: file.meta.temperature,
                provided: false,
            }),
            ..Session::default()
        }
    }

    /// A session over outputs the target already gave ([`crate::provided`]): like a signals
    /// file, no model runs.
    pub fn from_provided_outputs(file: SignalsFile) -> Session {
        let mut session = Session::from_signals_file(file);
        if let Some(fixed) = &mut session.fixed {
            fixed.provided = true;
        }
        session
    }

    /// The target model; forgets every computed signal.
    pub fn set_target(&mut self, model: Model, provenance: Provenance) {
        self.target = Some(Loaded {
            value: model,
            provenance,
        });
        self.cache = None;
        self.early.clear();
        self.generation += 1;
    }

    /// The audit records; forgets every computed signal and the keep-mask (which referred to
    /// the records it replaces).
    pub fn set_records(&mut self, records: Records, provenance: Provenance) {
        self.records = Some(Loaded {
            value: records,
            provenance,
        });
        self.references.keep = None;
        self.cache = None;
        self.early.clear();
        self.generation += 1;
    }

    /// The population records (known non-members), or none; forgets the population's signals.
    pub fn set_population(&mut self, population: Option<(Records, Provenance)>) {
        self.population = population.map(|(value, provenance)| Loaded { value, provenance });
        self.early.clear();
        self.generation += 1;
        if let Some(cache) = &mut self.cache {
            cache.forget_population();
        }
    }

    /// Adds a reference model (its keep-mask column follows the order they are added); the
    /// keep-mask and every reference signal are forgotten. Returns how many there are.
    pub fn add_reference(&mut self, model: Model, provenance: Provenance) -> usize {
        self.references.models.push(model);
        self.references.names.push(provenance.source.clone());
        self.references.files.push(provenance);
        self.references.keep = None;
        self.forget_references();
        self.references.models.len()
    }

    /// Forgets the reference models, their keep-mask and their signals.
    pub fn clear_references(&mut self) {
        self.references = References::default();
        self.forget_references();
    }

    /// Which audit records each reference model trained on, `[records, models]`.
    pub fn set_keep_mask(
        &mut self,
        keep: Array2<bool>,
        provenance: Provenance,
    ) -> Result<(), SessionError> {
        let records = self.records()?.len();
        let models = self.references.models.len();
        if keep.dim() != (records, models) {
            return Err(SessionError::KeepShape {
                found: keep.dim(),
                records,
                models,
            });
        }
        self.references.keep = Some((keep, provenance));
        self.forget_references();
        Ok(())
    }

    pub fn target(&self) -> Option<&Model> {
        self.target.as_ref().map(|t| &t.value)
    }

    pub fn records(&self) -> Result<&Records, SessionError> {
        self.records
            .as_ref()
            .map(|r| &r.value)
            .ok_or(SessionError::NoRecords)
    }

    pub fn population(&self) -> Option<&Records> {
        self.population.as_ref().map(|p| &p.value)
    }

    /// The reference models, in keep-mask column order.
    pub fn loaded_references(&self) -> &[Model] {
        &self.references.models
    }

    /// The engine that runs this session's models, to hand it outputs computed beforehand.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The reference models' names, in keep-mask column order.
    pub fn reference_names(&self) -> &[String] {
        &self.references.names
    }

    pub fn keep_mask(&self) -> Option<&Array2<bool>> {
        self.references.keep.as_ref().map(|(k, _)| k)
    }

    fn forget_references(&mut self) {
        self.generation += 1;
        if let Some(cache) = &mut self.cache {
            cache.forget_references();
        }
    }

    /// What the loaded inputs (or, for a signals file, its signals) let the attacks use.
    pub fn available(&self) -> Available {
        if self.fixed.is_some() {
            let cache = self
                .cache
                .as_ref()
                .expect("a signals file's session holds them");
            return Available::of_signals(&cache.signals.audit, cache.signals.population.as_ref());
        }
        let population = self.population.is_some();
        let references = match self.reference_models() {
            None => ReferenceUse::NotUsed,
            Some(r) if r.keep.iter().any(|&k| k) => ReferenceUse::InAndOut,
            Some(_) => ReferenceUse::OutOnly,
        };
        let with_references = references != ReferenceUse::NotUsed;
        Available {
            population,
            references,
            population_references: population && with_references,
            reference_probabilities: with_references,
            target_probabilities: true,
            queries: query_kinds().map(|k| k.id).collect(),
        }
    }

    /// Every attack with what it lacks here (nothing: it can run).
    pub fn availability(&self) -> Vec<(&'static str, Vec<Need>)> {
        let available = self.available();
        catalogue()
            .map(|e| (e.info.id, e.info.needs.unmet(&available)))
            .collect()
    }

    /// Runs the audit `config` asks for: computes the signals it needs that are not cached
    /// under its settings, then scores and measures its attacks.
    pub fn audit(
        &mut self,
        config: &AuditConfig,
        progress: &mut dyn ProgressSink,
    ) -> crate::Result<AuditRun> {
        let underway = self.begin_audit(config, &[], progress)?;
        self.finish_audit(underway, Vec::new(), progress)
    }

    /// Begins the audit `config` asks for with the attacks named in `elsewhere` left to be
    /// scored by another worker (the page's, from this session's signals file): computes the
    /// signals, then scores and measures every other attack. [`Session::finish_audit`] takes
    /// the other worker's scores.
    pub fn begin_audit(
        &mut self,
        config: &AuditConfig,
        elsewhere: &[String],
        progress: &mut dyn ProgressSink,
    ) -> crate::Result<AuditUnderway> {
        let Request {
            config,
            attacks,
            plan,
        } = self.request(config)?;
        let started = clock::seconds();
        let computed = self.prepare(&config, &plan, progress)?;
        let signal_seconds = clock::seconds() - started;
        let started = clock::seconds();
        let cache = self.cache.as_ref().expect("prepared");
        let order = attacks.iter().map(|a| a.info().id).collect();
        let (here, waiting): (Vec<_>, Vec<_>) = attacks
            .into_iter()
            .partition(|a| !elsewhere.iter().any(|id| id == a.info().id));
        let input = self.audit_data()?;
        let scored = score_attacks(&input, &cache.signals, &here, &config, progress)?;
        let measured = measure_attacks(&input, scored, &config, progress)?;
        Ok(AuditUnderway {
            order,
            with_references: plan.references || self.fixed.is_some(),
            config,
            measured,
            waiting,
            computed,
            signal_seconds,
            attack_seconds: clock::seconds() - started,
            generation: self.generation,
        })
    }

    /// Finishes an audit begun with [`Session::begin_audit`]: `made` holds the scores of the
    /// attacks it left to another worker, which are measured here; the report lists every
    /// attack in the order the request named them, as [`Session::audit`] would.
    pub fn finish_audit(
        &mut self,
        underway: AuditUnderway,
        made: Vec<ScoresMadeElsewhere>,
        progress: &mut dyn ProgressSink,
    ) -> crate::Result<AuditRun> {
        if underway.generation != self.generation {
            return Err(SessionError::ChangedMidAudit.into());
        }
        let started = clock::seconds();
        let cache = self.cache.as_ref().expect("prepared");
        let input = self.audit_data()?;
        let refused = || SessionError::ScoresElsewhere {
            expected: underway.waiting.iter().map(|a| a.info().id).collect(),
        };
        if made.len() != underway.waiting.len() {
            return Err(refused().into());
        }
        let scored = made
            .into_iter()
            .zip(&underway.waiting)
            .map(|(made, attack)| {
                ScoredAttack::from_elsewhere(
                    made,
                    attack.as_ref(),
                    &input,
                    &cache.signals,
                    &underway.config,
                )
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(refused)?;
        let config = &underway.config;
        let mut measured = measure_attacks(&input, scored, config, progress)?;
        measured.extend(underway.measured);
        measured.sort_by_key(|m| underway.order.iter().position(|&id| id == m.id()));
        let outcome = assemble(
            &input,
            &cache.signals,
            config,
            underway.with_references,
            measured,
        );
        Ok(AuditRun {
            outcome,
            computed: underway.computed,
            signal_seconds: underway.signal_seconds,
            attack_seconds: underway.attack_seconds + clock::seconds() - started,
        })
    }

    /// Scores the attacks `config` names over this session's signals for another worker's
    /// audit ([`Session::finish_audit`] measures them); nothing is measured here.
    pub fn score_for_elsewhere(
        &mut self,
        config: &AuditConfig,
        progress: &mut dyn ProgressSink,
    ) -> crate::Result<Vec<ScoresMadeElsewhere>> {
        let Request {
            config,
            attacks,
            plan,
        } = self.request(config)?;
        self.prepare(&config, &plan, progress)?;
        let cache = self.cache.as_ref().expect("prepared");
        let input = self.audit_data()?;
        let scored = score_attacks(&input, &cache.signals, &attacks, &config, progress)?;
        Ok(scored
            .into_iter()
            .map(ScoredAttack::made_elsewhere)
            .collect())
    }

    /// The attacks of `config` worth scoring in a worker of their own (they fit a model),
    /// when there are others to score meanwhile.
    pub fn attacks_to_score_elsewhere(&self, config: &AuditConfig) -> crate::Result<Vec<String>> {
        let attacks = self.choose(&self.effective(config))?;
        let fitting: Vec<String> = attacks
            .iter()
            .filter(|a| a.fits_a_model())
            .map(|a| a.info().id.to_string())
            .collect();
        Ok(if fitting.len() < attacks.len() {
            fitting
        } else {
            Vec::new()
        })
    }

    /// The records an audit scores and measures.
    fn audit_data(&self) -> crate::Result<AuditData<'_>> {
        let records = self.records.as_ref().ok_or(SessionError::NoRecords)?;
        Ok(AuditData {
            records: &records.value,
            records_provenance: records.provenance.clone(),
            population: self
                .population
                .as_ref()
                .map(|p| (&p.value, p.provenance.clone())),
        })
    }

    /// The runs of the target and of the reference models over whole record sets that
    /// [`Session::audit`] with `config` would make now (none where the cache holds them, or
    /// the signals came from a file).
    pub fn pending_runs(&self, config: &AuditConfig) -> crate::Result<PendingRuns> {
        if self.fixed.is_some() || self.target.is_none() || self.records.is_none() {
            return Ok(PendingRuns::default());
        }
        let config = self.effective(config);
        let attacks = self.choose(&config)?;
        let plan = self.plan(&attacks, &config);
        Ok(cache::pending_runs(
            self.cache.as_ref(),
            &config,
            &plan,
            self.population.is_some(),
        ))
    }

    /// Computes every signal the attacks `config` names (every attack the inputs allow, when
    /// it names none) read, e.g. to write a signals file; says what ran.
    pub fn compute_signals(
        &mut self,
        config: &AuditConfig,
        progress: &mut dyn ProgressSink,
    ) -> crate::Result<Vec<Computed>> {
        let Request { config, plan, .. } = self.request(config)?;
        self.prepare(&config, &plan, progress)
    }

    /// Makes now the extra queries the next [`Session::audit`] with `config` would make that
    /// run only the target, so that they can run while something else computes the reference
    /// models' signals (the page's model workers); the audit takes them if the inputs and
    /// settings they were made under still hold, and says how long they took.
    ///
    /// Of a kind that splits into parts ([`Session::queries_to_make`]), the parts named in
    /// `elsewhere` are left to other workers, whose sums [`Session::accept_query_parts`] adds;
    /// the audit takes such queries only once every part is in, else it makes them itself.
    pub fn prepare_queries(
        &mut self,
        config: &AuditConfig,
        elsewhere: &[QueryPartRange],
        progress: &mut dyn ProgressSink,
    ) -> crate::Result<()> {
        self.early.clear();
        if self.fixed.is_some() {
            return Ok(());
        }
        let Request { config, plan, .. } = self.request(config)?;
        let inputs = self.inputs()?;
        let cache = self.cache.as_ref();
        let made = cache::early_queries(cache, &inputs, &config, &plan, elsewhere, progress)?;
        self.early = made;
        Ok(())
    }

    /// The queries the next audit with `config` would make that run only the target, each
    /// kind and record set with the parts it splits into: what [`Session::prepare_queries`]
    /// would make, and can leave in part to other workers.
    pub fn queries_to_make(&self, config: &AuditConfig) -> crate::Result<Vec<QueryAhead>> {
        if self.fixed.is_some() {
            return Ok(Vec::new());
        }
        let Request { config, plan, .. } = self.request(config)?;
        let inputs = self.inputs()?;
        Ok(cache::queries_ahead(
            self.cache.as_ref(),
            &inputs,
            &config,
            &plan,
        ))
    }

    /// Adds another worker's sums over `part` of queries begun by
    /// [`Session::prepare_queries`] with that part left to it.
    pub fn accept_query_parts(
        &mut self,
        part: &QueryPartRange,
        sums: &[u32],
    ) -> Result<(), SessionError> {
        cache::accept_parts(&mut self.early, part, sums)
    }

    /// The query answers made ahead that the next audit may take, as it would name them.
    pub fn queries_ahead(&self) -> Vec<Computed> {
        self.early.iter().map(EarlyAnswers::computed).collect()
    }

    /// The signals computed so far.
    pub fn signals(&self) -> Option<&AuditSignals> {
        self.cache.as_ref().map(|c| &c.signals)
    }

    /// The signals computed so far as a signals file (`.npz` bytes) packed as `packing`
    /// says; `temperature` is the one they were computed at.
    pub fn signals_file(&self, temperature: f64, packing: Packing) -> crate::Result<Vec<u8>> {
        let signals = self.signals().ok_or(SessionError::NoTarget)?;
        let records = self.records.as_ref().ok_or(SessionError::NoRecords)?;
        Ok(crate::signals_file::write(
            signals,
            (&records.value, &records.provenance),
            self.population.as_ref().map(|p| (&p.value, &p.provenance)),
            temperature,
            packing,
        )?)
    }

    /// A request's settings as it runs under them, its attacks, and the signals they read,
    /// checked against the inputs before any model runs.
    fn request(&self, config: &AuditConfig) -> crate::Result<Request> {
        let config = self.effective(config);
        config.validate()?;
        let attacks = self.choose(&config)?;
        let plan = self.plan(&attacks, &config);
        self.check(&attacks, &plan, &config)?;
        Ok(Request {
            config,
            attacks,
            plan,
        })
    }

    /// The settings a request runs under: a signals file's own temperature and defences.
    fn effective(&self, config: &AuditConfig) -> AuditConfig {
        let mut config = config.clone();
        if let (Some(fixed), Some(cache)) = (&self.fixed, &self.cache) {
            config.signals.temperature = fixed.temperature;
            config.signals.defences = cache.signals.defences.clone();
        }
        config
    }

    /// The attacks to run, each checked against what the inputs offer before any model runs.
    fn choose(&self, config: &AuditConfig) -> crate::Result<Vec<Box<dyn Attack>>> {
        let ids: Vec<String> = if config.attacks.is_empty() {
            default_attacks(&self.available())
                .into_iter()
                .map(str::to_string)
                .collect()
        } else {
            config.attacks.clone()
        };
        Ok(ids
            .iter()
            .map(|id| attack::build(id, &config.params))
            .collect::<Result<_, _>>()?)
    }

    /// Refuses, before any model runs, reference models that cannot stand beside the target
    /// and attacks whose needs the inputs cannot meet (unless a label-only API blocks them).
    fn check(
        &self,
        attacks: &[Box<dyn Attack>],
        plan: &Plan,
        config: &AuditConfig,
    ) -> crate::Result<()> {
        if let (true, Some(target), Some(refs)) =
            (plan.references, self.target(), self.references.usable())
        {
            check_reference_models(target, refs.models, refs.names)?;
        }
        let available = self.available();
        let labels_only = crate::defence::releases_labels_only(&self.defences(config));
        for attack in attacks {
            let info = attack.info();
            let blocked = labels_only && !info.labels_suffice;
            if let (false, Some(need)) = (blocked, info.needs.unmet(&available).first()) {
                return Err(match &self.fixed {
                    Some(Fixed { provided: true, .. }) => SessionError::NotInProvidedOutputs {
                        attack: info.id,
                        need: need.to_string(),
                    }
                    .into(),
                    Some(_) => SessionError::NotInSignalsFile {
                        attack: info.id,
                        need: need.to_string(),
                    }
                    .into(),
                    None => attack::AttackError::Missing {
                        attack: info.id,
                        need: *need,
                    }
                    .into(),
                });
            }
        }
        Ok(())
    }

    fn defences(&self, config: &AuditConfig) -> Vec<Defence> {
        match (&self.fixed, &self.cache) {
            (Some(_), Some(cache)) => cache.signals.defences.clone(),
            _ => config.signals.defences.clone(),
        }
    }

    /// The parts of the signals `attacks` read (their queries in catalogue order).
    fn plan(&self, attacks: &[Box<dyn Attack>], _config: &AuditConfig) -> Plan {
        let infos: Vec<&attack::AttackInfo> = attacks.iter().map(|a| a.info()).collect();
        let queries: Vec<&'static QueryKind> = query_kinds()
            .filter(|k| infos.iter().any(|i| i.queries().any(|q| q.id == k.id)))
            .collect();
        let with_references = self.reference_models().is_some() || self.fixed.is_some();
        Plan {
            references: with_references
                && (infos.iter().any(|i| i.needs.references_used())
                    || queries.iter().any(|k| k.runs_references)),
            probabilities: infos.iter().any(|i| i.needs.reference_probabilities),
            queries,
        }
    }

    fn reference_models(&self) -> Option<ReferenceModels<'_>> {
        self.references.usable()
    }

    /// Brings the cache to what `plan` needs under `config` (a signals file's session
    /// serves what the file holds).
    fn prepare(
        &mut self,
        config: &AuditConfig,
        plan: &Plan,
        progress: &mut dyn ProgressSink,
    ) -> crate::Result<Vec<Computed>> {
        let early = std::mem::take(&mut self.early);
        if self.fixed.is_some() {
            return Ok(Vec::new());
        }
        let mut cache = self.cache.take();
        let computed = self
            .inputs()
            .and_then(|inputs| cache::prepare(&mut cache, &inputs, early, config, plan, progress));
        self.cache = cache;
        if !computed.as_ref().is_ok_and(Vec::is_empty) {
            self.generation += 1;
        }
        computed
    }

    /// What the models run on.
    fn inputs(&self) -> crate::Result<Inputs<'_>> {
        Ok(Inputs {
            engine: &self.engine,
            target: self.target.as_ref().ok_or(SessionError::NoTarget)?,
            records: self.records.as_ref().ok_or(SessionError::NoRecords)?,
            population: self.population.as_ref(),
            references: self.references.usable(),
            keep_provenance: self.references.keep.as_ref().map(|(_, p)| p),
            reference_files: &self.references.files,
        })
    }
}
