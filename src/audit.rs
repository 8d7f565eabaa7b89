//! One audit, end to end: run the target over the records (and population), compute the
//! signals, run the chosen attacks, and measure them. The CLI and the browser both call
//! [`run_audit`]; it does no I/O of its own.

use crate::attack::{
    self, AttackParams, AugmentedQuery, Available, EncodedQueries, ExtraQueries, LabelOnlyParams,
    LabelOnlyQueries, ReferenceUse, ScoringSet,
};
use crate::augment::{self, Augmentations};
use crate::defence::{self, Defence};
use crate::encoding;
use crate::metrics::{self, Confusion, Roc, threshold};
use crate::model::{Model, OutputKindChoice};
use crate::progress::{NoProgress, Progress, ProgressSink};
use crate::records::Records;
use crate::reference::{SignalSettings, check_reference_models, model_output, reference_signals};
use crate::report::{
    AttackResult, DataSection, ModelSection, OperatingPoint, PerRecordTable, REPORT_VERSION,
    ReferenceSection, Report, RocMetrics, Settings, TprAtFpr, Utility,
};
use crate::signal::Signals;
use crate::signal_matrix::ReferenceSignals;
use ndarray::Array2;
use thiserror::Error;

/// The FPRs at which TPR is reported (SPEC.md).
pub const REPORTED_FPRS: [f64; 5] = [0.0, 1e-4, 1e-3, 1e-2, 1e-1];

/// Settings of an audit, with the defaults SPEC.md names.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditConfig {
    /// Attack ids; empty means every attack whose inputs are available.
    pub attacks: Vec<String>,
    pub output_kind: OutputKindChoice,
    /// Softmax temperature applied to the model's outputs.
    pub temperature: f64,
    /// Seed of every random choice (the AUC bootstrap).
    pub seed: u64,
    pub bootstrap_resamples: usize,
    /// Significance level of confidence intervals (0.05: 95% intervals).
    pub alpha: f64,
    /// δ of the empirical ε lower bound.
    pub delta: f64,
    /// Fraction of members among the people the attack is used on, for PPV.
    pub member_prior: f64,
    /// FPRs at which decision thresholds are chosen and reported.
    pub operating_fprs: Vec<f64>,
    pub batch_size: usize,
    /// Settings of the attacks that have any.
    pub attack_params: AttackParams,
    /// Test-time augmentations LiRA averages over (images only).
    pub augmentations: Augmentations,
    /// Output defences the target's API applies to every answer, in order.
    pub defences: Vec<Defence>,
    /// Which engine runs the models (tract on the CPU, or the GPU kernels).
    pub backend: crate::gpu::BackendChoice,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            attacks: Vec::new(),
            output_kind: OutputKindChoice::Auto,
            temperature: 1.0,
            seed: 0,
            bootstrap_resamples: 1000,
            alpha: 0.05,
            delta: 1e-5,
            member_prior: 0.01,
            operating_fprs: vec![1e-3, 1e-2, 1e-1],
            batch_size: crate::model::DEFAULT_BATCH_SIZE,
            attack_params: AttackParams::default(),
            augmentations: Augmentations::default(),
            defences: Vec::new(),
            backend: crate::gpu::BackendChoice::default(),
        }
    }
}

/// A setting out of its bounds.
#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("{name} must be {rule}, got {value}")]
    OutOfRange {
        name: &'static str,
        rule: &'static str,
        value: f64,
    },
    #[error(transparent)]
    Attack(#[from] attack::AttackError),
}

impl AuditConfig {
    /// Checks every setting is usable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let check = |ok: bool, name, rule, value: f64| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange { name, rule, value })
            }
        };
        check(
            self.temperature.is_finite() && self.temperature > 0.0,
            "temperature",
            "a positive number",
            self.temperature,
        )?;
        check(
            self.alpha > 0.0 && self.alpha < 1.0,
            "alpha",
            "in (0, 1)",
            self.alpha,
        )?;
        check(
            (0.0..1.0).contains(&self.delta),
            "delta",
            "in [0, 1)",
            self.delta,
        )?;
        check(
            self.member_prior > 0.0 && self.member_prior < 1.0,
            "member prior",
            "in (0, 1)",
            self.member_prior,
        )?;
        let resamples = self.bootstrap_resamples as f64;
        check(
            self.bootstrap_resamples >= metrics::bootstrap::MIN_RESAMPLES,
            "bootstrap resamples",
            "at least 200",
            resamples,
        )?;
        check(
            self.batch_size > 0,
            "batch size",
            "at least 1",
            self.batch_size as f64,
        )?;
        for &fpr in &self.operating_fprs {
            check(fpr > 0.0 && fpr < 1.0, "an operating FPR", "in (0, 1)", fpr)?;
        }
        self.attack_params.validate()?;
        Ok(())
    }
}

