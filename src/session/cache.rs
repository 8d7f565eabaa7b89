//! The session's cache: every part of the signals of both record sets, each kept with the
//! settings it was computed under (its key), and the one function that brings it to what a
//! request needs, computing what is missing or stale and dropping what no longer holds.

use super::{Computed, Loaded, SessionError};
use crate::attack::{QueryAnswers, QueryKind, query_kinds};
use crate::audit::AuditSignals;
use crate::audit::compute::{
    ModelInputs, RecordSet, ReferenceModels, model_section, set_queries, set_query_parts,
    set_references, target_signals,
};
use crate::clock;
use crate::config::AuditConfig;
use crate::defence::Defence;
use crate::engine::Engine;
use crate::model::Model;
use crate::progress::ProgressSink;
use crate::provenance::Provenance;
use crate::records::Records;
use crate::set_signals::SetSignals;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The settings each cached part of one record set was computed under.
#[derive(Debug, Clone, Default)]
pub(super) struct Keys {
    target: Option<Value>,
    references: Option<Value>,
    queries: BTreeMap<&'static str, Value>,
}

/// The signals computed so far.
pub(super) struct Cache {
    pub(super) signals: AuditSignals,
    pub(super) audit: Keys,
    pub(super) population: Keys,
}

impl Cache {
    /// A cache over signals that can be neither recomputed nor invalidated (a file's).
    pub(super) fn fixed(signals: AuditSignals) -> Cache {
        Cache {
            signals,
            audit: Keys::default(),
            population: Keys::default(),
        }
    }

    /// Drops the reference signals and the queries that ran the reference models.
    pub(super) fn forget_references(&mut self) {
        self.signals.reference_provenance = None;
        self.signals.reference_models.clear();
        let runs_references: Vec<&QueryKind> =
            query_kinds().filter(|k| k.runs_references).collect();
        let sets = [
            (Some(&mut self.signals.audit), &mut self.audit),
            (self.signals.population.as_mut(), &mut self.population),
        ];
        for (set, keys) in sets {
            keys.references = None;
            if let Some(set) = set {
                set.references = None;
                for kind in &runs_references {
                    set.queries.remove(kind);
                    keys.queries.remove(kind.id);
                }
            }
        }
    }

    /// Drops the population's signals.
    pub(super) fn forget_population(&mut self) {
        self.signals.population = None;
        self.population = Keys::default();
    }
}

/// Which parts a request needs.
pub(super) struct Plan {
    pub(super) references: bool,
    pub(super) probabilities: bool,
    pub(super) queries: Vec<&'static QueryKind>,
}

/// What the models run on, as the session holds it.
pub(super) struct Inputs<'a> {
    pub(super) engine: &'a Engine,
    pub(super) target: &'a Loaded<Model>,
    pub(super) records: &'a Loaded<Records>,
    pub(super) population: Option<&'a Loaded<Records>>,
    pub(super) references: Option<ReferenceModels<'a>>,
    pub(super) keep_provenance: Option<&'a Provenance>,
    pub(super) reference_files: &'a [Provenance],
}

