//! Scoring and measuring: each chosen attack scores the audit records from computed
//! signals, is calibrated on the population where it can be, and is measured the way papers
//! report (ROC, AUC with its bootstrap interval, TPR at low FPR, operating points with
//! ε lower bounds); the results become the report and the per-record table.

use super::AuditSignals;
use crate::attack::{self, Attack, ScoringSet};
use crate::config::{AuditConfig, MetricsConfig};
use crate::defence;
use crate::metrics::operating::{self, Calibration};
use crate::metrics::{self, Roc};
use crate::model::OutputKindChoice;
use crate::progress::{Progress, ProgressSink};
use crate::provenance::Provenance;
use crate::records::Records;
use crate::report::{
    AttackResult, DataSection, OperatingPoint, PerClassTable, PerRecordTable, REPORT_VERSION,
    ReferenceSection, Report, RocMetrics, Settings, TprAtFpr, Utility,
};
use serde::{Deserialize, Serialize};

/// The most ROC points a report holds per attack; larger curves are thinned for drawing
/// ([`Roc::plotted`]), the metrics coming from the whole curve. Audits of up to 10,000
/// records keep every point.
pub const ROC_POINTS: usize = 10_000;

/// The FPRs at which TPR is reported (SPEC.md).
pub const REPORTED_FPRS: [f64; 5] = [0.0, 1e-4, 1e-3, 1e-2, 1e-1];

/// The records an audit scores and measures, and the population it calibrates on.
pub struct AuditData<'a> {
    pub records: &'a Records,
    pub records_provenance: Provenance,
    pub population: Option<(&'a Records, Provenance)>,
}

/// What an audit produces.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditOutcome {
    pub report: Report,
    pub per_record: PerRecordTable,
    /// Utility and every attack's AUC within each class.
    pub per_class: PerClassTable,
}

/// Whether an attack that reads scores meets an API that releases labels only.
pub fn blocked(info: &attack::AttackInfo, signals: &AuditSignals) -> bool {
    defence::releases_labels_only(&signals.defences) && !info.labels_suffice
}

/// An attack that reads scores, against an API that releases labels only: it has nothing to
/// threshold, so every record gets the same score (chance), and the report says why.
fn blocked_scores(records: usize) -> attack::AttackScores {
    attack::AttackScores {
        scores: vec![Some(0.0); records],
        detail: Some(
            "blocked by the top1 defence: the target releases labels only and this attack reads scores, so every record scores the same (chance)".to_string(),
        ),
        warning: None,
    }
}

/// Runs `attacks` over computed signals and measures them. `with_references` says whether
/// the report describes the reference set (whether the attacks run used it).
pub fn attack_signals(
    input: &AuditData<'_>,
    signals: &AuditSignals,
    attacks: &[Box<dyn Attack>],
    config: &AuditConfig,
    with_references: bool,
    progress: &mut dyn ProgressSink,
) -> crate::Result<AuditOutcome> {
    let scored = score_attacks(input, signals, attacks, config, progress)?;
    let measured = measure_attacks(input, scored, config, progress)?;
    Ok(assemble(input, signals, config, with_references, measured))
}

/// One attack's scores on the audit records, and what its thresholds may be calibrated on.
pub struct ScoredAttack {
    info: &'static attack::AttackInfo,
    scored: attack::AttackScores,
    calibration: Calibrating,
}

/// One attack's scores as another worker made them (the page scores an attack that fits a
/// model in a worker of its own): the audit records' scores and the population's it may
/// calibrate on. Plain data, so that it can cross between wasm instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoresMadeElsewhere {
    pub id: String,
    pub scores: Vec<Option<f64>>,
    pub detail: Option<String>,
    pub warning: Option<String>,
    pub population: Option<Vec<f64>>,
}

impl ScoredAttack {
    /// The scores as another worker hands them over.
    pub fn made_elsewhere(self) -> ScoresMadeElsewhere {
        ScoresMadeElsewhere {
            id: self.info.id.to_string(),
            scores: self.scored.scores,
            detail: self.scored.detail,
            warning: self.scored.warning,
            population: self.calibration.population,
        }
    }

    /// Scores made elsewhere by `attack` over the same records; `None` when they are another
    /// attack's or another record set's.
    pub fn from_elsewhere(
        made: ScoresMadeElsewhere,
        attack: &dyn Attack,
        input: &AuditData<'_>,
        signals: &AuditSignals,
        config: &AuditConfig,
    ) -> Option<ScoredAttack> {
        let info = attack.info();
        if made.id != info.id || made.scores.len() != input.records.len() {
            return None;
        }
        Some(ScoredAttack {
            info,
            scored: attack::AttackScores {
                scores: made.scores,
                detail: made.detail,
                warning: made.warning,
            },
            calibration: Calibrating {
                population: made.population,
                smallest_class: smallest_class_of(info, input, signals),
                seed: config.seed,
            },
        })
    }
}