/// Where an input came from, for the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    pub source: String,
    pub sha256: String,
}

impl Provenance {
    pub fn of_bytes(source: &str, bytes: &[u8]) -> Provenance {
        Provenance {
            source: source.to_string(),
            sha256: crate::report::sha256_hex(bytes),
        }
    }
}

/// Everything an audit reads.
pub struct AuditInput<'a> {
    pub model: &'a Model,
    pub model_provenance: Provenance,
    pub data: AuditData<'a>,
    pub references: Option<ReferenceInput<'a>>,
}

/// The records an audit scores and measures, and the population it calibrates on.
pub struct AuditData<'a> {
    pub records: &'a Records,
    pub records_provenance: Provenance,
    pub population: Option<(&'a Records, Provenance)>,
}

/// K reference models and which audit records each trained on. Population records are
/// taken to be outside every reference model's training set.
pub struct ReferenceInput<'a> {
    pub models: &'a [Model],
    /// One name per model (its file), for messages.
    pub names: Vec<String>,
    /// `[audit records, models]`.
    pub keep: Array2<bool>,
    /// Where the models and keep-mask came from (the hash is the keep-mask's).
    pub provenance: Provenance,
}

/// Every model's signals on every record set: what the attacks read. Computing this is the
/// slow part of an audit; switching attacks or their parameters reuses it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditSignals {
    /// The target model as the report describes it.
    pub model: ModelSection,
    /// Shape of one record as the model takes it.
    pub record_shape: Vec<usize>,
    /// Output defences the target's answers went through: part of the signals, not of the
    /// attacks, so attacking them later always sees the defences they were computed under.
    pub defences: Vec<Defence>,
    pub target: Signals,
    pub population: Option<Signals>,
    pub references: Option<ReferenceSignals>,
    pub population_references: Option<ReferenceSignals>,
    /// Where the reference set came from, when there is one.
    pub reference_provenance: Option<Provenance>,
    /// The audit records under each augmented query (besides the identity).
    pub augmented: Vec<AugmentedQuery>,
    /// The target on the audit (and population) records' membership-encoded queries.
    pub encoded: Option<EncodedQueries>,
    pub population_encoded: Option<EncodedQueries>,
    /// The target's top-1 answers on perturbed copies of the audit (and population) records.
    pub label_only: Option<LabelOnlyQueries>,
    pub population_label_only: Option<LabelOnlyQueries>,
}

impl AuditSignals {
    /// What these signals let the attacks use.
    pub fn available(&self) -> Available {
        let references = match &self.references {
            None => ReferenceUse::NotUsed,
            Some(r) if r.keep.iter().any(|&k| k) => ReferenceUse::InAndOut,
            Some(_) => ReferenceUse::OutOnly,
        };
        Available {
            population: self.population.is_some(),
            references,
            encoded_queries: self.encoded.is_some(),
            label_only_queries: self.label_only.is_some(),
        }
    }
}

/// What an audit produces.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditOutcome {
    pub report: Report,
    pub per_record: PerRecordTable,
}

/// Runs an audit: computes every signal, then runs and measures the attacks.
pub fn run_audit(
    input: &AuditInput<'_>,
    config: &AuditConfig,
    progress: &mut dyn ProgressSink,
) -> crate::Result<AuditOutcome> {
    config.validate()?;
    let signals = compute_signals(input, config, progress)?;
    attack_signals(&input.data, &signals, config, progress)
}

