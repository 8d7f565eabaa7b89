//! The reference-calibrated attacks as catalogue entries: LiRA (three tests), RMIA (online
//! and offline) and Watson et al.'s calibrated loss, each reading the reference signals
//! matrix that travels with the records (SPEC.md, attacks 3–5). The formulas themselves
//! live in [`super::calibrated`].

use super::calibrated::{self, LiraConfig, LiraTest, RmiaConfig};
use super::{
    Attack, AttackError, AttackInfo, AttackParams, AttackScores, CatalogueEntry, ExtraQueries,
    LiraParams, ReferenceUse, RmiaA, RmiaParams, ScoringSet,
};
use crate::signal_matrix::ReferenceSignals;

const CARLINI: &str = "Carlini, Chien, Nasr, Song, Terzis & Tramèr, Membership Inference Attacks From First Principles, IEEE S&P 2022";
const ZARIFZADEH: &str =
    "Zarifzadeh, Liu, Lee & Shokri, Low-Cost High-Power Membership Inference Attacks, ICML 2024";
const WATSON: &str = "Watson, Guo, Cormode & Sablayrolles, On the Importance of Difficulty Calibration in Membership Inference Attacks, ICLR 2022";

static LIRA_ONLINE: AttackInfo = AttackInfo {
    id: "lira-online",
    title: "LiRA, online",
    paper: CARLINI,
    summary: "For each record, fits one Gaussian to the logit-scaled confidence of the reference models that trained on it (IN) and one to those that did not (OUT), and scores the target's confidence by the likelihood ratio between the two. Records differ in how hard they are; comparing each record with itself under models that did and did not see it is what lets LiRA find members at very low false-positive rates.",
    needs_population: false,
    references: ReferenceUse::InAndOut,
    averages_augmentations: true,
    labels_suffice: false,
    queries: ExtraQueries::None,
    reads_reference_probabilities: false,
};

static LIRA_OFFLINE: AttackInfo = AttackInfo {
    id: "lira-offline",
    title: "LiRA, offline (one-sided)",
    paper: CARLINI,
    summary: "Uses only reference models that did not train on the record: fits a Gaussian to their logit-scaled confidence on it and scores how far above that distribution the target's confidence lies (the paper's one-sided test, Φ((φ - μ_out)/σ_out)). Needs no model trained on the audited records, so it fits audits where retraining on each candidate is impossible.",
    needs_population: false,
    references: ReferenceUse::OutOnly,
    averages_augmentations: true,
    labels_suffice: false,
    queries: ExtraQueries::None,
    reads_reference_probabilities: false,
};

static LIRA_OFFLINE_TWO_SIDED: AttackInfo = AttackInfo {
    id: "lira-offline-two-sided",
    title: "LiRA, offline (two-sided, reference code)",
    paper: CARLINI,
    summary: "The offline test as the LiRA authors' code computes it: the negative log-likelihood of the target's logit-scaled confidence under the OUT Gaussian, so a record is flagged when the target is unusual in either direction. Offered for comparison with numbers produced by that code.",
    needs_population: false,
    references: ReferenceUse::OutOnly,
    averages_augmentations: true,
    labels_suffice: false,
    queries: ExtraQueries::None,
    reads_reference_probabilities: false,
};

static RMIA_ONLINE: AttackInfo = AttackInfo {
    id: "rmia-online",
    title: "RMIA, online",
    paper: ZARIFZADEH,
    summary: "Divides the target's probability of the true label by its average over all reference models, and compares that ratio with the same ratio on population records: the score is the fraction of population records the record beats by a factor γ. Comparing against many population records makes it strong with few reference models.",
    needs_population: true,
    references: ReferenceUse::InAndOut,
    averages_augmentations: false,
    labels_suffice: false,
    queries: ExtraQueries::None,
    reads_reference_probabilities: false,
};

static RMIA_OFFLINE: AttackInfo = AttackInfo {
    id: "rmia-offline",
    title: "RMIA, offline",
    paper: ZARIFZADEH,
    summary: "RMIA with reference models that never trained on the record: the average over OUT models is corrected by the linear rule p(x) = ½((1 + a)·mean + (1 - a)) to stand in for the missing IN models; a can be tuned on one reference model used as a stand-in target.",
    needs_population: true,
    references: ReferenceUse::OutOnly,
    averages_augmentations: false,
    labels_suffice: false,
    queries: ExtraQueries::None,
    reads_reference_probabilities: false,
};

