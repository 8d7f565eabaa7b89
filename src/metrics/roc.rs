//! ROC curve with ties collapsed, AUC by trapezoids, TPR at a fixed FPR, advantage and
//! balanced accuracy (SPEC.md, "Metrics").

use super::{MetricsError, check_inputs};

/// A ROC curve: points with FPR ascending from (0, 0) to (1, 1). Point `k > 0` is what the
/// rule "member iff score >= thresholds[k - 1]" gives; records with equal scores share a point.
#[derive(Debug, Clone, PartialEq)]
pub struct Roc {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    /// Distinct scores, descending; one fewer than there are points.
    pub thresholds: Vec<f64>,
    /// Cumulative false positives at each point (integer form of `fpr`).
    pub false_positives: Vec<usize>,
    pub members: usize,
    pub non_members: usize,
}

impl Roc {
    /// Builds the curve from one score per record and its membership.
    pub fn new(scores: &[f64], members: &[bool]) -> Result<Roc, MetricsError> {
        let (n_pos, n_neg) = check_inputs(scores, members)?;
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));

        let mut roc = Roc {
            fpr: vec![0.0],
            tpr: vec![0.0],
            thresholds: Vec::new(),
            false_positives: vec![0],
            members: n_pos,
            non_members: n_neg,
        };
        let (mut tp, mut fp) = (0usize, 0usize);
        let mut k = 0;
        while k < order.len() {
            let threshold = scores[order[k]];
            while k < order.len() && scores[order[k]] == threshold {
                if members[order[k]] {
                    tp += 1;
                } else {
                    fp += 1;
                }
                k += 1;
            }
            roc.thresholds.push(threshold);
            roc.false_positives.push(fp);
            roc.fpr.push(fp as f64 / n_neg as f64);
            roc.tpr.push(tp as f64 / n_pos as f64);
        }
        Ok(roc)
    }

    /// Area under the curve by trapezoids (the Mann-Whitney statistic, ties counted ½).
    pub fn auc(&self) -> f64 {
        self.fpr
            .windows(2)
            .zip(self.tpr.windows(2))
            .map(|(f, t)| (f[1] - f[0]) * (t[1] + t[0]) / 2.0)
            .sum()
    }

    /// The largest TPR among points with FPR <= `alpha`, without interpolation; `None` ("not
    /// measurable") when `alpha` is positive but below 1/#non-members, where the data cannot
    /// resolve that rate. `alpha == 0` is measurable: the TPR with no false positive at all.
    pub fn tpr_at_fpr(&self, alpha: f64) -> Option<f64> {
        let allowed = alpha * self.non_members as f64;
        if alpha > 0.0 && allowed < 1.0 - 1e-9 {
            return None;
        }
        let allowed = (allowed + 1e-9).floor() as usize;
        self.false_positives
            .iter()
            .zip(&self.tpr)
            .filter(|(fp, _)| **fp <= allowed)
            .map(|(_, tpr)| *tpr)
            .last()
    }

    /// Membership advantage: `max |TPR - FPR|` over the curve.
    pub fn advantage(&self) -> f64 {
        self.points()
            .map(|(f, t)| (t - f).abs())
            .fold(0.0, f64::max)
    }

    /// Balanced accuracy of the best threshold: `max ½(TPR + 1 - FPR)`.
    pub fn balanced_accuracy(&self) -> f64 {
        self.points()
            .map(|(f, t)| 0.5 * (t + 1.0 - f))
            .fold(0.0, f64::max)
    }

    fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.fpr.iter().copied().zip(self.tpr.iter().copied())
    }
}

/// AUC of `scores` against `members` without keeping the curve (used by the bootstrap).
pub fn auc(scores: &[f64], members: &[bool]) -> Result<f64, MetricsError> {
    Ok(Roc::new(scores, members)?.auc())
}
