//! Seeded, stratified bootstrap confidence interval for the AUC.

use super::{MetricsError, check_inputs, check_open_unit};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// The fewest resamples SPEC.md allows.
pub const MIN_RESAMPLES: usize = 200;

/// Percentile interval (level `1 - alpha`) of the AUC over `resamples` bootstrap resamples.
/// Members and non-members are resampled separately (with replacement, each to its own
/// size) so that every resample has both. Resample `r` draws from ChaCha8 seeded with `seed`
/// on stream `r`, so resamples run in parallel and the same `seed` gives the same interval
/// whatever the thread count.
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
    let groups = TieGroups::of(scores);
    let group_of = |want: bool| -> Vec<u32> {
        scores
            .iter()
            .zip(members)
            .filter(|(_, m)| **m == want)
            .map(|(s, _)| groups.of_score(*s) as u32)
            .collect()
    };
    let (pos, neg) = (group_of(true), group_of(false));
    let streams: Vec<u64> = (0..resamples as u64).collect();
    let mut aucs = crate::parallel::map_ordered(&streams, |&stream| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        // Members' and non-members' draws of each group side by side, as 32-bit counts: one
        // cache line holds both, and a million groups fit in a last-level cache.
        let mut drawn = vec![[0u32; 2]; groups.len()];
        for _ in 0..pos.len() {
            drawn[pos[draw(&mut rng, pos.len())] as usize][0] += 1;
        }
        for _ in 0..neg.len() {
            drawn[neg[draw(&mut rng, neg.len())] as usize][1] += 1;
        }
        trapezoid_auc(&drawn, pos.len(), neg.len())
    });
    aucs.sort_by(f64::total_cmp);
    Ok((
        quantile_sorted(&aucs, alpha / 2.0),
        quantile_sorted(&aucs, 1.0 - alpha / 2.0),
    ))
}

/// The distinct scores of a record set, highest first, with scores that compare equal
/// (`0.0 == -0.0`) in one group, as [`super::Roc`] groups ties: a resample holds copies of
/// these scores, so its ROC is a walk over these groups with the resample's counts.
struct TieGroups {
    /// The first score of each group, in `total_cmp` order, descending.
    leaders: Vec<f64>,
}

impl TieGroups {
    fn of(scores: &[f64]) -> TieGroups {
        let mut sorted = scores.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let mut leaders: Vec<f64> = Vec::new();
        for s in sorted {
            if leaders.last() != Some(&s) {
                leaders.push(s);
            }
        }
        TieGroups { leaders }
    }

    fn len(&self) -> usize {
        self.leaders.len()
    }

    /// The group of a score that is one of the set's.
    fn of_score(&self, score: f64) -> usize {
        self.leaders
            .partition_point(|leader| leader.total_cmp(&score).is_gt() && *leader != score)
    }
}

/// The trapezoid AUC of a resample from how many members and non-members it drew in each
/// tie group: the same points, in the same order, with the same arithmetic as
/// [`super::Roc::auc`] on the resampled scores, without sorting them again.
fn trapezoid_auc(drawn: &[[u32; 2]], n_pos: usize, n_neg: usize) -> f64 {
    let (mut tp, mut fp) = (0usize, 0usize);
    let (mut last_fpr, mut last_tpr) = (0.0, 0.0);
    let mut area = -0.0;
    for &[p, n] in drawn {
        if p + n == 0 {
            continue;
        }
        tp += p as usize;
        fp += n as usize;
        let (fpr, tpr) = (fp as f64 / n_neg as f64, tp as f64 / n_pos as f64);
        area += (fpr - last_fpr) * (tpr + last_tpr) / 2.0;
        (last_fpr, last_tpr) = (fpr, tpr);
    }
    area
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
    use crate::metrics::roc::auc;
    use proptest::prelude::*;

    /// The interval by its definition: every resample's scores drawn, sorted into a ROC.
    fn by_definition(
        scores: &[f64],
        members: &[bool],
        resamples: usize,
        alpha: f64,
        seed: u64,
    ) -> (f64, f64) {
        let pick = |want: bool| -> Vec<f64> {
            scores
                .iter()
                .zip(members)
                .filter(|(_, m)| **m == want)
                .map(|(s, _)| *s)
                .collect()
        };
        let (pos, neg) = (pick(true), pick(false));
        let mut labels = vec![true; pos.len()];
        labels.resize(scores.len(), false);
        let mut aucs: Vec<f64> = (0..resamples as u64)
            .map(|stream| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(stream);
                let mut sample: Vec<f64> = (0..pos.len())
                    .map(|_| pos[draw(&mut rng, pos.len())])
                    .collect();
                sample.extend((0..neg.len()).map(|_| neg[draw(&mut rng, neg.len())]));
                auc(&sample, &labels).unwrap()
            })
            .collect();
        aucs.sort_by(f64::total_cmp);
        (
            quantile_sorted(&aucs, alpha / 2.0),
            quantile_sorted(&aucs, 1.0 - alpha / 2.0),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn the_interval_is_the_definitions_bit_for_bit(
            scores in prop::collection::vec(prop_oneof![-3i32..4, Just(0)].prop_map(|v| f64::from(v) / 2.0), 2..40),
            flip in any::<u64>(),
            seed in 0u64..1000,
        ) {
            let mut members: Vec<bool> = (0..scores.len()).map(|i| (flip >> (i % 64)) & 1 == 1).collect();
            members[0] = true;
            members[1] = false;
            let mut scores = scores;
            scores[0] = -0.0;
            let fast = auc_bootstrap_interval(&scores, &members, 200, 0.05, seed).unwrap();
            let slow = by_definition(&scores, &members, 200, 0.05, seed);
            prop_assert_eq!(fast.0.to_bits(), slow.0.to_bits());
            prop_assert_eq!(fast.1.to_bits(), slow.1.to_bits());
        }
    }

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

    /// Prints the time of a million-record interval: `cargo test --release --lib
    /// bootstrap_of_a_million -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn bootstrap_of_a_million() {
        let n = 1_000_000;
        let scores: Vec<f64> = (0..n)
            .map(|i| ((i as u64 * 2_654_435_761) % 1_000_003) as f64)
            .collect();
        let members: Vec<bool> = (0..n).map(|i| (i * 7) % 10 < 5).collect();
        let start = std::time::Instant::now();
        let interval = auc_bootstrap_interval(&scores, &members, 200, 0.05, 1).unwrap();
        eprintln!(
            "200 resamples of {n}: {:.2} s, {interval:?}",
            start.elapsed().as_secs_f64()
        );
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