/// Runs the target and every reference model over the audit and population records.
pub fn compute_signals(
    input: &AuditInput<'_>,
    config: &AuditConfig,
    progress: &mut dyn ProgressSink,
) -> crate::Result<AuditSignals> {
    let settings = config.signal_settings();
    let data = &input.data;
    let (output, target, backend) =
        target_signals(input.model, data.records, config, Stream::Records, progress)?;
    let population = match &data.population {
        Some((records, _)) => {
            records.check_population()?;
            Some(target_signals(input.model, records, config, Stream::Population, progress)?.1)
        }
        None => None,
    };
    let (references, population_references, augmented) = match &input.references {
        Some(refs) if config.may_use_references() => {
            check_reference_models(input.model, refs.models, &refs.names)?;
            let audit = reference_signals(
                refs.models,
                data.records,
                refs.keep.clone(),
                settings,
                progress,
            )?;
            let population = match &data.population {
                Some((records, _)) => Some(reference_signals(
                    refs.models,
                    records,
                    Array2::from_elem((records.len(), refs.models.len()), false),
                    settings,
                    progress,
                )?),
                None => None,
            };
            let augmented = augmented_queries(input, refs, config, progress)?;
            (Some(audit), population, augmented)
        }
        _ => (None, None, Vec::new()),
    };
    let (encoded, population_encoded) = if config.may_use_queries(ExtraQueries::Encoded) {
        let population = match &data.population {
            Some((records, _)) => Some(encoded_queries(
                input.model,
                records,
                config,
                Stream::PopulationEncoded,
            )?),
            None => None,
        };
        (
            Some(encoded_queries(
                input.model,
                data.records,
                config,
                Stream::RecordsEncoded,
            )?),
            population,
        )
    } else {
        (None, None)
    };
    let (label_only, population_label_only) = if config.may_use_queries(ExtraQueries::Perturbed) {
        let scale = feature_scale(data.records);
        let params = config.attack_params.label_only;
        let run = |records: &Records, stream: u64| {
            label_only_queries(input.model, records, &scale, params, config, stream)
        };
        let population = match &data.population {
            Some((records, _)) => Some(run(records, 1)?),
            None => None,
        };
        (Some(run(data.records, 0)?), population)
    } else {
        (None, None)
    };
    let info = input.model.info();
    Ok(AuditSignals {
        model: ModelSection {
            source: input.model_provenance.source.clone(),
            sha256: input.model_provenance.sha256.clone(),
            input: info.input.to_string(),
            output: info.used_output.clone(),
            output_kind: output.kind,
            expanded_single_output: output.expanded_single,
            classes: output.classes(),
            parameters: info.parameters,
            backend: Some(backend),
        },
        record_shape: info.record_shape.clone(),
        defences: config.defences.clone(),
        target,
        population,
        reference_provenance: references
            .as_ref()
            .and(input.references.as_ref().map(|r| r.provenance.clone())),
        references,
        population_references,
        augmented,
        encoded,
        population_encoded,
        label_only,
        population_label_only,
    })
}

/// Each feature's standard deviation over `records` (1 where it is 0), so that label-only
/// noise is σ per standardised feature.
fn feature_scale(records: &Records) -> Vec<f32> {
    let n = records.len().max(1);
    let per_record: usize = records.record_shape().iter().product();
    let features = records.features.as_standard_layout();
    let values = features.as_slice().unwrap_or_default();
    (0..per_record)
        .map(|j| {
            let column = (0..records.len()).map(|i| f64::from(values[i * per_record + j]));
            let mean = column.clone().sum::<f64>() / n as f64;
            let var = column.map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
            if var > 0.0 { var.sqrt() as f32 } else { 1.0 }
        })
        .collect()
}

/// Runs the target on perturbed copies of every record and counts correct top-1 answers:
/// images get the mirror × one-pixel shifts (18 copies), other records `params.queries` copies
/// with Gaussian noise of `params.sigma` feature standard deviations (seeded by `seed`, `stream`).
fn label_only_queries(
    model: &Model,
    records: &Records,
    scale: &[f32],
    params: LabelOnlyParams,
    config: &AuditConfig,
    stream: u64,
) -> crate::Result<LabelOnlyQueries> {
    let seed = config.seed;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let images = Augmentations {
        flip: true,
        shift: 1,
    };
    let is_image = images.check(records.record_shape()).is_ok();
    let copies: Vec<ndarray::ArrayD<f32>> = if is_image {
        images
            .queries()
            .into_iter()
            .map(|q| augment::apply(&records.features, q))
            .collect()
    } else {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed ^ (stream << 32));
        (0..params.queries)
            .map(|_| {
                let mut noisy = records.features.as_standard_layout().into_owned();
                let per_record = scale.len().max(1);
                for (k, v) in noisy.iter_mut().enumerate() {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    *v += (params.sigma * z) as f32 * scale[k % per_record];
                }
                noisy
            })
            .collect()
    };
    let mut correct = vec![0usize; records.len()];
    for (q, features) in copies.iter().enumerate() {
        let copy = Records {
            features: features.clone(),
            ..records.clone()
        };
        let stream = Stream::LabelOnly {
            set: stream,
            copy: q,
        };
        let (_, signals, _) = target_signals(model, &copy, config, stream, &mut NoProgress)?;
        for (count, ok) in correct.iter_mut().zip(&signals.correct) {
            *count += usize::from(*ok);
        }
    }
    let queries = copies.len();
    Ok(LabelOnlyQueries {
        fraction_correct: correct
            .into_iter()
            .map(|c| c as f64 / queries as f64)
            .collect(),
        queries,
        perturbation: if is_image {
            "the image, its mirror and their one-pixel shifts (reflect padding)".to_string()
        } else {
            format!(
                "Gaussian noise of {} standard deviations on every feature (seed {seed})",
                params.sigma
            )
        },
    })
}

