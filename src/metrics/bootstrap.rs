//! Seeded, stratified bootstrap confidence intervals for the AUC.
//!
//! An audit measures many attacks over the same records, so a resample is drawn once and
//! every attack's AUC is read off it: the draws (the costly part: a random number per
//! record and resample) are shared, and each attack only walks its records in score order
//! adding up how often the resample drew each one, for a few resamples side by side. Every
//! attack's interval is the one it would get alone, bit for bit.

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
    let intervals = auc_bootstrap_intervals(&[scores], members, resamples, alpha, seed)?;
    Ok(intervals[0])
}

/// [`auc_bootstrap_interval`] of several score sets over the same records (one per attack),
/// each the same as alone, drawing every resample once for all of them.
pub fn auc_bootstrap_intervals(
    score_sets: &[&[f64]],
    members: &[bool],
    resamples: usize,
    alpha: f64,
    seed: u64,
) -> Result<Vec<(f64, f64)>, MetricsError> {
    for scores in score_sets {
        check_inputs(scores, members)?;
    }
    check_open_unit("the confidence level alpha", alpha)?;
    if resamples < MIN_RESAMPLES {
        return Err(MetricsError::TooFewResamples {
            min: MIN_RESAMPLES,
            got: resamples,
        });
    }
    if score_sets.is_empty() {
        return Ok(Vec::new());
    }
    let draws = Draws::new(members);
    let walks: Vec<ScoreWalk> = score_sets
        .iter()
        .map(|scores| ScoreWalk::new(scores, members))
        .collect();
    let firsts: Vec<u64> = (0..resamples as u64).step_by(TOGETHER).collect();
    let twice_pairs = 2 * draws.members.len() as u64 * draws.non_members.len() as u64;
    // For each group of resamples, each score set's AUC in every resample of the group.
    let per_group = crate::parallel::map_ordered(&firsts, |&first| {
        let streams = first..(first + TOGETHER as u64).min(resamples as u64);
        let drawn = (streams.end - streams.start) as usize;
        let counts = draws.resamples_side_by_side(seed, streams);
        walks
            .iter()
            .map(|walk| walk.aucs(&counts, twice_pairs)[..drawn].to_vec())
            .collect::<Vec<Vec<f64>>>()
    });
    Ok((0..score_sets.len())
        .map(|set| {
            let mut aucs: Vec<f64> = per_group
                .iter()
                .flat_map(|group| group[set].iter().copied())
                .collect();
            aucs.sort_by(f64::total_cmp);
            (
                quantile_sorted(&aucs, alpha / 2.0),
                quantile_sorted(&aucs, 1.0 - alpha / 2.0),
            )
        })
        .collect())
}

/// Resamples walked side by side: one pass over an attack's records in score order reads
/// each record's counts in all of them at once (adjacent in memory) and keeps their sums apart,
/// so that the passes' gathers and additions overlap instead of waiting on one another.
const TOGETHER: usize = 4;

/// Which records a resample draws from: the members' and the non-members' positions.
struct Draws {
    members: Vec<u32>,
    non_members: Vec<u32>,
}

impl Draws {
    fn new(members: &[bool]) -> Draws {
        let positions = |want: bool| -> Vec<u32> {
            (0..members.len() as u32)
                .filter(|&i| members[i as usize] == want)
                .collect()
        };
        Draws {
            members: positions(true),
            non_members: positions(false),
        }
    }

    /// [`Draws::resample`] of each stream in `streams` (at most [`TOGETHER`]), record by
    /// record: entry `[i][r]` is how many times the `r`-th resample draws record `i` (0 past
    /// the last stream).
    fn resamples_side_by_side(
        &self,
        seed: u64,
        streams: std::ops::Range<u64>,
    ) -> Vec<[u32; TOGETHER]> {
        let mut side_by_side = vec![[0u32; TOGETHER]; self.members.len() + self.non_members.len()];
        for (r, stream) in streams.enumerate() {
            for (record, count) in self.resample(seed, stream).into_iter().enumerate() {
                side_by_side[record][r] = count;
            }
        }
        side_by_side
    }

