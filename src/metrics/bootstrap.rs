//! Seeded, stratified bootstrap confidence interval for the AUC.

use super::{MetricsError, check_inputs, check_open_unit, roc::auc};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// The fewest resamples SPEC.md allows.
pub const MIN_RESAMPLES: usize = 200;

/// Percentile interval (level `1 - alpha`) of the AUC over `resamples` bootstrap resamples.
/// Members and non-members are resampled separately (with replacement, each to its own
/// size) so that every resample has both; the same `seed` gives the same interval.
pub fn auc_bootstrap_interval(
    scores: &[f64],
    members: &[bool],
    resamples: usize,
    alpha: f64,
    seed: u64,
) -> Result<(f64, f64), MetricsError> {
    check_inputs(scores, members)?;
    check_open_unit("the confidence level alpha", alpha)?;
    if resamples < MIN_RESAMPLES {
        return Err(MetricsError::TooFewResamples {
            min: MIN_RESAMPLES,
            got: resamples,
        });
    }
    let pos: Vec<f64> = scores
        .iter()
        .zip(members)
        .filter(|(_, m)| **m)
        .map(|(s, _)| *s)
        .collect();
    let neg: Vec<f64> = scores
        .iter()
        .zip(members)
        .filter(|(_, m)| !**m)
        .map(|(s, _)| *s)
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sample = Vec::with_capacity(scores.len());
    let mut labels = vec![true; pos.len()];
    labels.resize(scores.len(), false);
    let mut aucs = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        sample.clear();
        sample.extend((0..pos.len()).map(|_| pos[draw(&mut rng, pos.len())]));
        sample.extend((0..neg.len()).map(|_| neg[draw(&mut rng, neg.len())]));
        aucs.push(auc(&sample, &labels)?);
    }
    aucs.sort_by(f64::total_cmp);
    Ok((
        quantile_sorted(&aucs, alpha / 2.0),
        quantile_sorted(&aucs, 1.0 - alpha / 2.0),
    ))
}

/// Linear-interpolated quantile of sorted values (numpy's default rule).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// A uniform index below `n`, drawn as a `u32` so that native and wasm32 builds (whose
/// `usize` widths differ) draw the same sequence.
fn draw(rng: &mut ChaCha8Rng, n: usize) -> usize {
    rng.random_range(0..n as u32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_interval_and_it_contains_the_auc() {
        let scores: Vec<f64> = (0..60).map(|k| ((k * 37) % 60) as f64).collect();
        let members: Vec<bool> = (0..60).map(|k| k % 3 != 0).collect();
        let a = auc_bootstrap_interval(&scores, &members, 300, 0.05, 7).unwrap();
        let b = auc_bootstrap_interval(&scores, &members, 300, 0.05, 7).unwrap();
        let c = auc_bootstrap_interval(&scores, &members, 300, 0.05, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let auc = auc(&scores, &members).unwrap();
        assert!(a.0 <= auc && auc <= a.1, "{a:?} {auc}");
        assert!(auc_bootstrap_interval(&scores, &members, 199, 0.05, 7).is_err());
    }

    #[test]
    fn a_perfect_attack_has_a_degenerate_interval() {
        let scores = [3.0, 2.0, 1.0, 0.0];
        let members = [true, true, false, false];
        assert_eq!(
            auc_bootstrap_interval(&scores, &members, 200, 0.05, 0).unwrap(),
            (1.0, 1.0)
        );
    }
}