/// Scores each of `attacks` on the audit records (and the population, where its scores may
/// calibrate thresholds).
pub fn score_attacks(
    input: &AuditData<'_>,
    signals: &AuditSignals,
    attacks: &[Box<dyn Attack>],
    config: &AuditConfig,
    progress: &mut dyn ProgressSink,
) -> crate::Result<Vec<ScoredAttack>> {
    let audit_set = ScoringSet::new(&signals.audit, &input.records.labels);
    let population_set = match (&input.population, &signals.population) {
        (Some((records, _)), Some(s)) => Some(ScoringSet::new(s, &records.labels)),
        _ => None,
    };
    let mut scored_attacks = Vec::with_capacity(attacks.len());
    for (done, attack) in attacks.iter().enumerate() {
        let info = attack.info();
        let is_blocked = blocked(info, signals);
        let scored = if is_blocked {
            blocked_scores(input.records.len())
        } else {
            attack::run(attack.as_ref(), audit_set, population_set)?
        };
        let population_scores = match population_set {
            Some(p) if !is_blocked && population_is_exchangeable(info, audit_set, p) => {
                Some(attack.score_population(audit_set, p)?)
            }
            _ => None,
        };
        let calibration = Calibrating {
            population: population_scores
                .map(|s| s.scores.into_iter().flatten().collect::<Vec<f64>>())
                .filter(|s| !s.is_empty()),
            smallest_class: smallest_class_of(info, input, signals),
            seed: config.seed,
        };
        scored_attacks.push(ScoredAttack {
            info,
            scored,
            calibration,
        });
        progress.update(Progress {
            step: "attacks",
            done: done + 1,
            total: attacks.len(),
        });
    }
    Ok(scored_attacks)
}

/// One attack measured, and its scores (for the per-record table).
pub struct MeasuredAttack {
    result: AttackResult,
    scores: Vec<Option<f64>>,
}

impl MeasuredAttack {
    pub fn id(&self) -> &str {
        &self.result.id
    }
}

/// Measures scored attacks: the AUCs' bootstrap intervals (one set of resamples for the
/// attacks that scored the same records), then each attack's ROC and operating points.
pub fn measure_attacks(
    input: &AuditData<'_>,
    scored_attacks: Vec<ScoredAttack>,
    config: &AuditConfig,
    progress: &mut dyn ProgressSink,
) -> crate::Result<Vec<MeasuredAttack>> {
    progress.update(Progress {
        step: "the AUCs' bootstrap intervals",
        done: 0,
        total: 1,
    });
    let score_lists: Vec<&[Option<f64>]> = scored_attacks
        .iter()
        .map(|a| a.scored.scores.as_slice())
        .collect();
    let intervals = auc_intervals(&score_lists, input.records, &config.metrics, config.seed)?;

    let mut measured = Vec::with_capacity(scored_attacks.len());
    for (attack, auc_interval) in scored_attacks.into_iter().zip(intervals) {
        let ScoredAttack {
            info,
            scored,
            calibration,
        } = attack;
        let mut result = measure(
            info,
            &scored.scores,
            auc_interval,
            &calibration,
            input.records,
            &config.metrics,
            config.seed,
        )?;
        result.detail = scored.detail;
        result.warning = scored.warning;
        measured.push(MeasuredAttack {
            result,
            scores: scored.scores,
        });
    }
    Ok(measured)
}

/// The report and the tables of measured attacks, in the order given.
pub fn assemble(
    input: &AuditData<'_>,
    signals: &AuditSignals,
    config: &AuditConfig,
    with_references: bool,
    measured: Vec<MeasuredAttack>,
) -> AuditOutcome {
    let mut results = Vec::with_capacity(measured.len());
    let mut scores_by_attack = Vec::with_capacity(measured.len());
    for attack in measured {
        scores_by_attack.push((attack.result.id.clone(), attack.scores));
        results.push(attack.result);
    }
    let shape = &signals.record_shape;
    let report = Report {
        report_version: REPORT_VERSION,
        mialab_version: env!("CARGO_PKG_VERSION").to_string(),
        settings: settings(config, signals),
        model: signals.model.clone(),
        records: DataSection::new(input.records, &input.records_provenance, shape),
        population: input
            .population
            .as_ref()
            .map(|(r, p)| DataSection::new(r, p, shape)),
        references: match (&signals.reference_provenance, &signals.audit.references) {
            (Some(p), Some(m)) if with_references => {
                Some(ReferenceSection::new(p, &signals.reference_models, m))
            }
            _ => None,
        },
        utility: Utility::new(
            (signals.audit.target.probabilities.ncols() > 0)
                .then_some(&signals.audit.target.correct[..]),
            input.records.membership.as_deref(),
        ),
        attacks: results,
        warnings: input_warnings(input),
    };
    let per_class = PerClassTable::new(input.records, &signals.audit.target, &scores_by_attack);
    let per_record = PerRecordTable::new(input.records, &signals.audit.target, scores_by_attack);
    AuditOutcome {
        report,
        per_record,
        per_class,
    }
}