    /// How many times resample `stream` of `seed` draws each record: as many members as
    /// there are, then as many non-members. A call of its own per resample (see
    /// [`ScoreWalk::aucs`]).
    #[inline(never)]
    fn resample(&self, seed: u64, stream: u64) -> Vec<u32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        let mut counts = vec![0u32; self.members.len() + self.non_members.len()];
        for side in [&self.members, &self.non_members] {
            for _ in 0..side.len() {
                counts[side[draw(&mut rng, side.len())] as usize] += 1;
            }
        }
        counts
    }
}

/// One score set's records in descending score order, cut into tie groups (scores that
/// compare equal, `0.0 == -0.0` included, as [`super::Roc`] groups ties): a resample holds
/// copies of these records, so its ROC is a walk over these groups with the resample's
/// counts, without sorting again.
struct ScoreWalk {
    /// Record positions in score order, each shifted left by one with its membership in
    /// the lowest bit.
    records: Vec<u32>,
    /// Where each tie group ends in `records`.
    group_ends: Vec<u32>,
}

impl ScoreWalk {
    fn new(scores: &[f64], members: &[bool]) -> ScoreWalk {
        let mut order: Vec<u32> = (0..scores.len() as u32).collect();
        order.sort_by(|&a, &b| scores[b as usize].total_cmp(&scores[a as usize]));
        let mut group_ends = Vec::new();
        for (k, pair) in order.windows(2).enumerate() {
            if scores[pair[0] as usize] != scores[pair[1] as usize] {
                group_ends.push(k as u32 + 1);
            }
        }
        if !order.is_empty() {
            group_ends.push(order.len() as u32);
        }
        ScoreWalk {
            records: order
                .iter()
                .map(|&i| (i << 1) | u32::from(members[i as usize]))
                .collect(),
            group_ends,
        }
    }

    /// The AUC of each of [`TOGETHER`] resamples, resample `r` having drawn record `i`
    /// `counts[i][r]` times, as the Mann-Whitney statistic (ties counted ½) in integers:
    /// twice the sum, over the non-members drawn, of the members drawn above them plus half
    /// those tied with them, divided by `twice_pairs`, twice the number of (member,
    /// non-member) pairs. This is the trapezoid area of the resample's ROC, computed exactly
    /// and rounded once.
    ///
    /// Never inlined: in the browser V8 runs a wasm function's first calls on its baseline
    /// compiler and swaps in optimised code only between calls, so a loop inlined into
    /// [`auc_bootstrap_intervals`], which an audit calls once, would run unoptimised
    /// throughout; as a function of its own it is called thousands of times.
    #[inline(never)]
    fn aucs(&self, counts: &[[u32; TOGETHER]], twice_pairs: u64) -> [f64; TOGETHER] {
        let mut above = [0u64; TOGETHER];
        let mut twice_pairs_below = [0u64; TOGETHER];
        // A member's counts, or zeros: `mask` is all ones for a member, zero otherwise.
        let split = |entry: u32| -> (&[u32; TOGETHER], u64) {
            let mask = 0u64.wrapping_sub(u64::from(entry & 1));
            (&counts[(entry >> 1) as usize], mask)
        };
        if self.group_ends.len() == self.records.len() {
            // No ties: every group is one record.
            for &entry in &self.records {
                let (counts, member) = split(entry);
                for r in 0..TOGETHER {
                    let count = u64::from(counts[r]);
                    twice_pairs_below[r] += (count & !member) * 2 * above[r];
                    above[r] += count & member;
                }
            }
        } else {
            let mut start = 0;
            for &end in &self.group_ends {
                let (mut p, mut n) = ([0u64; TOGETHER], [0u64; TOGETHER]);
                for &entry in &self.records[start..end as usize] {
                    let (counts, member) = split(entry);
                    for r in 0..TOGETHER {
                        let count = u64::from(counts[r]);
                        p[r] += count & member;
                        n[r] += count & !member;
                    }
                }
                start = end as usize;
                for r in 0..TOGETHER {
                    twice_pairs_below[r] += n[r] * (2 * above[r] + p[r]);
                    above[r] += p[r];
                }
            }
        }
        twice_pairs_below.map(|twice| twice as f64 / twice_pairs as f64)
    }
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