static CALIBRATED_LOSS: AttackInfo = AttackInfo {
    id: "calibrated-loss",
    title: "Reference-calibrated loss",
    paper: WATSON,
    summary: "Subtracts the target's loss on a record from the median loss of reference models that did not train on it. Hard records have a high loss everywhere and easy ones a low loss everywhere; calibrating by the record's own difficulty leaves the part of the loss that membership explains.",
    needs_population: false,
    references: ReferenceUse::OutOnly,
    averages_augmentations: false,
    labels_suffice: false,
    queries: ExtraQueries::None,
    reads_reference_probabilities: false,
};

pub(super) static ENTRIES: [CatalogueEntry; 6] = [
    CatalogueEntry {
        info: &LIRA_ONLINE,
        build: |p| Box::new(LiraAttack::new(LiraTest::Online, p.lira)),
    },
    CatalogueEntry {
        info: &LIRA_OFFLINE,
        build: |p| Box::new(LiraAttack::new(LiraTest::Offline, p.lira)),
    },
    CatalogueEntry {
        info: &LIRA_OFFLINE_TWO_SIDED,
        build: |p| Box::new(LiraAttack::new(LiraTest::OfflineTwoSided, p.lira)),
    },
    CatalogueEntry {
        info: &RMIA_ONLINE,
        build: |p| Box::new(RmiaAttack::new(false, p)),
    },
    CatalogueEntry {
        info: &RMIA_OFFLINE,
        build: |p| Box::new(RmiaAttack::new(true, p)),
    },
    CatalogueEntry {
        info: &CALIBRATED_LOSS,
        build: |_| Box::new(CalibratedLossAttack),
    },
];

fn references<'a>(
    set: &ScoringSet<'a>,
    info: &'static AttackInfo,
) -> Result<&'a ReferenceSignals, AttackError> {
    set.references
        .ok_or(AttackError::NeedsReferences { attack: info.id })
}

/// LiRA with one of its three tests.
pub struct LiraAttack {
    test: LiraTest,
    params: LiraParams,
}

impl LiraAttack {
    pub fn new(test: LiraTest, params: LiraParams) -> LiraAttack {
        LiraAttack { test, params }
    }
}

impl Attack for LiraAttack {
    fn info(&self) -> &'static AttackInfo {
        match self.test {
            LiraTest::Online => &LIRA_ONLINE,
            LiraTest::Offline => &LIRA_OFFLINE,
            LiraTest::OfflineTwoSided => &LIRA_OFFLINE_TWO_SIDED,
        }
    }

    fn score(
        &self,
        records: ScoringSet<'_>,
        _population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError> {
        let refs = references(&records, self.info())?;
        let fixed_variance = self.params.fixed_variance(refs.models());
        let config = LiraConfig {
            test: self.test,
            fixed_variance,
        };
        let mut scores = calibrated::lira(&records.signals.logit_scaled, refs, config);
        for query in records.augmented {
            let more = calibrated::lira(&query.target_logit_scaled, &query.references, config);
            for (score, extra) in scores.iter_mut().zip(more) {
                *score = score.zip(extra).map(|(a, b)| a + b);
            }
        }
        let queries = 1 + records.augmented.len();
        if queries > 1 {
            scores
                .iter_mut()
                .flatten()
                .for_each(|s| *s /= queries as f64);
        }
        let variance = if fixed_variance {
            "fixed variance over all records"
        } else {
            "per-record variance"
        };
        let averaged = if queries > 1 {
            format!(", scores averaged over {queries} augmented queries")
        } else {
            String::new()
        };
        Ok(AttackScores {
            scores,
            detail: Some(format!(
                "{variance} ({} reference models){averaged}",
                refs.models()
            )),
        })
    }
}

/// RMIA, online (all references) or offline (OUT references with the correction `a`).
pub struct RmiaAttack {
    offline: bool,
    a: RmiaA,
    gamma: f64,
}

impl RmiaAttack {
    pub fn new(offline: bool, params: &AttackParams) -> RmiaAttack {
        RmiaAttack {
            offline,
            a: params.rmia.a,
            gamma: params.rmia.gamma,
        }
    }
}