/// For attacks that score within each class: the population records of the smallest class.
fn smallest_class_of(
    info: &attack::AttackInfo,
    input: &AuditData<'_>,
    signals: &AuditSignals,
) -> Option<usize> {
    let (population, _) = input.population.as_ref()?;
    (info.scores_per_class && signals.population.is_some())
        .then(|| smallest_class(&population.labels, input.records.labels.as_slice()))
}

/// Whether an attack's scores on population records are distributed like its scores on the
/// audit non-members, so that a population threshold is a threshold for them (SPEC.md,
/// "Choosing thresholds"): not for attacks that read reference models some of which trained
/// on audit records (no reference model trained on a population record), nor when the
/// attack read answers the population was not asked for (averaged augmentations; a
/// regressor fitted on the population itself).
fn population_is_exchangeable(
    info: &attack::AttackInfo,
    audit: ScoringSet<'_>,
    population: ScoringSet<'_>,
) -> bool {
    let references_trained_on_audit = info.needs.references_used()
        && audit
            .signals
            .references
            .as_ref()
            .is_some_and(|r| r.keep.iter().any(|&k| k));
    let unasked = info.queries().any(|kind| {
        audit.signals.queries.contains(kind) && !population.signals.queries.contains(kind)
    });
    !references_trained_on_audit && !unasked
}

/// The fewest population records of any class the audit records have.
fn smallest_class(population_labels: &[usize], audit_labels: &[usize]) -> usize {
    let classes = audit_labels.iter().max().map_or(0, |m| m + 1);
    let mut counts = vec![0usize; classes];
    for &y in population_labels.iter().filter(|&&y| y < classes) {
        counts[y] += 1;
    }
    audit_labels.iter().map(|&y| counts[y]).min().unwrap_or(0)
}

/// What an attack's thresholds may be calibrated on.
struct Calibrating {
    /// Population scores exchangeable with the audit non-members', when there are any.
    population: Option<Vec<f64>>,
    /// For attacks that score within each class: the population records of the smallest one.
    smallest_class: Option<usize>,
    /// Seed of the cross-fitting split.
    seed: u64,
}

impl Calibrating {
    /// Cross-fitting on the audit set where each half's non-members resolve `target_fpr`:
    /// it needs no assumption about the population (on the zoo's SUPPORT2 data, population
    /// thresholds for the loss attack at 10% reached 7.6% on the audit non-members). Else
    /// the population, where its scores qualify and resolve `target_fpr` (in every class,
    /// for per-class scores); else nothing can resolve it.
    fn at(&self, target_fpr: f64, non_members: usize) -> Calibration<'_> {
        let resolves = |n: usize| target_fpr * n as f64 >= 1.0 - 1e-9;
        let cross_fit = Calibration::CrossFit { seed: self.seed };
        if resolves(non_members / 2) {
            return cross_fit;
        }
        match &self.population {
            Some(scores) if resolves(scores.len()) && self.smallest_class.is_none_or(resolves) => {
                Calibration::Population(scores)
            }
            _ => cross_fit,
        }
    }
}

/// What about the inputs may make the numbers wrong.
fn input_warnings(input: &AuditData<'_>) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some((population, _)) = &input.population
        && let Some(found) = crate::records::overlap::overlap(input.records, population)
    {
        warnings.push(found.describe(population.len()));
    }
    warnings
}

/// The settings as the report gives them.
fn settings(config: &AuditConfig, signals: &AuditSignals) -> Settings {
    let m = &config.metrics;
    Settings {
        seed: config.seed,
        temperature: config.signals.temperature,
        output_kind: match config.signals.output_kind {
            OutputKindChoice::Auto => "auto",
            OutputKindChoice::Logits => "logits",
            OutputKindChoice::Probabilities => "probabilities",
        },
        bootstrap_resamples: m.bootstrap_resamples,
        alpha: m.alpha,
        delta: m.delta,
        member_prior: m.member_prior,
        operating_fprs: m.operating_fprs.clone(),
        defences: signals.defences.iter().map(ToString::to_string).collect(),
        config: config.clone(),
    }
}

