//! Scoring and measuring: each chosen attack scores the audit records from computed
//! signals, is calibrated on the population where it can be, and is measured the way papers
//! report (ROC, AUC with its bootstrap interval, TPR at low FPR, operating points with
//! ε lower bounds); the results become the report and the per-record table.

use super::AuditSignals;
use crate::attack::{self, Attack, ScoringSet};
use crate::config::{AuditConfig, MetricsConfig};
use crate::defence;
use crate::metrics::{self, Confusion, Roc, threshold};
use crate::model::OutputKindChoice;
use crate::progress::{Progress, ProgressSink};
use crate::provenance::Provenance;
use crate::records::Records;
use crate::report::{
    AttackResult, DataSection, OperatingPoint, PerClassTable, PerRecordTable, REPORT_VERSION,
    ReferenceSection, Report, RocMetrics, Settings, TprAtFpr, Utility,
};

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
    let audit_set = ScoringSet::new(&signals.audit, &input.records.labels);
    let population_set = match (&input.population, &signals.population) {
        (Some((records, _)), Some(s)) => Some(ScoringSet::new(s, &records.labels)),
        _ => None,
    };

    let mut results = Vec::with_capacity(attacks.len());
    let mut scores_by_attack = Vec::with_capacity(attacks.len());
    for (done, attack) in attacks.iter().enumerate() {
        let info = attack.info();
        let is_blocked = blocked(info, signals);
        let scored = if is_blocked {
            blocked_scores(input.records.len())
        } else {
            attack::run(attack.as_ref(), audit_set, population_set)?
        };
        let population_scores: Option<Vec<f64>> = population_set
            .filter(|p| !is_blocked && calibrates_on(info, audit_set, *p))
            .map(|p| attack.score(p, population_set))
            .transpose()?
            .map(|s| s.scores.into_iter().flatten().collect::<Vec<f64>>())
            .filter(|s| !s.is_empty());
        let mut result = measure(
            info,
            &scored.scores,
            population_scores.as_deref(),
            input.records,
            &config.metrics,
            config.seed,
        )?;
        result.detail = scored.detail;
        results.push(result);
        scores_by_attack.push((info.id.to_string(), scored.scores));
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
        settings: settings(config, signals),
        model: signals.model.clone(),
        records: DataSection::new(input.records, &input.records_provenance, shape),
        population: input
            .population
            .as_ref()
            .map(|(r, p)| DataSection::new(r, p, shape)),
        references: match (&signals.reference_provenance, &signals.audit.references) {
            (Some(p), Some(m)) if with_references => Some(ReferenceSection::new(p, m)),
            _ => None,
        },
        utility: Utility::new(
            &signals.audit.target.correct,
            input.records.membership.as_deref(),
        ),
        attacks: results,
    };
    let per_class = PerClassTable::new(input.records, &signals.audit.target, &scores_by_attack);
    let per_record = PerRecordTable::new(input.records, &signals.audit.target, scores_by_attack);
    Ok(AuditOutcome {
        report,
        per_record,
        per_class,
    })
}

/// Whether thresholds may be calibrated on the population's scores: not when the attack
/// averaged over queries the population was not asked (its plain scores would not fit).
fn calibrates_on(
    info: &attack::AttackInfo,
    audit: ScoringSet<'_>,
    population: ScoringSet<'_>,
) -> bool {
    !info.reads.iter().any(|kind| {
        audit.signals.queries.contains(kind) && !population.signals.queries.contains(kind)
    })
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
    }
}

/// The metrics of one attack's scores, when membership is known.
fn measure(
    info: &'static attack::AttackInfo,
    all_scores: &[Option<f64>],
    population_scores: Option<&[f64]>,
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
    let auc_interval = metrics::auc_bootstrap_interval(
        scores,
        members,
        config.bootstrap_resamples,
        config.alpha,
        seed,
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