/// Brings the cache to what `plan` needs under `config`, computing what is missing or
/// stale and dropping what no longer holds.
pub(super) fn prepare(
    cache: &mut Option<Cache>,
    loaded: &Inputs<'_>,
    mut early: Vec<EarlyAnswers>,
    config: &AuditConfig,
    plan: &Plan,
    progress: &mut dyn ProgressSink,
) -> crate::Result<Vec<Computed>> {
    let (target, records) = (loaded.target, loaded.records);
    let inputs = ModelInputs {
        engine: loaded.engine,
        target: &target.value,
        audit: &records.value,
        population: loaded.population.map(|p| &p.value),
        references: loaded.references,
    };
    let mut computed = Vec::new();
    let mut timed = |part: String, seconds: f64| computed.push(Computed { part, seconds });
    let target_key = target_key(config);
    let references_key = references_key(config);

    // The target on the audit records: every other part is kept beside it.
    if !holds_target_on_audit(cache.as_ref(), &target_key) {
        let started = clock::seconds();
        let (output, signals, backend) =
            target_signals(&inputs, &records.value, RecordSet::Audit, config, progress)?;
        timed(
            "the target on the audit records".to_string(),
            clock::seconds() - started,
        );
        let section = model_section(&target.provenance, &target.value, &output, backend);
        match cache {
            Some(cache) => {
                cache.signals.model = section;
                cache.signals.defences = config.signals.defences.clone();
                cache.signals.audit.target = signals;
                cache.audit.target = Some(target_key.clone());
            }
            None => {
                *cache = Some(Cache {
                    signals: AuditSignals {
                        model: section,
                        record_shape: target.value.info().record_shape.clone(),
                        defences: config.signals.defences.clone(),
                        reference_provenance: None,
                        reference_models: Vec::new(),
                        audit: SetSignals::new(signals),
                        population: None,
                    },
                    audit: Keys {
                        target: Some(target_key.clone()),
                        ..Keys::default()
                    },
                    population: Keys::default(),
                });
            }
        }
    }
    let cache = cache.as_mut().expect("just filled");

    // The target on the population.
    if let Some(population) = &loaded.population {
        if !holds_target_on_population(cache, &target_key) {
            let started = clock::seconds();
            let (_, signals, _) = target_signals(
                &inputs,
                &population.value,
                RecordSet::Population,
                config,
                progress,
            )?;
            timed(
                "the target on the population".to_string(),
                clock::seconds() - started,
            );
            match &mut cache.signals.population {
                Some(set) => set.target = signals,
                None => {
                    cache.signals.population = Some(SetSignals::new(signals));
                    cache.population = Keys::default();
                }
            }
            cache.population.target = Some(target_key.clone());
        }
    } else {
        cache.signals.population = None;
        cache.population = Keys::default();
    }

    // The reference models, on both sets.
    let sets = [
        (RecordSet::Audit, &records.value),
        (
            RecordSet::Population,
            loaded.population.map_or(&records.value, |p| &p.value),
        ),
    ];
    for (set, set_records) in sets {
        let (signals, keys) = match set {
            RecordSet::Audit => (Some(&mut cache.signals.audit), &mut cache.audit),
            RecordSet::Population => (cache.signals.population.as_mut(), &mut cache.population),
        };
        let Some(signals) = signals else { continue };
        let holds = holds_references(keys, signals, &references_key, plan);
        if plan.references && !holds {
            let started = clock::seconds();
            signals.references = set_references(
                &inputs,
                set_records,
                set,
                &config.signals,
                plan.probabilities,
                progress,
            )?;
            keys.references = Some(references_key.clone());
            timed(
                format!("the reference models on the {}", set_name(set)),
                clock::seconds() - started,
            );
        } else if keys.references.as_ref() != Some(&references_key) {
            signals.references = None;
            keys.references = None;
        }
        if set == RecordSet::Audit {
            cache.signals.reference_provenance = signals
                .references
                .as_ref()
                .and(loaded.keep_provenance.cloned());
            cache.signals.reference_models = match signals.references {
                Some(_) => loaded.reference_files.to_vec(),
                None => Vec::new(),
            };
        }
    }

    // The extra queries the attacks read (those made early, if their settings still hold).
    for kind in query_kinds() {
        let key = query_key(kind, config);
        for (set, set_records) in sets {
            let (signals, keys) = match set {
                RecordSet::Audit => (Some(&mut cache.signals.audit), &mut cache.audit),
                RecordSet::Population => (cache.signals.population.as_mut(), &mut cache.population),
            };
            let Some(signals) = signals else { continue };
            let wanted =
                plan.queries.contains(&kind) && (set == RecordSet::Audit || kind.population);
            let holds = keys.queries.get(kind.id) == Some(&key);
            if wanted && !holds {
                let taken = take_early(&mut early, kind, set, &key, set_records, config);
                let (answers, seconds) = match taken {
                    Some(taken) => taken,
                    None => {
                        let started = clock::seconds();
                        let answers =
                            set_queries(kind, &inputs, set_records, set, config, progress)?;
                        (answers, clock::seconds() - started)
                    }
                };
                match answers {
                    Some(answers) => {
                        signals.queries.insert(kind, answers);
                        timed(format!("{} on the {}", kind.id, set_name(set)), seconds);
                    }
                    None => signals.queries.remove(kind),
                }
                keys.queries.insert(kind.id, key.clone());
            } else if !holds {
                signals.queries.remove(kind);
                keys.queries.remove(kind.id);
            }
        }
    }
    Ok(computed)
}