    /// The Mann-Whitney statistic by its definition: every (member, non-member) pair, a
    /// tie counted ½, in integers (twice the count) until the one division.
    fn mann_whitney(members: &[f64], non_members: &[f64]) -> f64 {
        let twice: u64 = members
            .iter()
            .flat_map(|m| {
                non_members
                    .iter()
                    .map(move |n| u64::from(m > n) * 2 + u64::from(m == n))
            })
            .sum();
        twice as f64 / (2 * members.len() * non_members.len()) as f64
    }

    /// The interval by its definition: every resample's scores drawn and compared pair by
    /// pair (and checked against the trapezoids of their ROC).
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
                let area = mann_whitney(&sample[..pos.len()], &sample[pos.len()..]);
                let trapezoids = auc(&sample, &labels).unwrap();
                assert!((area - trapezoids).abs() < 1e-12, "{area} {trapezoids}");
                area
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
            resamples in 200usize..207,
        ) {
            let mut members: Vec<bool> = (0..scores.len()).map(|i| (flip >> (i % 64)) & 1 == 1).collect();
            members[0] = true;
            members[1] = false;
            let mut scores = scores;
            scores[0] = -0.0;
            let fast = auc_bootstrap_interval(&scores, &members, resamples, 0.05, seed).unwrap();
            let slow = by_definition(&scores, &members, resamples, 0.05, seed);
            prop_assert_eq!(fast.0.to_bits(), slow.0.to_bits());
            prop_assert_eq!(fast.1.to_bits(), slow.1.to_bits());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn score_sets_measured_together_get_their_intervals_alone(
            sets in prop::collection::vec(prop::collection::vec(-4i32..5, 30), 1..5),
            flip in any::<u64>(),
            seed in 0u64..1000,
        ) {
            let members: Vec<bool> = (0..30).map(|i| i % 2 == 0 || (flip >> i) & 1 == 1).collect();
            let sets: Vec<Vec<f64>> = sets.iter().map(|s| s.iter().map(|&v| f64::from(v)).collect()).collect();
            let views: Vec<&[f64]> = sets.iter().map(Vec::as_slice).collect();
            let together = auc_bootstrap_intervals(&views, &members, 200, 0.1, seed).unwrap();
            for (scores, interval) in sets.iter().zip(&together) {
                let alone = by_definition(scores, &members, 200, 0.1, seed);
                prop_assert_eq!(interval.0.to_bits(), alone.0.to_bits());
                prop_assert_eq!(interval.1.to_bits(), alone.1.to_bits());
            }
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

    /// Prints the time of an audit's intervals (18 attacks over 8,000 records, 1,000
    /// resamples, as the page's demo): `cargo test --release --lib bootstrap_of_an_audit --
    /// --ignored --nocapture`.
    #[test]
    #[ignore]
    fn bootstrap_of_an_audit() {
        let n = 8_000;
        let sets: Vec<Vec<f64>> = (0..18u64)
            .map(|a| {
                (0..n as u64)
                    .map(|i| ((i * 2_654_435_761 + a * 97) % (1_000 + a * 131)) as f64)
                    .collect()
            })
            .collect();
        let views: Vec<&[f64]> = sets.iter().map(Vec::as_slice).collect();
        let members: Vec<bool> = (0..n).map(|i| (i * 7) % 10 < 5).collect();
        let start = std::time::Instant::now();
        let intervals = auc_bootstrap_intervals(&views, &members, 1_000, 0.05, 1).unwrap();
        eprintln!(
            "18 attacks, 1,000 resamples of {n}: {:.3} s, first {:?}",
            start.elapsed().as_secs_f64(),
            intervals[0]
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