/// Runs the target on every record's membership-encoded query (NDSS 2025).
fn encoded_queries(
    model: &Model,
    records: &Records,
    config: &AuditConfig,
    stream: Stream,
) -> crate::Result<EncodedQueries> {
    let n = records.len();
    let per_record: usize = records.record_shape().iter().product();
    let features = records.features.as_standard_layout();
    let values = features.as_slice().unwrap_or_default();
    let rows: Vec<&[f32]> = (0..n)
        .map(|i| &values[i * per_record..(i + 1) * per_record])
        .collect();
    let encoded: Vec<f32> = rows
        .iter()
        .flat_map(|r| encoding::encoded_query(r).into_iter().map(|v| v as f32))
        .collect();
    let queries = Records {
        features: ndarray::ArrayD::from_shape_vec(records.features.raw_dim(), encoded)
            .expect("one query per record value"),
        ..records.clone()
    };
    let (_, signals, _) = target_signals(model, &queries, config, stream, &mut NoProgress)?;
    let classes = signals.probabilities.ncols();
    Ok(EncodedQueries {
        probabilities: signals.probabilities,
        secret_labels: rows
            .iter()
            .map(|r| encoding::secret_label(r, classes))
            .collect(),
    })
}

/// An attack that reads scores, against an API that releases labels only: it has nothing to
/// threshold, so every record gets the same score (chance), and the report says why.
fn blocked_scores(records: usize) -> attack::AttackScores {
    attack::AttackScores {
        scores: vec![Some(0.0); records],
        detail: Some(
            "blocked by the top1 defence: the target releases labels only and this attack reads scores, so every record scores the same (chance)".to_string(),
        ),
    }
}

/// Which set of queries to the target an answer belongs to: each gets its own noise stream
/// under the noise defence.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Records,
    Population,
    RecordsEncoded,
    PopulationEncoded,
    LabelOnly { set: u64, copy: usize },
    Augmented(usize),
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Records => 0,
            Stream::Population => 1,
            Stream::RecordsEncoded => 2,
            Stream::PopulationEncoded => 3,
            Stream::LabelOnly { set, copy } => 1_000 * (set + 1) + copy as u64,
            Stream::Augmented(q) => 10_000 + q as u64,
        }
    }
}

/// The target's answers to `records` as its API releases them (after the audit's output
/// defences), with their signals; the output returned is the model's own, before defences.
fn target_signals(
    model: &Model,
    records: &Records,
    config: &AuditConfig,
    stream: Stream,
    progress: &mut dyn ProgressSink,
) -> crate::Result<(crate::model::ModelOutput, Signals, crate::gpu::BackendUsed)> {
    let settings = config.signal_settings();
    let (output, used) = model_output(model, records, settings, progress)?;
    let released = defence::release(&config.defences, &output, config.seed, stream.id());
    let signals = Signals::compute(&released, &records.labels, settings.temperature);
    Ok((output, signals, used))
}

/// Runs the target and the references over every augmented query of the audit records.
fn augmented_queries(
    input: &AuditInput<'_>,
    refs: &ReferenceInput<'_>,
    config: &AuditConfig,
    progress: &mut dyn ProgressSink,
) -> crate::Result<Vec<AugmentedQuery>> {
    let records = input.data.records;
    config.augmentations.check(records.record_shape())?;
    let settings = config.signal_settings();
    let queries: Vec<_> = config.augmentations.queries().into_iter().skip(1).collect();
    let mut out = Vec::with_capacity(queries.len());
    for (done, query) in queries.iter().enumerate() {
        let shifted = Records {
            features: augment::apply(&records.features, *query),
            ..records.clone()
        };
        let stream = Stream::Augmented(done);
        let (_, target, _) =
            target_signals(input.model, &shifted, config, stream, &mut NoProgress)?;
        let references = reference_signals(
            refs.models,
            &shifted,
            refs.keep.clone(),
            settings,
            &mut NoProgress,
        )?;
        out.push(AugmentedQuery {
            query: *query,
            target_logit_scaled: target.logit_scaled,
            references,
        });
        progress.update(Progress {
            step: "augmented queries",
            done: done + 1,
            total: queries.len(),
        });
    }
    Ok(out)
}