/// Answers to one kind of extra query about one record set, made before the audit (the page
/// makes them in the audit's worker while other workers run the models), with the settings
/// they were made under; [`prepare`] takes them instead of asking again if those still hold.
pub(super) struct EarlyAnswers {
    kind: &'static str,
    set: RecordSet,
    key: Value,
    made: Made,
    seconds: f64,
}

/// What was made of one kind's queries about one set ahead of the audit.
enum Made {
    Whole(Option<QueryAnswers>),
    /// The sums over the parts made so far of a kind that splits into parts
    /// ([`QueryKind::parts`]); the others are made by other workers and added as they come
    /// ([`accept_parts`]). The audit takes them once every part is in.
    Parts {
        sums: Vec<u32>,
        made: Vec<bool>,
    },
}

/// Parts `start..end` of one kind's queries about one record set (0: the audit records,
/// 1: the population): those a kind that splits offers, or those another worker makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPartRange {
    pub kind: String,
    pub set: usize,
    pub start: usize,
    pub end: usize,
}

/// One kind's queries about one record set (0: the audit records, 1: the population) that
/// run only the target, still to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAhead {
    pub kind: &'static str,
    pub set: usize,
    /// Records in the set.
    pub records: usize,
    /// The parts they split into, or `None` where they are made whole.
    pub parts: Option<usize>,
}

impl EarlyAnswers {
    /// What was made, as [`prepare`] names it when it makes it itself.
    pub(super) fn computed(&self) -> Computed {
        Computed {
            part: format!("{} on the {}", self.kind, set_name(self.set)),
            seconds: self.seconds,
        }
    }
}

/// The answers [`prepare`] would make now for `plan`'s queries that run only the target (the
/// others wait for the reference models), made ahead of it; of a kind that splits into parts,
/// only the parts not in `elsewhere` (other workers make those: [`accept_parts`]).
pub(super) fn early_queries(
    cache: Option<&Cache>,
    loaded: &Inputs<'_>,
    config: &AuditConfig,
    plan: &Plan,
    elsewhere: &[QueryPartRange],
    progress: &mut dyn ProgressSink,
) -> crate::Result<Vec<EarlyAnswers>> {
    let inputs = ModelInputs {
        engine: loaded.engine,
        target: &loaded.target.value,
        audit: &loaded.records.value,
        population: loaded.population.map(|p| &p.value),
        references: None,
    };
    let mut early = Vec::new();
    for (kind, set, set_records, key) in target_queries_pending(cache, loaded, config, plan) {
        let started = clock::seconds();
        let theirs: Vec<&QueryPartRange> = elsewhere
            .iter()
            .filter(|p| p.kind == kind.id && p.set as u64 == set.index())
            .collect();
        let made = match &kind.parts {
            Some(split) if !theirs.is_empty() => {
                let count = (split.count)(set_records, config);
                let mut made = vec![false; count];
                for part in &theirs {
                    check_parts(part, &made)?;
                    made[part.start..part.end].fill(true);
                }
                let mut sums = vec![0u32; set_records.len()];
                for own in unmade_runs(&made) {
                    let part =
                        set_query_parts(kind, &inputs, set_records, set, config, own, progress)?
                            .unwrap_or_default();
                    add_sums(&mut sums, &part);
                }
                // What is marked made now is what this worker made.
                made.iter_mut().for_each(|m| *m = !*m);
                Made::Parts { sums, made }
            }
            _ => Made::Whole(set_queries(
                kind,
                &inputs,
                set_records,
                set,
                config,
                progress,
            )?),
        };
        early.push(EarlyAnswers {
            kind: kind.id,
            set,
            key,
            made,
            seconds: clock::seconds() - started,
        });
    }
    Ok(early)
}

/// The queries of `plan` that run only the target still to make, each kind and set with the
/// parts it splits into (`None`: made whole): what [`early_queries`] would make, and what
/// other workers may share of it.
pub(super) fn queries_ahead(
    cache: Option<&Cache>,
    loaded: &Inputs<'_>,
    config: &AuditConfig,
    plan: &Plan,
) -> Vec<QueryAhead> {
    target_queries_pending(cache, loaded, config, plan)
        .into_iter()
        .map(|(kind, set, set_records, _)| QueryAhead {
            kind: kind.id,
            set: set.index() as usize,
            records: set_records.len(),
            parts: kind.parts.as_ref().map(|p| (p.count)(set_records, config)),
        })
        .collect()
}

