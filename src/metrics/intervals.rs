//! Clopper-Pearson exact binomial confidence intervals.

use super::{MetricsError, check_open_unit};
use statrs::function::beta::beta_reg;

/// Two-sided Clopper-Pearson interval at level `alpha` (0.05 gives a 95% interval) for
/// `successes` out of `trials`. With no trials the interval is the whole of [0, 1].
pub fn clopper_pearson(
    successes: usize,
    trials: usize,
    alpha: f64,
) -> Result<(f64, f64), MetricsError> {
    check_open_unit("the confidence level alpha", alpha)?;
    if successes > trials {
        return Err(MetricsError::OutOfRange {
            name: "successes / trials",
            range: "[0, 1]",
            value: successes as f64 / trials as f64,
        });
    }
    if trials == 0 {
        return Ok((0.0, 1.0));
    }
    let (k, n) = (successes as f64, trials as f64);
    let lower = if successes == 0 {
        0.0
    } else {
        beta_quantile(alpha / 2.0, k, n - k + 1.0)
    };
    let upper = if successes == trials {
        1.0
    } else {
        beta_quantile(1.0 - alpha / 2.0, k + 1.0, n - k)
    };
    Ok((lower, upper))
}

/// Quantile of Beta(a, b) by bisection on the regularised incomplete beta function, which
/// is monotone in x; 200 halvings reach the limit of f64.
fn beta_quantile(p: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid == lo || mid == hi {
            break;
        }
        if beta_reg(a, b, mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_clopper_pearson_values() {
        // scipy.stats.binomtest(k, n).proportion_ci(method="exact")
        let (lo, hi) = clopper_pearson(1, 1000, 0.05).unwrap();
        assert!(
            (lo - 2.5317e-5).abs() < 1e-8 && (hi - 0.0055589).abs() < 1e-6,
            "{lo} {hi}"
        );
        let (lo, hi) = clopper_pearson(5, 10, 0.05).unwrap();
        assert!(
            (lo - 0.187086).abs() < 1e-6 && (hi - 0.812914).abs() < 1e-6,
            "{lo} {hi}"
        );
    }

    #[test]
    fn edges_are_closed_at_zero_and_one() {
        assert_eq!(clopper_pearson(0, 10, 0.05).unwrap().0, 0.0);
        assert_eq!(clopper_pearson(10, 10, 0.05).unwrap().1, 1.0);
        assert_eq!(clopper_pearson(0, 0, 0.05).unwrap(), (0.0, 1.0));
        assert!(clopper_pearson(11, 10, 0.05).is_err());
        assert!(clopper_pearson(1, 10, 0.0).is_err());
    }
}