/// Runs the configured attacks over computed signals and measures them.
pub fn attack_signals(
    input: &AuditData<'_>,
    signals: &AuditSignals,
    config: &AuditConfig,
    progress: &mut dyn ProgressSink,
) -> crate::Result<AuditOutcome> {
    config.validate()?;
    let attack_ids: Vec<String> = if config.attacks.is_empty() {
        attack::default_attacks(signals.available())
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        config.attacks.clone()
    };
    let attacks = attack_ids
        .iter()
        .map(|id| attack::build(id, &config.attack_params))
        .collect::<Result<Vec<_>, _>>()?;

    let audit_set = ScoringSet {
        signals: &signals.target,
        labels: &input.records.labels,
        references: signals.references.as_ref(),
        augmented: &signals.augmented,
        encoded: signals.encoded.as_ref(),
        label_only: signals.label_only.as_ref(),
    };
    let population_set = match (&input.population, &signals.population) {
        (Some((records, _)), Some(s)) => Some(ScoringSet {
            signals: s,
            labels: &records.labels,
            references: signals.population_references.as_ref(),
            augmented: &[],
            encoded: signals.population_encoded.as_ref(),
            label_only: signals.population_label_only.as_ref(),
        }),
        _ => None,
    };

    let mut results = Vec::with_capacity(attacks.len());
    let mut scores_by_attack = Vec::with_capacity(attacks.len());
    let labels_only = defence::releases_labels_only(&signals.defences);
    for (done, attack) in attacks.iter().enumerate() {
        let blocked = labels_only && !attack.info().labels_suffice;
        let scored = if blocked {
            blocked_scores(input.records.len())
        } else {
            attack.score(audit_set, population_set)?
        };
        // Population records have no augmented queries: thresholds from their plain scores
        // would not fit averaged ones, so such attacks calibrate on the ROC instead.
        let calibrates_on_population =
            signals.augmented.is_empty() || !attack.info().averages_augmentations;
        let population_scores: Option<Vec<f64>> = population_set
            .filter(|_| calibrates_on_population && !blocked)
            .map(|p| attack.score(p, population_set))
            .transpose()?
            .map(|s| s.scores.into_iter().flatten().collect::<Vec<f64>>())
            .filter(|s| !s.is_empty());
        let mut result = measure(
            attack.info(),
            &scored.scores,
            population_scores.as_deref(),
            input.records,
            config,
        )?;
        result.detail = scored.detail;
        results.push(result);
        scores_by_attack.push((attack.info().id.to_string(), scored.scores));
        progress.update(Progress {
            step: "attacks",
            done: done + 1,
            total: attacks.len(),
        });
    }

    let shape = &signals.record_shape;
    let report = Report {
        report_version: REPORT_VERSION,
        mialab_version: env!("CARGO_PKG_VERSION").to_string(),
        settings: Settings {
            defences: signals.defences.iter().map(ToString::to_string).collect(),
            ..Settings::from(config)
        },
        model: signals.model.clone(),
        records: DataSection::new(input.records, &input.records_provenance, shape),
        population: input
            .population
            .as_ref()
            .map(|(r, p)| DataSection::new(r, p, shape)),
        references: match (&signals.reference_provenance, &signals.references) {
            (Some(p), Some(m)) => Some(ReferenceSection::new(p, m)),
            _ => None,
        },
        utility: Utility::new(&signals.target.correct, input.records.membership.as_deref()),
        attacks: results,
    };
    let per_record = PerRecordTable::new(input.records, &signals.target, scores_by_attack);
    Ok(AuditOutcome { report, per_record })
}

impl AuditConfig {
    /// Whether any attack to run reads reference models (all attacks run when none are named);
    /// when none does, the reference models are not run at all.
    pub fn may_use_references(&self) -> bool {
        self.attacks.is_empty()
            || self.attacks.iter().any(|id| {
                attack::catalogue()
                    .find(|e| e.info.id == id)
                    .is_none_or(|e| e.info.references != ReferenceUse::NotUsed)
            })
    }

