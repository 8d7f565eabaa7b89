//! Properties every reference-calibrated attack must keep (finite scores, following the
//! records and not the order of the reference models), and behaviours of LiRA, RMIA and the
//! shadow-model attack that involve the reference matrix as a whole.

use super::*;
use crate::attack::lira::AugmentedQueries;
use crate::augment::Query;
use crate::set_signals::SetSignals;
use crate::signal::Signals;
use crate::signal_matrix::ReferenceSignals;
use ndarray::{Array2, Array3, Axis};
use proptest::prelude::*;

/// A binary world where φ is the logit of class 0 and every record is labelled 0.
fn signals(phi: &[f64]) -> Signals {
    let p: Vec<f64> = phi.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    let mut probabilities = Array2::zeros((phi.len(), 2));
    for (i, &p) in p.iter().enumerate() {
        probabilities[[i, 0]] = p;
        probabilities[[i, 1]] = 1.0 - p;
    }
    Signals {
        loss: p.iter().map(|p| -p.ln()).collect(),
        entropy: vec![0.0; phi.len()],
        modified_entropy: vec![0.0; phi.len()],
        correct: p.iter().map(|p| *p > 0.5).collect(),
        confidence: p,
        logit_scaled: phi.to_vec(),
        probabilities,
    }
}

fn references(phi: &Array2<f64>, keep: &Array2<bool>) -> ReferenceSignals {
    let conf = phi.mapv(|v| 1.0 / (1.0 + (-v).exp()));
    let mut probabilities = Array3::zeros((phi.nrows(), phi.ncols(), 2));
    probabilities.index_axis_mut(Axis(2), 0).assign(&conf);
    probabilities
        .index_axis_mut(Axis(2), 1)
        .assign(&conf.mapv(|p| 1.0 - p));
    ReferenceSignals::new(
        phi.clone(),
        conf.clone(),
        conf.mapv(|p| -p.ln()),
        keep.clone(),
    )
    .unwrap()
    .with_probabilities(probabilities)
    .unwrap()
}

#[derive(Debug)]
struct World {
    target: Vec<f64>,
    phi: Array2<f64>,
    keep: Array2<bool>,
    population_target: Vec<f64>,
    population_phi: Array2<f64>,
}

impl World {
    fn scores(&self, id: &str) -> Vec<Option<f64>> {
        let (target, pop) = (signals(&self.target), signals(&self.population_target));
        let refs = references(&self.phi, &self.keep);
        let pop_keep = Array2::from_elem(self.population_phi.dim(), false);
        let pop_refs = references(&self.population_phi, &pop_keep);
        let labels = vec![0; self.target.len()];
        let pop_labels = vec![0; self.population_target.len()];
        let target = SetSignals::new(target).with_references(refs);
        let pop = SetSignals::new(pop).with_references(pop_refs);
        let records = ScoringSet::new(&target, &labels);
        let population = ScoringSet::new(&pop, &pop_labels);
        build(id, &AttackParams::default())
            .unwrap()
            .score(records, Some(population))
            .unwrap()
            .scores
    }

    fn permute_records(&self, order: &[usize]) -> World {
        World {
            target: order.iter().map(|&i| self.target[i]).collect(),
            phi: self.phi.select(Axis(0), order),
            keep: self.keep.select(Axis(0), order),
            population_target: self.population_target.clone(),
            population_phi: self.population_phi.clone(),
        }
    }

    fn permute_models(&self, order: &[usize]) -> World {
        World {
            target: self.target.clone(),
            phi: self.phi.select(Axis(1), order),
            keep: self.keep.select(Axis(1), order),
            population_target: self.population_target.clone(),
            population_phi: self.population_phi.select(Axis(1), order),
        }
    }
}

fn reference_attack_ids() -> Vec<&'static str> {
    catalogue()
        .filter(|e| e.info.needs.references_used())
        .map(|e| e.info.id)
        .collect()
}