impl Attack for RmiaAttack {
    fn info(&self) -> &'static AttackInfo {
        if self.offline {
            &RMIA_OFFLINE
        } else {
            &RMIA_ONLINE
        }
    }

    fn score(
        &self,
        records: ScoringSet<'_>,
        population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError> {
        let info = self.info();
        let refs_x = references(&records, info)?;
        let population = population.ok_or(AttackError::NeedsPopulation { attack: info.id })?;
        let refs_z = population
            .references
            .ok_or(AttackError::NeedsPopulationReferences { attack: info.id })?;
        let (a, detail) = match (self.offline, self.a) {
            (false, _) => (1.0, None),
            (true, RmiaA::Fixed(a)) => (a, Some(format!("a = {a}, γ = {}", self.gamma))),
            (true, RmiaA::Tuned) => match calibrated::tune_rmia_a(refs_x, refs_z, self.gamma) {
                Some(tuned) => (
                    tuned.a,
                    Some(format!(
                        "a = {} tuned on reference model 0 as a stand-in target (its AUC {:.3}), γ = {}",
                        tuned.a, tuned.auc, self.gamma
                    )),
                ),
                None => (
                    RmiaParams::DEFAULT_A,
                    Some(format!(
                        "a = {} (default: tuning needs 2+ reference models and a stand-in with IN and OUT records), γ = {}",
                        RmiaParams::DEFAULT_A,
                        self.gamma
                    )),
                ),
            },
        };
        let config = RmiaConfig {
            offline: self.offline,
            a,
            gamma: self.gamma,
        };
        Ok(AttackScores {
            scores: calibrated::rmia(
                &records.signals.confidence,
                refs_x,
                &population.signals.confidence,
                refs_z,
                config,
            ),
            detail: detail.or_else(|| Some(format!("γ = {}", self.gamma))),
        })
    }
}

/// Watson et al.'s difficulty-calibrated loss.
pub struct CalibratedLossAttack;

impl Attack for CalibratedLossAttack {
    fn info(&self) -> &'static AttackInfo {
        &CALIBRATED_LOSS
    }

    fn score(
        &self,
        records: ScoringSet<'_>,
        _population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError> {
        let refs = references(&records, self.info())?;
        Ok(AttackScores {
            scores: calibrated::calibrated_loss(&records.signals.loss, refs),
            detail: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::{AugmentedQuery, ReferenceUse, build, catalogue};
    use crate::signal::Signals;
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
            let records = ScoringSet {
                signals: &target,
                labels: &labels,
                references: Some(&refs),
                augmented: &[],
                encoded: None,
                label_only: None,
            };
            let population = ScoringSet {
                signals: &pop,
                labels: &pop_labels,
                references: Some(&pop_refs),
                augmented: &[],
                encoded: None,
                label_only: None,
            };
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
            .filter(|e| e.info.references != ReferenceUse::NotUsed)
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
            query: crate::augment::Query {
                flip: true,
                dx: 0,
                dy: 0,
            },
            target_logit_scaled: phi,
            references,
        };
        let score = |augmented: &[AugmentedQuery]| {
            build("lira-online", &AttackParams::default())
                .unwrap()
                .score(
                    ScoringSet {
                        signals: &target,
                        labels: &labels,
                        references: Some(&plain),
                        augmented,
                        encoded: None,
                        label_only: None,
                    },
                    None,
                )
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
            build("lira-online", &AttackParams::default())
                .unwrap()
                .score(
                    ScoringSet {
                        signals: &t,
                        labels: &labels,
                        references: Some(&r),
                        augmented: &[],
                        encoded: None,
                        label_only: None,
                    },
                    None,
                )
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
        let tuned = calibrated::tune_rmia_a(&refs, &pop, 1.0).unwrap();
        assert!((tuned.a * 10.0).fract().abs() < 1e-9 && (0.0..=1.0).contains(&tuned.a));
        assert!(tuned.auc > 0.9, "{tuned:?}");
        let one = references(&phi.select(Axis(1), &[0]), &keep.select(Axis(1), &[0]));
        let one_pop = references(
            &Array2::from_elem((5, 1), 0.0),
            &Array2::from_elem((5, 1), false),
        );
        assert_eq!(calibrated::tune_rmia_a(&one, &one_pop, 1.0), None);
    }

    #[test]
    fn attacks_without_references_say_what_to_pass() {
        let target = signals(&[0.5]);
        for id in reference_attack_ids() {
            let err = build(id, &AttackParams::default())
                .unwrap()
                .score(
                    ScoringSet {
                        signals: &target,
                        labels: &[0],
                        references: None,
                        augmented: &[],
                        encoded: None,
                        label_only: None,
                    },
                    None,
                )
                .unwrap_err();
            assert!(err.to_string().contains("--references"), "{id}: {err}");
        }
    }
}