/// `plan`'s queries that run only the target and are not cached under their settings, each
/// kind with every record set it asks about and its settings key, in the order they are made.
fn target_queries_pending<'a>(
    cache: Option<&Cache>,
    loaded: &Inputs<'a>,
    config: &AuditConfig,
    plan: &Plan,
) -> Vec<(&'static QueryKind, RecordSet, &'a Records, Value)> {
    let sets: Vec<(RecordSet, &'a Records)> =
        std::iter::once((RecordSet::Audit, &loaded.records.value))
            .chain(loaded.population.map(|p| (RecordSet::Population, &p.value)))
            .collect();
    let mut pending = Vec::new();
    for &kind in plan.queries.iter().filter(|k| !k.runs_references) {
        let key = query_key(kind, config);
        for &(set, set_records) in &sets {
            if query_pending(cache, kind, set, &key) {
                pending.push((kind, set, set_records, key.clone()));
            }
        }
    }
    pending
}

/// Adds the sums of parts `part` made by another worker to the answers made ahead.
pub(super) fn accept_parts(
    early: &mut [EarlyAnswers],
    part: &QueryPartRange,
    sums: &[u32],
) -> Result<(), SessionError> {
    let refuse = |why: String| SessionError::QueryParts {
        kind: part.kind.clone(),
        why,
    };
    let found = early
        .iter_mut()
        .find(|e| e.kind == part.kind && e.set.index() == part.set as u64);
    let Some(EarlyAnswers {
        made: Made::Parts { sums: held, made },
        ..
    }) = found
    else {
        return Err(refuse("no such queries were begun here".to_string()));
    };
    check_parts(part, made)?;
    if sums.len() != held.len() {
        return Err(refuse(format!(
            "{} sums came for {} records",
            sums.len(),
            held.len()
        )));
    }
    add_sums(held, sums);
    made[part.start..part.end].fill(true);
    Ok(())
}

/// Refuses `part` unless it is a non-empty range of the parts (`made`, one per part) none
/// of which is made or named yet.
fn check_parts(part: &QueryPartRange, made: &[bool]) -> Result<(), SessionError> {
    let (start, end) = (part.start, part.end);
    if start >= end || end > made.len() || made[start..end].iter().any(|&m| m) {
        return Err(SessionError::QueryParts {
            kind: part.kind.clone(),
            why: format!(
                "parts {start}..{end} named twice or not among its {} parts",
                made.len()
            ),
        });
    }
    Ok(())
}

/// The runs of consecutive parts not yet made.
fn unmade_runs(made: &[bool]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut at = 0;
    while at < made.len() {
        if made[at] {
            at += 1;
            continue;
        }
        let start = at;
        while at < made.len() && !made[at] {
            at += 1;
        }
        runs.push(start..at);
    }
    runs
}

fn add_sums(sums: &mut [u32], more: &[u32]) {
    for (sum, more) in sums.iter_mut().zip(more) {
        *sum += more;
    }
}

/// Whether [`prepare`] would make `kind`'s queries about `set` under `key` (not cached).
fn query_pending(cache: Option<&Cache>, kind: &QueryKind, set: RecordSet, key: &Value) -> bool {
    let held = cache.is_some_and(|c| {
        let keys = match set {
            RecordSet::Audit => &c.audit,
            RecordSet::Population => &c.population,
        };
        keys.queries.get(kind.id) == Some(key)
    });
    !held && (set == RecordSet::Audit || kind.population)
}

/// The answers made early to `kind` about `set` under `key`, if any were and every part
/// of them is in, with the seconds they took here.
fn take_early(
    early: &mut Vec<EarlyAnswers>,
    kind: &QueryKind,
    set: RecordSet,
    key: &Value,
    records: &Records,
    config: &AuditConfig,
) -> Option<(Option<QueryAnswers>, f64)> {
    let at = early
        .iter()
        .position(|e| e.kind == kind.id && e.set == set && &e.key == key)?;
    let taken = early.swap_remove(at);
    let answers = match taken.made {
        Made::Whole(answers) => answers,
        Made::Parts { sums, made } => {
            let split = kind.parts.as_ref()?;
            if !made.iter().all(|&m| m) {
                return None;
            }
            Some((split.join)(records, config, sums))
        }
    };
    Some((answers, taken.seconds))
}

/// Which model runs over whole record sets [`prepare`] would make, as far as the cache can
/// tell beforehand: so that an engine outside the audit (a pool of Web Workers) can run
/// exactly those first. Index 0 is the audit records, 1 the population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PendingRuns {
    pub target: [bool; 2],
    pub references: [bool; 2],
    /// Whether there are extra queries that run only the target to make
    /// ([`super::Session::prepare_queries`] makes them).
    pub target_queries: bool,
}

