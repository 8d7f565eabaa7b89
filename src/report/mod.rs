//! The audit report: one versioned serde type written as JSON (schema in `docs/report.md`),
//! a per-record table written as CSV, and the plain-text summary the CLI prints.
//!
//! Reports hold no timestamps or paths beyond what the user passed, and floats are written
//! in their shortest round-trip form, so the same inputs and seed give byte-identical files.

mod histogram;
pub mod html;
mod per_class;
mod per_record;
mod summary;
mod svg_chart;
pub mod verify;

pub use histogram::Histogram;
pub use per_class::{ClassRow, PerClassTable};
pub use per_record::{PerRecordTable, RowPage, RowQuery};

use crate::attack::AttackInfo;
use crate::metrics::{Confusion, EpsilonBound};
use crate::model::OutputKind;
use crate::provenance::Provenance;
use crate::records::Records;
use crate::signal_matrix::ReferenceSignals;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Version of the report schema; bumped on any incompatible change.
pub const REPORT_VERSION: u32 = 4;

/// A problem writing a report.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("cannot serialise the report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write the per-record table: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Everything an audit found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub report_version: u32,
    pub mialab_version: String,
    pub settings: Settings,
    pub model: ModelSection,
    pub records: DataSection,
    pub population: Option<DataSection>,
    pub references: Option<ReferenceSection>,
    pub utility: Utility,
    pub attacks: Vec<AttackResult>,
    /// What about the inputs may make the numbers wrong (e.g. population records that repeat
    /// audit records), in words; absent when nothing was found.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Report {
    /// The report as pretty-printed JSON with a trailing newline.
    pub fn to_json(&self) -> Result<String, ReportError> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }

    /// A fixed-width table of AUC and low-FPR TPR per attack, for terminals.
    pub fn summary_table(&self) -> String {
        summary::table(self)
    }
}

/// The settings the audit ran with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub seed: u64,
    pub temperature: f64,
    pub output_kind: &'static str,
    pub bootstrap_resamples: usize,
    pub alpha: f64,
    pub delta: f64,
    pub member_prior: f64,
    pub operating_fprs: Vec<f64>,
    /// Output defences applied to the target's answers, in order (empty: none).
    pub defences: Vec<String>,
    /// Every setting of the audit, as `mialab settings` prints them: what `mialab audit
    /// --verify` runs again.
    pub config: crate::config::AuditConfig,
}

/// The target model as audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSection {
    pub source: String,
    pub sha256: String,
    pub input: String,
    pub output: String,
    pub output_kind: OutputKind,
    pub expanded_single_output: bool,
    pub classes: usize,
    pub parameters: u64,
    /// The engine that ran the target (tract or the GPU kernels) and why that one.
    #[serde(default)]
    pub backend: Option<crate::engine::BackendUsed>,
}

/// A record set as read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSection {
    pub source: String,
    pub sha256: String,
    pub records: usize,
    pub record_shape: Vec<usize>,
    pub members: Option<usize>,
    pub non_members: Option<usize>,
    pub class_names: Option<Vec<String>>,
}

impl DataSection {
    /// `record_shape`: one record's shape as the model takes it.
    pub fn new(records: &Records, provenance: &Provenance, record_shape: &[usize]) -> DataSection {
        let counts = records.membership_counts();
        DataSection {
            source: provenance.source.clone(),
            sha256: provenance.sha256.clone(),
            records: records.len(),
            record_shape: record_shape.to_vec(),
            members: counts.map(|c| c.0),
            non_members: counts.map(|c| c.1),
            class_names: records.classes.clone(),
        }
    }
}

/// The reference models as used: how many, and how many of them trained (IN) or did not
/// train (OUT) on each audit record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferenceSection {
    pub source: String,
    /// SHA-256 of the keep-mask.
    pub keep_mask_sha256: String,
    pub models: usize,
    /// Each reference model's file and SHA-256, in keep-mask column order (absent in reports
    /// of signals files written before they were recorded).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_files: Vec<Provenance>,
    pub in_per_record: CountRange,
    pub out_per_record: CountRange,
    /// Records with no IN model: online attacks cannot score them.
    pub records_without_in: usize,
    /// Records with no OUT model: no reference attack can score them.
    pub records_without_out: usize,
}

/// Smallest, median and largest of a per-record count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CountRange {
    pub min: usize,
    pub median: f64,
    pub max: usize,
}

impl CountRange {
    fn of(mut counts: Vec<usize>) -> CountRange {
        counts.sort_unstable();
        let n = counts.len();
        let median = match n {
            0 => 0.0,
            _ if n % 2 == 1 => counts[n / 2] as f64,
            _ => (counts[n / 2 - 1] + counts[n / 2]) as f64 / 2.0,
        };
        CountRange {
            min: counts.first().copied().unwrap_or(0),
            median,
            max: counts.last().copied().unwrap_or(0),
        }
    }
}

