//! ROC curve with ties collapsed, AUC by trapezoids, TPR at a fixed FPR, advantage and
//! balanced accuracy (SPEC.md, "Metrics").

use super::{MetricsError, allowed_false_positives, check_inputs};

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
        let allowed = allowed_false_positives(alpha, self.non_members)?;
        self.false_positives
            .iter()
            .zip(&self.tpr)
            .rfind(|(fp, _)| **fp <= allowed)
            .map(|(_, tpr)| *tpr)
    }

    /// The curve to draw: every point when there are at most `max_points`, else a subset
    /// that keeps the first and last point wherever either rate enters a new bin, of
    /// `max_points / 8` equal bins on a linear axis and as many on a log axis from one record
    /// to 1. Lines between kept points then stay within one bin of the full curve on linear
    /// and log-log axes, and the size no longer grows with the records.
    pub fn plotted(&self, max_points: usize) -> (Vec<f64>, Vec<f64>) {
        let keep = self.plotted_points(max_points);
        (
            keep.iter().map(|&k| self.fpr[k]).collect(),
            keep.iter().map(|&k| self.tpr[k]).collect(),
        )
    }

    fn plotted_points(&self, max_points: usize) -> Vec<usize> {
        let last = self.fpr.len() - 1;
        if last < max_points {
            return (0..=last).collect();
        }
        let bins = (max_points / 8).max(1) as f64;
        let key = |k: usize| self.plot_bins(k, bins);
        (0..=last)
            .filter(|&k| k == 0 || k == last || key(k) != key(k - 1) || key(k) != key(k + 1))
            .collect()
    }

    /// Point `k`'s linear bins and log bins (from one record to 1; below: bin -1) of FPR and TPR.
    fn plot_bins(&self, k: usize, bins: f64) -> [i64; 4] {
        let log_bin = |rate: f64, count: usize| -> i64 {
            let decades = (count as f64).log10();
            if rate <= 0.0 || decades <= 0.0 {
                -1
            } else {
                (((rate * count as f64).log10() / decades) * bins).floor() as i64
            }
        };
        let (f, t) = (self.fpr[k], self.tpr[k]);
        [
            (f * bins).floor() as i64,
            (t * bins).floor() as i64,
            log_bin(f, self.non_members),
            log_bin(t, self.members),
        ]
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split(members: &[f64], non_members: &[f64]) -> (Vec<f64>, Vec<bool>) {
        let scores = members.iter().chain(non_members).copied().collect();
        let labels = members
            .iter()
            .map(|_| true)
            .chain(non_members.iter().map(|_| false))
            .collect();
        (scores, labels)
    }

    #[test]
    fn spec_auc_vectors() {
        let (s, m) = split(&[0.9, 0.8, 0.7], &[0.6, 0.5, 0.4]);
        assert_eq!(Roc::new(&s, &m).unwrap().auc(), 1.0);
        let (s, m) = split(&[0.3; 4], &[0.3; 5]);
        assert_eq!(Roc::new(&s, &m).unwrap().auc(), 0.5);
        let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<_>>();
        let (s, m) = split(
            &neg(&[0.1, 0.2, 1.3, 0.4, 0.5, 0.6]),
            &neg(&[1.1, 1.2, 1.3, 0.4, 1.5, 1.6]),
        );
        assert!((Roc::new(&s, &m).unwrap().auc() - 0.833).abs() < 5e-4);
    }

    #[test]
    fn plotted_curves_keep_small_rocs_whole_and_bound_large_ones() {
        let n = 40_000;
        let scores: Vec<f64> = (0..n).map(|i| ((i * 7919) % n) as f64).collect();
        let members: Vec<bool> = (0..n)
            .map(|i| (i * 7919) % n > n / 3 && i % 3 != 0)
            .collect();
        let roc = Roc::new(&scores, &members).unwrap();
        assert_eq!(
            roc.plotted(roc.fpr.len()),
            (roc.fpr.clone(), roc.tpr.clone())
        );
        let (fpr, tpr) = roc.plotted(4000);
        assert!(fpr.len() <= 4000 && fpr.len() > 100, "{}", fpr.len());
        assert_eq!((fpr[0], tpr[0]), (0.0, 0.0));
        assert_eq!((fpr[fpr.len() - 1], tpr[tpr.len() - 1]), (1.0, 1.0));
        assert!(fpr.windows(2).all(|w| w[0] <= w[1]));
        // A dropped point lies inside a run of points sharing all four bins, whose first
        // and last points are kept.
        let kept = roc.plotted_points(4000);
        let bins = 500.0;
        for pair in kept.windows(2) {
            if pair[1] > pair[0] + 1 {
                assert_eq!(roc.plot_bins(pair[0], bins), roc.plot_bins(pair[1], bins));
            }
        }
    }

    #[test]
    fn ties_collapse_into_one_point() {
        let (s, m) = split(&[1.0, 1.0], &[1.0, 0.0]);
        let roc = Roc::new(&s, &m).unwrap();
        assert_eq!(roc.fpr, vec![0.0, 0.5, 1.0]);
        assert_eq!(roc.tpr, vec![0.0, 1.0, 1.0]);
        assert_eq!(roc.thresholds, vec![1.0, 0.0]);
    }

    #[test]
    fn tpr_at_fpr_takes_the_largest_tpr_without_interpolation() {
        // Non-members 0..10 at scores 0.0..0.9, members at 0.95, 0.85, 0.05.
        let non: Vec<f64> = (0..10).map(|k| k as f64 / 10.0).collect();
        let (s, m) = split(&[0.95, 0.85, 0.05], &non);
        let roc = Roc::new(&s, &m).unwrap();
        assert_eq!(roc.tpr_at_fpr(0.0), Some(1.0 / 3.0));
        assert_eq!(roc.tpr_at_fpr(0.1), Some(2.0 / 3.0));
        assert_eq!(roc.tpr_at_fpr(0.15), Some(2.0 / 3.0));
        assert_eq!(roc.tpr_at_fpr(0.01), None, "0.01 < 1/10 non-members");
        assert!((roc.advantage() - (2.0 / 3.0 - 0.1)).abs() < 1e-12);
        assert!((roc.balanced_accuracy() - 0.5 * (2.0 / 3.0 + 0.9)).abs() < 1e-12);
    }

    #[test]
    fn errors_on_one_class_nan_and_length_mismatch() {
        assert!(matches!(
            Roc::new(&[0.1, 0.2], &[true, true]),
            Err(MetricsError::OneClassOnly { .. })
        ));
        assert_eq!(
            Roc::new(&[0.1, f64::NAN], &[true, false]),
            Err(MetricsError::NanScore { index: 1 })
        );
        assert!(matches!(
            Roc::new(&[0.1], &[true, false]),
            Err(MetricsError::LengthMismatch { .. })
        ));
    }

    fn scored_sets() -> impl Strategy<Value = (Vec<f64>, Vec<bool>)> {
        prop::collection::vec((-50i32..50, any::<bool>()), 2..80).prop_filter_map(
            "needs both classes",
            |v| {
                let scores: Vec<f64> = v.iter().map(|(s, _)| *s as f64 / 4.0).collect();
                let labels: Vec<bool> = v.iter().map(|(_, m)| *m).collect();
                (labels.iter().any(|m| *m) && labels.iter().any(|m| !*m))
                    .then_some((scores, labels))
            },
        )
    }

    proptest! {
        #[test]
        fn auc_lies_in_unit_interval_and_equals_mann_whitney((s, m) in scored_sets()) {
            let auc = Roc::new(&s, &m).unwrap().auc();
            prop_assert!((0.0..=1.0).contains(&auc));
            let (mut wins, mut pairs) = (0.0, 0.0);
            for (a, _) in s.iter().zip(&m).filter(|(_, m)| **m) {
                for (b, _) in s.iter().zip(&m).filter(|(_, m)| !**m) {
                    pairs += 1.0;
                    wins += if a > b { 1.0 } else if a == b { 0.5 } else { 0.0 };
                }
            }
            prop_assert!((auc - wins / pairs).abs() < 1e-12);
        }

        #[test]
        fn tpr_is_non_decreasing_in_fpr((s, m) in scored_sets()) {
            let roc = Roc::new(&s, &m).unwrap();
            for w in roc.fpr.windows(2).zip(roc.tpr.windows(2)) {
                prop_assert!(w.0[1] >= w.0[0] && w.1[1] >= w.1[0]);
            }
            prop_assert_eq!((roc.fpr[0], roc.tpr[0]), (0.0, 0.0));
            prop_assert_eq!((*roc.fpr.last().unwrap(), *roc.tpr.last().unwrap()), (1.0, 1.0));
            let alphas = [0.0, 1e-3, 1e-2, 0.1, 0.3, 1.0];
            let tprs: Vec<f64> = alphas.iter().filter_map(|a| roc.tpr_at_fpr(*a)).collect();
            prop_assert!(tprs.windows(2).all(|w| w[1] >= w[0]));
        }

        #[test]
        fn metrics_are_unchanged_by_a_strictly_increasing_transform((s, m) in scored_sets()) {
            let t: Vec<f64> = s.iter().map(|x| (x / 3.0).exp() * 7.0 - 2.0).collect();
            let (a, b) = (Roc::new(&s, &m).unwrap(), Roc::new(&t, &m).unwrap());
            prop_assert_eq!(a.auc(), b.auc());
            prop_assert_eq!(&a.fpr, &b.fpr);
            prop_assert_eq!(&a.tpr, &b.tpr);
            prop_assert_eq!(a.advantage(), b.advantage());
            for alpha in [0.0, 0.01, 0.1, 0.5] {
                prop_assert_eq!(a.tpr_at_fpr(alpha), b.tpr_at_fpr(alpha));
            }
        }
    }
}
