//! The empirical ε lower bound of differential privacy (Jagielski et al. 2020; Nasr et al.
//! 2021): a (ε, δ)-DP training algorithm cannot let any test reach TPR and FPR outside
//! `TPR <= e^ε FPR + δ`, so the Clopper-Pearson bounds of an attack's error rates at a fixed
//! threshold give a lower bound on the ε the training actually has.

use super::{Confusion, MetricsError, clopper_pearson};
use serde::Serialize;

/// An ε lower bound with what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpsilonBound {
    pub epsilon: f64,
    pub delta: f64,
    /// Significance level of the Clopper-Pearson bounds.
    pub alpha: f64,
    pub fpr_upper: f64,
    pub fnr_upper: f64,
}

/// `ε̂ = max{0, ln((1-δ-FPR̄)/FNR̄), ln((1-δ-FNR̄)/FPR̄)}` with FPR̄ and FNR̄ the upper
/// Clopper-Pearson bounds (level `alpha`) of the false positive and false negative rates.
pub fn epsilon_lower_bound(
    counts: &Confusion,
    alpha: f64,
    delta: f64,
) -> Result<EpsilonBound, MetricsError> {
    if !(0.0..1.0).contains(&delta) {
        return Err(MetricsError::OutOfRange {
            name: "delta",
            range: "[0, 1)",
            value: delta,
        });
    }
    let (_, fpr_upper) = clopper_pearson(counts.fp, counts.fp + counts.tn, alpha)?;
    let (_, fnr_upper) = clopper_pearson(counts.fn_, counts.fn_ + counts.tp, alpha)?;
    let log_ratio = |num: f64, den: f64| {
        if num > 0.0 {
            (num / den).ln()
        } else {
            f64::NEG_INFINITY
        }
    };
    let epsilon = 0f64
        .max(log_ratio(1.0 - delta - fpr_upper, fnr_upper))
        .max(log_ratio(1.0 - delta - fnr_upper, fpr_upper));
    Ok(EpsilonBound {
        epsilon,
        delta,
        alpha,
        fpr_upper,
        fnr_upper,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(tp: usize, fp: usize) -> Confusion {
        Confusion {
            tp,
            fp,
            tn: 1000 - fp,
            fn_: 1000 - tp,
        }
    }

    #[test]
    fn spec_epsilon_vector_without_delta() {
        let b = epsilon_lower_bound(&counts(100, 1), 0.05, 0.0).unwrap();
        assert!((b.fpr_upper - 0.005559).abs() < 1e-6, "{}", b.fpr_upper);
        assert!((b.fnr_upper - 0.917895).abs() < 1e-6, "{}", b.fnr_upper);
        assert!((b.epsilon - 2.6926).abs() < 1e-4, "{}", b.epsilon);
    }

    #[test]
    fn spec_epsilon_vector_with_delta() {
        let b = epsilon_lower_bound(&counts(500, 10), 0.05, 1e-5).unwrap();
        assert!((b.epsilon - 3.2420).abs() < 1e-4, "{}", b.epsilon);
    }

    #[test]
    fn a_useless_attack_proves_nothing() {
        let b = epsilon_lower_bound(&counts(500, 500), 0.05, 0.0).unwrap();
        assert_eq!(b.epsilon, 0.0);
        assert!(epsilon_lower_bound(&counts(500, 500), 0.05, 1.0).is_err());
    }
}