/// The bootstrap interval of each attack's AUC (`None` where it has no ROC: nothing scored,
/// membership unknown, one class only, a NaN score; [`measure`] says why). Attacks that
/// scored the same records share their resamples' draws.
fn auc_intervals(
    score_lists: &[&[Option<f64>]],
    records: &Records,
    config: &MetricsConfig,
    seed: u64,
) -> crate::Result<Vec<Option<(f64, f64)>>> {
    let mut intervals = vec![None; score_lists.len()];
    let Some(membership) = records.membership.as_deref() else {
        return Ok(intervals);
    };
    let scored_mask =
        |scores: &[Option<f64>]| -> Vec<bool> { scores.iter().map(Option::is_some).collect() };
    let mut pending: Vec<usize> = (0..score_lists.len()).collect();
    while let Some(&first) = pending.first() {
        let mask = scored_mask(score_lists[first]);
        let (same, rest): (Vec<usize>, Vec<usize>) = pending
            .iter()
            .partition(|&&a| scored_mask(score_lists[a]) == mask);
        pending = rest;
        let members: Vec<bool> = membership
            .iter()
            .zip(&mask)
            .filter(|(_, scored)| **scored)
            .map(|(m, _)| *m)
            .collect();
        let has_both = members.iter().any(|&m| m) && members.iter().any(|&m| !m);
        let sets: Vec<(usize, Vec<f64>)> = same
            .into_iter()
            .map(|a| {
                (
                    a,
                    score_lists[a]
                        .iter()
                        .flatten()
                        .copied()
                        .collect::<Vec<f64>>(),
                )
            })
            .filter(|(_, scores)| has_both && !scores.iter().any(|s| s.is_nan()))
            .collect();
        let views: Vec<&[f64]> = sets.iter().map(|(_, s)| s.as_slice()).collect();
        let measured = metrics::auc_bootstrap_intervals(
            &views,
            &members,
            config.bootstrap_resamples,
            config.alpha,
            seed,
        )?;
        for ((attack, _), interval) in sets.iter().zip(measured) {
            intervals[*attack] = Some(interval);
        }
    }
    Ok(intervals)
}

/// The metrics of one attack's scores, when membership is known.
fn measure(
    info: &'static attack::AttackInfo,
    all_scores: &[Option<f64>],
    auc_interval: Option<(f64, f64)>,
    calibration: &Calibrating,
    records: &Records,
    config: &MetricsConfig,
    seed: u64,
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
    let auc_interval = match auc_interval {
        Some(interval) => interval,
        None => metrics::auc_bootstrap_interval(
            scores,
            members,
            config.bootstrap_resamples,
            config.alpha,
            seed,
        )?,
    };
    let plotted = roc.plotted(ROC_POINTS);
    result.metrics = Some(RocMetrics {
        auc: roc.auc(),
        auc_interval,
        chance_in_interval: auc_interval.0 <= 0.5 && 0.5 <= auc_interval.1,
        advantage: roc.advantage(),
        balanced_accuracy: roc.balanced_accuracy(),
        tpr_at_fpr: REPORTED_FPRS
            .iter()
            .map(|&fpr| TprAtFpr {
                fpr,
                tpr: roc.tpr_at_fpr(fpr),
            })
            .collect(),
        roc_fpr: plotted.0,
        roc_tpr: plotted.1,
    });
    for &target_fpr in &config.operating_fprs {
        let non_members = members.iter().filter(|m| !**m).count();
        let at = calibration.at(target_fpr, non_members);
        let Some(chosen) = operating::choose(scores, members, target_fpr, at) else {
            continue;
        };
        let counts = chosen.counts;
        let fpr_interval =
            metrics::clopper_pearson(counts.fp, counts.fp + counts.tn, config.alpha)?;
        result.operating_points.push(OperatingPoint {
            target_fpr,
            method: chosen.method,
            thresholds: chosen.thresholds,
            reachable: fpr_interval.0 <= target_fpr && target_fpr <= fpr_interval.1,
            tpr: counts.tpr(),
            fpr: counts.fpr(),
            tpr_interval: metrics::clopper_pearson(
                counts.tp,
                counts.tp + counts.fn_,
                config.alpha,
            )?,
            fpr_interval,
            ppv: counts.ppv(config.member_prior),
            epsilon: metrics::epsilon_lower_bound(&counts, config.alpha, config.delta)?,
            counts,
        });
    }
    Ok(result)
}