impl ReferenceSection {
    pub fn new(
        provenance: &Provenance,
        model_files: &[Provenance],
        matrix: &ReferenceSignals,
    ) -> ReferenceSection {
        let (ins, outs): (Vec<usize>, Vec<usize>) =
            (0..matrix.records()).map(|i| matrix.counts(i)).unzip();
        ReferenceSection {
            source: provenance.source.clone(),
            keep_mask_sha256: provenance.sha256.clone(),
            models: matrix.models(),
            model_files: model_files.to_vec(),
            records_without_in: ins.iter().filter(|&&c| c == 0).count(),
            records_without_out: outs.iter().filter(|&&c| c == 0).count(),
            in_per_record: CountRange::of(ins),
            out_per_record: CountRange::of(outs),
        }
    }
}

/// The target's accuracy on the audit records: the gap between members and non-members is
/// the overfitting that threshold attacks exploit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Utility {
    /// `None` (null) where the outputs do not say which class the target predicted
    /// (provided losses).
    pub accuracy: Option<f64>,
    pub member_accuracy: Option<f64>,
    pub non_member_accuracy: Option<f64>,
}

impl Utility {
    /// From whether the target's top class is each record's label (`None`: not known).
    pub fn new(correct: Option<&[bool]>, membership: Option<&[bool]>) -> Utility {
        let Some(correct) = correct else {
            return Utility {
                accuracy: None,
                member_accuracy: None,
                non_member_accuracy: None,
            };
        };
        let accuracy_of = |keep: &dyn Fn(usize) -> bool| {
            let (hits, total) = correct
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(*i))
                .fold((0usize, 0usize), |(h, t), (_, &c)| {
                    (h + usize::from(c), t + 1)
                });
            (total > 0).then(|| hits as f64 / total as f64)
        };
        Utility {
            accuracy: Some(accuracy_of(&|_| true).unwrap_or(0.0)),
            member_accuracy: membership.and_then(|m| accuracy_of(&|i| m[i])),
            non_member_accuracy: membership.and_then(|m| accuracy_of(&|i| !m[i])),
        }
    }
}

/// One attack's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttackResult {
    pub id: String,
    pub title: String,
    pub paper: String,
    /// ROC metrics; absent when membership is unknown.
    pub metrics: Option<RocMetrics>,
    pub operating_points: Vec<OperatingPoint>,
    /// Why something is missing, in words.
    pub note: Option<String>,
    /// Parameters the attack chose or resolved (e.g. RMIA's tuned `a`).
    pub detail: Option<String>,
    /// Something to act on before trusting the result (a setting that seems to be missing).
    pub warning: Option<String>,
    /// Records the attack scored; metrics are over these.
    pub scored: usize,
    /// Ids of records the attack could not score (no IN or no OUT reference model).
    pub unscored_ids: Vec<String>,
}

impl AttackResult {
    pub fn new(info: &AttackInfo) -> AttackResult {
        AttackResult {
            id: info.id.to_string(),
            title: info.title.to_string(),
            paper: info.paper.to_string(),
            metrics: None,
            operating_points: Vec::new(),
            note: None,
            detail: None,
            warning: None,
            scored: 0,
            unscored_ids: Vec::new(),
        }
    }
}

/// Threshold-free metrics over the whole ROC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocMetrics {
    pub auc: f64,
    /// Bootstrap percentile interval at level 1 - alpha.
    pub auc_interval: (f64, f64),
    /// Whether that interval contains 0.5: no evidence that the attack beats chance.
    pub chance_in_interval: bool,
    pub advantage: f64,
    pub balanced_accuracy: f64,
    pub tpr_at_fpr: Vec<TprAtFpr>,
    /// ROC points, FPR ascending from 0 to 1.
    pub roc_fpr: Vec<f64>,
    pub roc_tpr: Vec<f64>,
}

impl RocMetrics {
    /// The TPR reported at `fpr` (one of the reported rates); `None` when not measurable or
    /// not reported.
    pub fn tpr_at(&self, fpr: f64) -> Option<f64> {
        self.tpr_at_fpr
            .iter()
            .find(|t| (t.fpr - fpr).abs() < 1e-12)?
            .tpr
    }
}

/// TPR at a fixed FPR; `tpr` is `null` when the FPR is below 1/#non-members.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TprAtFpr {
    pub fpr: f64,
    pub tpr: Option<f64>,
}

/// The attack used as a decision rule at one target FPR.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatingPoint {
    pub target_fpr: f64,
    /// How the threshold was chosen: `population` (the (1 − α)-quantile of population
    /// scores, which are distributed like the audit non-members') or `cross-fit` (on each
    /// half of the audit set's non-members, applied to the other half, counts pooled).
    pub method: &'static str,
    /// Records scoring `>=` a threshold are called members: one threshold, or one per half.
    pub thresholds: Vec<f64>,
    /// Whether the target FPR lies in the achieved FPR's Clopper-Pearson interval; when not
    /// (ties at the top of the scores, too few calibration records), the rule and its ε
    /// hold for the FPR achieved, not the one asked.
    pub reachable: bool,
    pub counts: Confusion,
    pub tpr: f64,
    pub fpr: f64,
    /// Clopper-Pearson intervals at level 1 - alpha.
    pub tpr_interval: (f64, f64),
    pub fpr_interval: (f64, f64),
    /// Positive predictive value at the configured member prior; null when nobody is flagged.
    pub ppv: Option<f64>,
    pub epsilon: EpsilonBound,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `bytes` as lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