    /// Whether an attack that sends `queries` may run (all attacks run when none are named),
    /// so that those queries must be computed.
    pub fn may_use_queries(&self, queries: ExtraQueries) -> bool {
        attack::catalogue()
            .filter(|e| e.info.queries == queries)
            .any(|e| self.attacks.is_empty() || self.attacks.iter().any(|a| a == e.info.id))
    }

    /// How model outputs become signals under these settings.
    pub fn signal_settings(&self) -> SignalSettings {
        SignalSettings {
            output_kind: self.output_kind,
            temperature: self.temperature,
            batch_size: self.batch_size,
            backend: self.backend,
            reference_probabilities: attack::catalogue()
                .filter(|e| e.info.reads_reference_probabilities)
                .any(|e| self.attacks.is_empty() || self.attacks.iter().any(|a| a == e.info.id)),
        }
    }
}

/// The metrics of one attack's scores, when membership is known.
fn measure(
    info: &'static attack::AttackInfo,
    all_scores: &[Option<f64>],
    population_scores: Option<&[f64]>,
    records: &Records,
    config: &AuditConfig,
) -> crate::Result<AttackResult> {
    let mut result = AttackResult::new(info);
    result.scored = all_scores.iter().flatten().count();
    result.unscored_ids = all_scores
        .iter()
        .zip(&records.ids)
        .filter(|(s, _)| s.is_none())
        .map(|(_, id)| id.clone())
        .collect();
    let scored_members: Option<Vec<bool>> = records.membership.as_ref().map(|m| {
        m.iter()
            .zip(all_scores)
            .filter(|(_, s)| s.is_some())
            .map(|(m, _)| *m)
            .collect()
    });
    let scores: Vec<f64> = all_scores.iter().flatten().copied().collect();
    let scores = scores.as_slice();
    if scores.is_empty() {
        result.note = Some(
            "no record could be scored: every record lacks the reference models this attack needs"
                .to_string(),
        );
        return Ok(result);
    }
    let Some(members) = scored_members.as_deref() else {
        result.note =
            Some("membership is unknown: records are scored and ranked, not measured".to_string());
        return Ok(result);
    };
    let roc = match Roc::new(scores, members) {
        Ok(roc) => roc,
        Err(metrics::MetricsError::OneClassOnly { .. }) => {
            result.note = Some(
                "the records are all members or all non-members: no ROC can be drawn".to_string(),
            );
            return Ok(result);
        }
        Err(e) => return Err(e.into()),
    };
    let auc_interval = metrics::auc_bootstrap_interval(
        scores,
        members,
        config.bootstrap_resamples,
        config.alpha,
        config.seed,
    )?;
    result.metrics = Some(RocMetrics {
        auc: roc.auc(),
        auc_interval,
        advantage: roc.advantage(),
        balanced_accuracy: roc.balanced_accuracy(),
        tpr_at_fpr: REPORTED_FPRS
            .iter()
            .map(|&fpr| TprAtFpr {
                fpr,
                tpr: roc.tpr_at_fpr(fpr),
            })
            .collect(),
        roc_fpr: roc.fpr.clone(),
        roc_tpr: roc.tpr.clone(),
    });
    for &target_fpr in &config.operating_fprs {
        let chosen = match population_scores {
            Some(pop) => threshold::population_threshold(pop, target_fpr).map(|t| (t, false)),
            None => threshold::roc_threshold(&roc, target_fpr).map(|t| (t, true)),
        };
        let Some((threshold, optimistic)) = chosen else {
            continue;
        };
        let counts = Confusion::at_threshold(scores, members, threshold);
        result.operating_points.push(OperatingPoint {
            target_fpr,
            threshold,
            calibrated_on: if optimistic { "audit" } else { "population" },
            optimistic,
            tpr: counts.tpr(),
            fpr: counts.fpr(),
            tpr_interval: metrics::clopper_pearson(
                counts.tp,
                counts.tp + counts.fn_,
                config.alpha,
            )?,
            fpr_interval: metrics::clopper_pearson(counts.fp, counts.fp + counts.tn, config.alpha)?,
            ppv: counts.ppv(config.member_prior),
            epsilon: metrics::epsilon_lower_bound(&counts, config.alpha, config.delta)?,
            counts,
        });
    }
    Ok(result)
}