/// The runs [`prepare`] would make for `plan` under `config` with the population loaded or
/// not (the extra queries, which run models on other records, are not among them).
pub(super) fn pending_runs(
    cache: Option<&Cache>,
    config: &AuditConfig,
    plan: &Plan,
    with_population: bool,
) -> PendingRuns {
    let (target_key, references_key) = (target_key(config), references_key(config));
    let target_on_audit = !holds_target_on_audit(cache, &target_key);
    let sets: &[RecordSet] = if with_population {
        &[RecordSet::Audit, RecordSet::Population]
    } else {
        &[RecordSet::Audit]
    };
    let target_queries = plan.queries.iter().filter(|k| !k.runs_references).any(|k| {
        let key = query_key(k, config);
        sets.iter().any(|&set| query_pending(cache, k, set, &key))
    });
    let Some(cache) = cache else {
        return PendingRuns {
            target: [true, with_population],
            references: [plan.references, with_population && plan.references],
            target_queries,
        };
    };
    let references_on = |keys: &Keys, signals: Option<&SetSignals>| {
        plan.references
            && !signals.is_some_and(|s| holds_references(keys, s, &references_key, plan))
    };
    PendingRuns {
        target: [
            target_on_audit,
            with_population && !holds_target_on_population(cache, &target_key),
        ],
        references: [
            references_on(&cache.audit, Some(&cache.signals.audit)),
            with_population && references_on(&cache.population, cache.signals.population.as_ref()),
        ],
        target_queries,
    }
}

fn holds_target_on_audit(cache: Option<&Cache>, target_key: &Value) -> bool {
    cache.is_some_and(|c| c.audit.target.as_ref() == Some(target_key))
}

fn holds_target_on_population(cache: &Cache, target_key: &Value) -> bool {
    cache.population.target.as_ref() == Some(target_key) && cache.signals.population.is_some()
}

/// Whether a set's reference signals were computed under `references_key` with what `plan`
/// reads of them.
fn holds_references(
    keys: &Keys,
    signals: &SetSignals,
    references_key: &Value,
    plan: &Plan,
) -> bool {
    keys.references.as_ref() == Some(references_key)
        && signals
            .references
            .as_ref()
            .is_some_and(|r| r.probabilities.is_some() || !plan.probabilities)
}

fn set_name(set: RecordSet) -> &'static str {
    match set {
        RecordSet::Audit => "audit records",
        RecordSet::Population => "population",
    }
}

/// The settings the target's answers depend on.
fn target_key(config: &AuditConfig) -> Value {
    let s = &config.signals;
    let noisy = s.defences.iter().any(|d| matches!(d, Defence::Noise(_)));
    json!({
        "outputs": references_key(config),
        "defences": s.defences,
        "seed": noisy.then_some(config.seed),
    })
}

/// The settings the reference models' signals depend on.
fn references_key(config: &AuditConfig) -> Value {
    let s = &config.signals;
    json!({
        "output_kind": s.output_kind,
        "temperature": s.temperature,
        "batch_size": s.batch_size,
        "backend": s.backend,
    })
}

/// The settings one kind's answers depend on: its own, the target's, and the references'
/// where it runs them.
fn query_key(kind: &QueryKind, config: &AuditConfig) -> Value {
    json!({
        "settings": (kind.settings)(config),
        "target": target_key(config),
        "references": kind.runs_references.then(|| references_key(config)),
    })
}
