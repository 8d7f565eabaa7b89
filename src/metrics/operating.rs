//! Operating points: an attack used as a decision rule at a target false-positive rate α,
//! with its threshold chosen on scores distributed like the audit non-members' (SPEC.md,
//! "Choosing thresholds").
//!
//! By cross-fitting on the audit set: the records are split in two halves (seeded,
//! stratified by membership), a threshold is chosen on each half's non-members and applied
//! to the other half, and the counts of both halves are pooled, so that no record is
//! measured at a threshold chosen on itself. Or on population records, where their scores
//! are exchangeable with the audit non-members' (the caller decides: population attacks,
//! and reference attacks whose references trained on none of the audit records).

use super::Confusion;
use super::threshold::population_threshold;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;

/// Where a threshold is chosen.
#[derive(Debug, Clone, Copy)]
pub enum Calibration<'a> {
    /// The empirical (1 − α)-quantile of these population scores.
    Population(&'a [f64]),
    /// Two halves of the audit set, each calibrating the other; the seed splits them.
    CrossFit { seed: u64 },
}

/// A decision rule at one target FPR and its counts on the audit records.
#[derive(Debug, Clone, PartialEq)]
pub struct Chosen {
    /// `"population"` or `"cross-fit"`.
    pub method: &'static str,
    /// One threshold, or one per half (the first half's, applied to the second, then the
    /// second's).
    pub thresholds: Vec<f64>,
    pub counts: Confusion,
}

/// The rule at `target_fpr`; `None` where the calibration data cannot resolve that rate
/// (fewer than 1/α non-members to choose on).
pub fn choose(
    scores: &[f64],
    members: &[bool],
    target_fpr: f64,
    calibration: Calibration<'_>,
) -> Option<Chosen> {
    match calibration {
        Calibration::Population(population) => {
            let threshold = population_threshold(population, target_fpr)?;
            Some(Chosen {
                method: "population",
                thresholds: vec![threshold],
                counts: Confusion::at_threshold(scores, members, threshold),
            })
        }
        Calibration::CrossFit { seed } => cross_fit(scores, members, target_fpr, seed),
    }
}

/// The two halves of the audit set, stratified by membership: indices of each.
fn halves(members: &[bool], seed: u64) -> [Vec<usize>; 2] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0c55_f17c_0c55_f17c);
    let mut halves = [Vec::new(), Vec::new()];
    for want in [true, false] {
        let mut group: Vec<usize> = (0..members.len()).filter(|&i| members[i] == want).collect();
        group.shuffle(&mut rng);
        for (k, i) in group.into_iter().enumerate() {
            halves[k % 2].push(i);
        }
    }
    halves
}

fn cross_fit(scores: &[f64], members: &[bool], target_fpr: f64, seed: u64) -> Option<Chosen> {
    let halves = halves(members, seed);
    let non_members = |half: &[usize]| -> Vec<f64> {
        half.iter()
            .filter(|&&i| !members[i])
            .map(|&i| scores[i])
            .collect()
    };
    let mut counts = Confusion {
        tp: 0,
        fp: 0,
        tn: 0,
        fn_: 0,
    };
    let mut thresholds = Vec::with_capacity(2);
    for (choose_on, measure_on) in [(&halves[0], &halves[1]), (&halves[1], &halves[0])] {
        let calibration = non_members(choose_on);
        let threshold = population_threshold(&calibration, target_fpr)?;
        let (s, m): (Vec<f64>, Vec<bool>) =
            measure_on.iter().map(|&i| (scores[i], members[i])).unzip();
        let half = Confusion::at_threshold(&s, &m, threshold);
        counts.tp += half.tp;
        counts.fp += half.fp;
        counts.tn += half.tn;
        counts.fn_ += half.fn_;
        thresholds.push(threshold);
    }
    Some(Chosen {
        method: "cross-fit",
        thresholds,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores where members score higher, with a spread so that every rate is reachable.
    fn world(n: usize) -> (Vec<f64>, Vec<bool>) {
        let members: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
        let scores = (0..n)
            .map(|i| ((i * 7919) % n) as f64 / n as f64 + if members[i] { 0.3 } else { 0.0 })
            .collect();
        (scores, members)
    }

    #[test]
    fn cross_fitting_reaches_its_target_and_never_measures_a_record_on_its_own_threshold() {
        let (scores, members) = world(4000);
        for alpha in [0.001, 0.01, 0.1] {
            let chosen =
                choose(&scores, &members, alpha, Calibration::CrossFit { seed: 3 }).unwrap();
            assert_eq!(chosen.method, "cross-fit");
            assert_eq!(chosen.thresholds.len(), 2);
            let c = chosen.counts;
            assert_eq!(
                c.tp + c.fp + c.tn + c.fn_,
                4000,
                "every record measured once"
            );
            let fpr = c.fpr();
            assert!(fpr <= alpha * 2.0 + 0.002, "alpha {alpha}: fpr {fpr}");
        }
        let a = choose(&scores, &members, 0.01, Calibration::CrossFit { seed: 3 });
        let b = choose(&scores, &members, 0.01, Calibration::CrossFit { seed: 3 });
        assert_eq!(a, b, "the same seed splits the same way");
    }

    #[test]
    fn halves_are_stratified_and_disjoint() {
        let members: Vec<bool> = (0..11).map(|i| i < 5).collect();
        let [a, b] = halves(&members, 0);
        assert_eq!(a.len() + b.len(), 11);
        assert!(a.iter().all(|i| !b.contains(i)));
        let in_a = a.iter().filter(|&&i| members[i]).count();
        assert!(
            (2..=3).contains(&in_a),
            "{in_a} of 5 members in the first half"
        );
    }

    #[test]
    fn a_rate_the_halves_cannot_resolve_is_left_out() {
        let (scores, members) = world(100);
        assert_eq!(
            choose(&scores, &members, 0.001, Calibration::CrossFit { seed: 0 }),
            None
        );
        let population: Vec<f64> = (0..50).map(f64::from).collect();
        assert_eq!(
            choose(
                &scores,
                &members,
                0.001,
                Calibration::Population(&population)
            ),
            None
        );
        let chosen = choose(&scores, &members, 0.1, Calibration::Population(&population)).unwrap();
        assert_eq!((chosen.method, chosen.thresholds.len()), ("population", 1));
    }
}
