//! Choosing a decision threshold for a target false-positive rate α.
//!
//! On population data (known non-members other than the audited records) the threshold is
//! the empirical (1-α)-quantile of their scores, so the audit's error rates at it are honest
//! estimates. Chosen on the audit set's own ROC it is the best the attack could have done
//! with hindsight, and bounds computed there are labelled optimistic.

use super::{Roc, allowed_false_positives};

/// The smallest threshold `t` such that at most `floor(α·Z)` of the `Z` population scores
/// are `>= t`: just above the `(floor(α·Z) + 1)`-th largest population score. `None` when
/// α is below 1/Z, a rate this population cannot resolve.
pub fn population_threshold(population_scores: &[f64], alpha: f64) -> Option<f64> {
    let allowed = allowed_false_positives(alpha, population_scores.len())?;
    let mut sorted = population_scores.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    Some(match sorted.get(allowed) {
        Some(v) => v.next_up(),
        None => f64::NEG_INFINITY,
    })
}

/// The threshold of the ROC point with the largest TPR at FPR <= α; `None` when α cannot
/// be resolved with this many non-members (see [`Roc::tpr_at_fpr`]).
pub fn roc_threshold(roc: &Roc, alpha: f64) -> Option<f64> {
    let allowed = allowed_false_positives(alpha, roc.non_members)?;
    let point = roc.false_positives.iter().rposition(|&fp| fp <= allowed)?;
    Some(match point {
        0 => roc
            .thresholds
            .first()
            .map_or(f64::INFINITY, |t| t.next_up()),
        k => roc.thresholds[k - 1],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Confusion;

    #[test]
    fn population_threshold_keeps_population_fpr_at_most_alpha() {
        let pop: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(
            population_threshold(&pop, 0.001),
            None,
            "0.1% of 100 is not one record"
        );
        for alpha in [0.01, 0.05, 0.1, 0.5] {
            let t = population_threshold(&pop, alpha).unwrap();
            let flagged = pop.iter().filter(|s| **s >= t).count();
            assert_eq!(
                flagged,
                (alpha * 100.0 + 1e-9).floor() as usize,
                "alpha {alpha}"
            );
        }
    }

    #[test]
    fn roc_threshold_reproduces_the_roc_point() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0];
        let members = [
            true, true, false, true, false, false, true, false, false, false,
        ];
        let roc = Roc::new(&scores, &members).unwrap();
        let t = roc_threshold(&roc, 1.0 / 6.0).unwrap();
        let c = Confusion::at_threshold(&scores, &members, t);
        assert_eq!((c.tp, c.fp), (3, 1));
        assert_eq!(Some(c.tpr()), roc.tpr_at_fpr(1.0 / 6.0));
        assert_eq!(roc_threshold(&roc, 0.01), None);
    }
}