fn world() -> impl Strategy<Value = World> {
    (2usize..10, 2usize..6, 2usize..8).prop_flat_map(|(n, k, z)| {
        (
            prop::collection::vec(-6.0f64..6.0, n),
            prop::collection::vec(-6.0f64..6.0, n * k),
            prop::collection::vec(any::<bool>(), n * k),
            prop::collection::vec(-6.0f64..6.0, z),
            prop::collection::vec(-6.0f64..6.0, z * k),
        )
            .prop_map(move |(target, phi, keep, pop_target, pop_phi)| World {
                target,
                phi: Array2::from_shape_vec((n, k), phi).unwrap(),
                keep: Array2::from_shape_vec((n, k), keep).unwrap(),
                population_target: pop_target,
                population_phi: Array2::from_shape_vec((z, k), pop_phi).unwrap(),
            })
    })
}

fn close(a: &[Option<f64>], b: &[Option<f64>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-6 * (1.0 + x.abs()),
            (None, None) => true,
            _ => false,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn reference_attacks_are_finite_and_follow_records_not_model_order(w in world()) {
        let n = w.target.len();
        let k = w.phi.ncols();
        let records: Vec<usize> = (0..n).rev().collect();
        let models: Vec<usize> = (0..k).map(|j| (j + 1) % k).collect();
        for id in reference_attack_ids() {
            let base = w.scores(id);
            prop_assert!(base.iter().flatten().all(|s| s.is_finite()), "{id}: {base:?}");
            let permuted = w.permute_records(&records).scores(id);
            let expected: Vec<Option<f64>> = records.iter().map(|&i| base[i]).collect();
            prop_assert!(close(&permuted, &expected), "{id}: {permuted:?} vs {expected:?}");
            let reordered = w.permute_models(&models).scores(id);
            prop_assert!(close(&reordered, &base), "{id}: {reordered:?} vs {base:?}");
        }
    }
}

#[test]
fn lira_averages_its_scores_over_augmented_queries() {
    let phi = ndarray::array![[0.1, 1.5, -0.3, 2.2], [0.4, 0.9, 1.1, -0.2]];
    let keep = ndarray::array![[true, false, false, true], [false, true, true, false]];
    let target = signals(&[1.0, 0.5]);
    let labels = [0, 0];
    let plain = references(&phi, &keep);
    let shifted = references(&phi.mapv(|v| v + 0.5), &keep);
    let query = |references: ReferenceSignals, phi: Vec<f64>| AugmentedQuery {
        query: Query {
            flip: true,
            dx: 0,
            dy: 0,
        },
        target_logit_scaled: phi,
        references,
    };
    let score = |augmented: &[AugmentedQuery]| {
        let mut set = SetSignals::new(target.clone()).with_references(plain.clone());
        if !augmented.is_empty() {
            let queries = AugmentedQueries {
                queries: augmented.to_vec(),
            };
            set = set.with_answers(&AUGMENTED, QueryAnswers::new(queries));
        }
        build("lira-online", &AttackParams::default())
            .unwrap()
            .score(ScoringSet::new(&set, &labels), None)
            .unwrap()
            .scores
    };
    let alone = score(&[]);
    let doubled = score(&[query(plain.clone(), target.logit_scaled.clone())]);
    assert!(
        close(&alone, &doubled),
        "an identical query leaves the mean unchanged"
    );
    let moved = score(&[query(shifted.clone(), vec![1.5, 1.0])]);
    // Shifting φ and every reference φ by the same amount leaves the ratio unchanged.
    assert!(close(&alone, &moved), "{alone:?} vs {moved:?}");
    let other = score(&[query(shifted, vec![0.0, 0.0])]);
    let solo = {
        let t = signals(&[0.0, 0.0]);
        let r = references(&phi.mapv(|v| v + 0.5), &keep);
        let set = SetSignals::new(t).with_references(r);
        build("lira-online", &AttackParams::default())
            .unwrap()
            .score(ScoringSet::new(&set, &labels), None)
            .unwrap()
            .scores
    };
    let mean: Vec<Option<f64>> = alone
        .iter()
        .zip(&solo)
        .map(|(a, b)| Some((a.unwrap() + b.unwrap()) / 2.0))
        .collect();
    assert!(close(&other, &mean), "{other:?} vs {mean:?}");
}

#[test]
fn rmia_online_counts_population_ratios_beaten() {
    // p(x|θ) 0.8 over mean reference 0.4: ratio 2; population ratios 1, 2, 3.
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let w = World {
        target: vec![logit(0.8)],
        phi: Array2::from_elem((1, 2), logit(0.4)),
        keep: ndarray::array![[true, false]],
        population_target: [0.5, 0.2, 0.9].map(logit).to_vec(),
        population_phi: ndarray::array![[0.5, 0.5], [0.1, 0.1], [0.3, 0.3]].mapv(logit),
    };
    let score = w.scores("rmia-online")[0].unwrap();
    assert!((score - 2.0 / 3.0).abs() < 1e-12, "{score}");
}

#[test]
fn shokri_learns_that_members_are_confident() {
    // IN models are ~0.95 sure of a record, OUT models ~0.6; so is the target.
    let (n, k) = (40, 4);
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let jitter = |i: usize, j: usize| 0.01 * ((i * 7 + j * 3) % 5) as f64;
    let keep = Array2::from_shape_fn((n, k), |(i, j)| (i + j) % 2 == 0);
    let phi = Array2::from_shape_fn((n, k), |(i, j)| {
        logit(if keep[[i, j]] { 0.93 } else { 0.55 } + jitter(i, j))
    });
    let target_member = |i: usize| i.is_multiple_of(3);
    let w = World {
        target: (0..n)
            .map(|i| logit(if target_member(i) { 0.94 } else { 0.56 } + jitter(i, 1)))
            .collect(),
        phi,
        keep,
        population_target: vec![0.0],
        population_phi: Array2::zeros((1, k)),
    };
    let scores = w.scores("shokri");
    for (i, s) in scores.iter().enumerate() {
        let s = s.unwrap();
        assert!(
            (s > 0.5) == target_member(i),
            "record {i}: member {} scored {s}",
            target_member(i)
        );
    }
}

#[test]
fn tuning_a_picks_a_grid_value_and_needs_two_models() {
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let keep = Array2::from_shape_fn((20, 3), |(i, j)| (i + j) % 2 == 0);
    let phi = keep.mapv(|k| logit(if k { 0.9 } else { 0.5 }));
    let refs = references(&phi, &keep);
    let pop = references(
        &Array2::from_shape_fn((5, 3), |(z, _)| logit(0.3 + 0.15 * z as f64)),
        &Array2::from_elem((5, 3), false),
    );
    let tuned = rmia::tune_rmia_a(&refs, &pop, 1.0).unwrap();
    assert!((tuned.a * 10.0).fract().abs() < 1e-9 && (0.0..=1.0).contains(&tuned.a));
    assert!(tuned.auc > 0.9, "{tuned:?}");
    let one = references(&phi.select(Axis(1), &[0]), &keep.select(Axis(1), &[0]));
    let one_pop = references(
        &Array2::from_elem((5, 1), 0.0),
        &Array2::from_elem((5, 1), false),
    );
    assert_eq!(rmia::tune_rmia_a(&one, &one_pop, 1.0), None);
}

#[test]
fn attacks_without_references_say_what_they_need() {
    let target = SetSignals::new(signals(&[0.5]));
    for id in reference_attack_ids() {
        let attack = build(id, &AttackParams::default()).unwrap();
        let err = run(attack.as_ref(), ScoringSet::new(&target, &[0]), None).unwrap_err();
        assert!(
            err.to_string().contains("needs reference models"),
            "{id}: {err}"
        );
    }
}
