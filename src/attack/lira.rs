//! LiRA, the per-record likelihood-ratio attack (Carlini et al., "Membership Inference
//! Attacks From First Principles", IEEE S&P 2022; SPEC.md attack 4): its formulas over the
//! target's logit-scaled confidence φ and the reference models' φ on the same record, its
//! three tests as catalogue entries, its settings, and the test-time augmented queries it
//! averages over on images.

use super::CatalogueEntry;
use super::{
    Answers, Attack, AttackError, AttackInfo, AttackScores, Needs, QueryAnswers, QueryKind,
    QueryOracle, ReadContext, ReferenceUse, ScoringSet,
};
use crate::augment::{self, Query};
use crate::config::AuditConfig;
use crate::npz::{NpzIn, NpzOut, SignalsFileError};
use crate::progress::Progress;
use crate::signal_matrix::ReferenceSignals;
use ndarray::{Array1, Array2};
use ndarray_npy::WriteNpzError;
use serde::{Deserialize, Serialize};

/// Floor on σ so a record whose references agree exactly never divides by zero.
pub const SIGMA_FLOOR: f64 = 1e-6;

/// How LiRA estimates the spread of φ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum LiraVariance {
    /// Fixed per side when there are fewer than 64 reference models, per record otherwise
    /// (SPEC.md).
    #[default]
    Auto,
    /// One global σ for IN (over all IN entries) and one for OUT (over all OUT entries).
    Fixed,
    /// The reference code's `fix_variance` (also ML Privacy Meter's): one global σ, the IN
    /// entries' for the online test (for both sides) and the OUT entries' offline.
    ReferenceCode,
    /// Each record's own σ over its references.
    PerRecord,
}

/// How σ is chosen for one LiRA run, resolved from [`LiraVariance`] and the reference-set size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    PerRecord,
    /// Global σ_in over IN entries and σ_out over OUT entries.
    FixedPerSide,
    /// Global σ of the IN entries for both sides online, of the OUT entries offline.
    FixedReferenceCode,
}

impl Spread {
    fn describe(self) -> &'static str {
        match self {
            Spread::PerRecord => "per-record variance",
            Spread::FixedPerSide => {
                "fixed variance per side (σ_in over every IN entry, σ_out over every OUT entry)"
            }
            Spread::FixedReferenceCode => {
                "fixed variance as the reference code (online: the IN entries' σ for both sides; offline: the OUT entries')"
            }
        }
    }
}

/// LiRA's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiraParams {
    pub variance: LiraVariance,
}

impl LiraParams {
    /// Reference-set size below which `Auto` uses a fixed variance.
    pub const FIXED_VARIANCE_BELOW: usize = 64;

    /// How σ is chosen for a reference set of `models` models.
    pub fn spread(&self, models: usize) -> Spread {
        match self.variance {
            LiraVariance::Auto if models < Self::FIXED_VARIANCE_BELOW => Spread::FixedPerSide,
            LiraVariance::Auto | LiraVariance::PerRecord => Spread::PerRecord,
            LiraVariance::Fixed => Spread::FixedPerSide,
            LiraVariance::ReferenceCode => Spread::FixedReferenceCode,
        }
    }
}

/// A Gaussian fitted to reference φ values: median and standard deviation (ddof 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaussian {
    pub mean: f64,
    pub std: f64,
}

impl Gaussian {
    /// Fits `values` as LiRA does; `None` when there are none (the record is unscorable).
    pub fn fit(values: &[f64]) -> Option<Gaussian> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        Some(Gaussian {
            mean: median(values),
            std: var.sqrt().max(SIGMA_FLOOR),
        })
    }

    /// `ln N(x; μ, σ)`.
    pub fn log_pdf(&self, x: f64) -> f64 {
        let z = (x - self.mean) / self.std;
        -0.5 * z * z - self.std.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln()
    }

    /// `Φ((x - μ) / σ)`.
    pub fn cdf(&self, x: f64) -> f64 {
        0.5 * libm::erfc(-(x - self.mean) / (self.std * std::f64::consts::SQRT_2))
    }
}

/// Online LiRA: `ln N(φ; μ_in, σ_in) - ln N(φ; μ_out, σ_out)`.
pub fn online(phi: f64, inside: &Gaussian, outside: &Gaussian) -> f64 {
    inside.log_pdf(phi) - outside.log_pdf(phi)
}

/// Offline LiRA as in the paper (one-sided): `Φ((φ - μ_out) / σ_out)`.
pub fn offline(phi: f64, outside: &Gaussian) -> f64 {
    outside.cdf(phi)
}

/// Offline LiRA as in the reference code (two-sided): `-ln N(φ; μ_out, σ_out)`.
pub fn offline_two_sided(phi: f64, outside: &Gaussian) -> f64 {
    -outside.log_pdf(phi)
}

pub(crate) fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        0.5 * (v[mid - 1] + v[mid])
    }
}

/// Which LiRA test to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiraTest {
    /// IN and OUT Gaussians: `ln N(φ; in) - ln N(φ; out)`.
    Online,
    /// OUT only, the paper's one-sided `Φ((φ - μ_out)/σ_out)`.
    Offline,
    /// OUT only, the reference code's `-ln N(φ; out)`.
    OfflineTwoSided,
}

/// One LiRA test and how it chooses σ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiraConfig {
    pub test: LiraTest,
    pub spread: Spread,
}

/// LiRA score of every record from the target's φ and the reference matrix; `None` for a
/// record without the IN or OUT references the test needs.
pub fn lira(target_phi: &[f64], refs: &ReferenceSignals, config: LiraConfig) -> Vec<Option<f64>> {
    let global = |inside: bool| {
        let all: Vec<f64> = refs
            .logit_scaled
            .iter()
            .zip(&refs.keep)
            .filter(|(_, k)| **k == inside)
            .map(|(v, _)| *v)
            .collect();
        Gaussian::fit(&all).map(|g| g.std)
    };
    let (sigma_in, sigma_out) = match (config.spread, config.test) {
        (Spread::PerRecord, _) => (None, None),
        (Spread::FixedPerSide, _) => (global(true), global(false)),
        (Spread::FixedReferenceCode, LiraTest::Online) => (global(true), global(true)),
        (Spread::FixedReferenceCode, _) => (global(false), global(false)),
    };
    let fit = |values: &[f64], fixed: Option<f64>| {
        Gaussian::fit(values).map(|g| Gaussian {
            std: fixed.unwrap_or(g.std),
            ..g
        })
    };
    (0..refs.records())
        .map(|i| {
            let (phi, keep) = (refs.logit_scaled.row(i), refs.keep.row(i));
            let outside = fit(&ReferenceSignals::split(phi, keep, false), sigma_out)?;
            Some(match config.test {
                LiraTest::Online => {
                    let inside = fit(&ReferenceSignals::split(phi, keep, true), sigma_in)?;
                    online(target_phi[i], &inside, &outside)
                }
                LiraTest::Offline => offline(target_phi[i], &outside),
                LiraTest::OfflineTwoSided => offline_two_sided(target_phi[i], &outside),
            })
        })
        .collect()
}

const CARLINI: &str = "Carlini, Chien, Nasr, Song, Terzis & Tramèr, Membership Inference Attacks From First Principles, IEEE S&P 2022";

const ONLINE_NEEDS: Needs = Needs {
    references: ReferenceUse::InAndOut,
    ..Needs::TARGET_ONLY
};

const OFFLINE_NEEDS: Needs = Needs {
    references: ReferenceUse::OutOnly,
    ..Needs::TARGET_ONLY
};

static LIRA_ONLINE: AttackInfo = AttackInfo {
    id: "lira-online",
    title: "LiRA, online",
    paper: CARLINI,
    summary: "For each record, fits one Gaussian to the logit-scaled confidence of the reference models that trained on it (IN) and one to those that did not (OUT), and scores the target's confidence by the likelihood ratio between the two. Records differ in how hard they are; comparing each record with itself under models that did and did not see it is what lets LiRA find members at very low false-positive rates.",
    needs: ONLINE_NEEDS,
    reads: &[&AUGMENTED],
    labels_suffice: false,
    scores_per_class: false,
};

static LIRA_OFFLINE: AttackInfo = AttackInfo {
    id: "lira-offline",
    title: "LiRA, offline (one-sided)",
    paper: CARLINI,
    summary: "Uses only reference models that did not train on the record: fits a Gaussian to their logit-scaled confidence on it and scores how far above that distribution the target's confidence lies (the paper's one-sided test, Φ((φ - μ_out)/σ_out)). Needs no model trained on the audited records, so it fits audits where retraining on each candidate is impossible.",
    needs: OFFLINE_NEEDS,
    reads: &[&AUGMENTED],
    labels_suffice: false,
    scores_per_class: false,
};

static LIRA_OFFLINE_TWO_SIDED: AttackInfo = AttackInfo {
    id: "lira-offline-two-sided",
    title: "LiRA, offline (two-sided, reference code)",
    paper: CARLINI,
    summary: "The offline test as the LiRA authors' code computes it: the negative log-likelihood of the target's logit-scaled confidence under the OUT Gaussian, so a record is flagged when the target is unusual in either direction. Offered for comparison with numbers produced by that code.",
    needs: OFFLINE_NEEDS,
    reads: &[&AUGMENTED],
    labels_suffice: false,
    scores_per_class: false,
};

pub(super) static ENTRIES: [CatalogueEntry; 3] = [
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
];

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
        let refs = records.references()?;
        let config = LiraConfig {
            test: self.test,
            spread: self.params.spread(refs.models()),
        };
        let augmented = records
            .optional_answers::<AugmentedQueries>(&AUGMENTED)
            .map_or(&[][..], |a| &a.queries);
        let mut scores = lira(&records.target().logit_scaled, refs, config);
        for query in augmented {
            let more = lira(&query.target_logit_scaled, &query.references, config);
            for (score, extra) in scores.iter_mut().zip(more) {
                *score = score.zip(extra).map(|(a, b)| a + b);
            }
        }
        let queries = 1 + augmented.len();
        if queries > 1 {
            scores
                .iter_mut()
                .flatten()
                .for_each(|s| *s /= queries as f64);
        }
        let variance = config.spread.describe();
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
            warning: None,
        })
    }
}

/// One augmented query of every record: the target's φ and the reference matrix under it.
#[derive(Debug, Clone, PartialEq)]
pub struct AugmentedQuery {
    pub query: Query,
    pub target_logit_scaled: Vec<f64>,
    pub references: ReferenceSignals,
}

/// The audit records under every augmented query besides the identity.
#[derive(Debug, Clone, PartialEq)]
pub struct AugmentedQueries {
    pub queries: Vec<AugmentedQuery>,
}

/// The mirrored and shifted images LiRA queries the target and the references with
/// (`signals.augmentations`), stored as `augmented_<i>_…`.
pub static AUGMENTED: QueryKind = QueryKind {
    id: "augmented",
    description: "the target's and the reference models' outputs on test-time augmented copies of the records",
    population: false,
    runs_references: true,
    by_default: true,
    settings: |config: &AuditConfig| {
        serde_json::to_value(config.signals.augmentations).expect("plain data")
    },
    make: make_augmented,
    meta_key: Some("augmented_queries"),
    read: read_augmented,
    parts: None,
};

/// Noise streams of augmented query `i` under the noise defence.
const AUGMENTED_STREAM: u64 = 10_000;

fn make_augmented(
    oracle: &dyn QueryOracle,
    config: &AuditConfig,
) -> crate::Result<Option<QueryAnswers>> {
    let augmentations = config.signals.augmentations;
    if augmentations.is_none() {
        return Ok(None);
    }
    let records = oracle.records();
    augmentations.check(records.record_shape())?;
    let queries: Vec<Query> = augmentations.queries().into_iter().skip(1).collect();
    let mut out = Vec::with_capacity(queries.len());
    for (done, query) in queries.iter().enumerate() {
        let shifted = augment::apply(&records.features, *query);
        let target = oracle.ask_target(shifted.clone(), AUGMENTED_STREAM + done as u64)?;
        let Some(references) = oracle.ask_references(shifted)? else {
            return Ok(None);
        };
        out.push(AugmentedQuery {
            query: *query,
            target_logit_scaled: target.logit_scaled,
            references,
        });
        oracle.progress(Progress {
            step: "augmented queries",
            done: done + 1,
            total: queries.len(),
        });
    }
    Ok(Some(QueryAnswers::new(AugmentedQueries { queries: out })))
}

impl Answers for AugmentedQueries {
    fn write(&self, out: &mut NpzOut<'_>) -> Result<(), WriteNpzError> {
        for (i, query) in self.queries.iter().enumerate() {
            let name = |n: &str| format!("augmented_{i}_{n}");
            out.add(
                &name("target_logit_scaled"),
                &Array1::from(query.target_logit_scaled.clone()),
            )?;
            let r = &query.references;
            for (signal, m) in [
                ("logit_scaled", &r.logit_scaled),
                ("confidence", &r.confidence),
                ("loss", &r.loss),
            ] {
                out.add(&name(&format!("reference_{signal}")), &m.t())?;
            }
        }
        Ok(())
    }

    fn meta(&self) -> serde_json::Value {
        serde_json::to_value(self.queries.iter().map(|q| q.query).collect::<Vec<_>>())
            .expect("plain data")
    }
}

fn read_augmented(
    input: &mut NpzIn<'_, '_>,
    context: &ReadContext<'_>,
) -> Result<Option<QueryAnswers>, SignalsFileError> {
    let listed: Vec<Query> = match context.meta {
        serde_json::Value::Null => Vec::new(),
        meta => serde_json::from_value(meta.clone())
            .map_err(|e| input.content(format!("its augmented queries: {e}")))?,
    };
    let (Some(plain), false) = (context.references, listed.is_empty()) else {
        return Ok(None);
    };
    if !input.has("augmented_0_target_logit_scaled") {
        return Ok(None);
    }
    let (n, k) = plain.keep.dim();
    let mut queries = Vec::with_capacity(listed.len());
    for (i, query) in listed.into_iter().enumerate() {
        let name = |s: &str| format!("augmented_{i}_{s}");
        let target_logit_scaled = input.vector(&name("target_logit_scaled"), n)?;
        let mut matrix = |s: &str| -> Result<Array2<f64>, SignalsFileError> {
            Ok(input
                .array::<f64, ndarray::Ix2>(&name(&format!("reference_{s}")), Some(&[k, n]))?
                .reversed_axes())
        };
        let (phi, confidence, loss) = (
            matrix("logit_scaled")?,
            matrix("confidence")?,
            matrix("loss")?,
        );
        let references = ReferenceSignals::new(phi, confidence, loss, plain.keep.clone())
            .map_err(|e| input.content(e.to_string()))?;
        queries.push(AugmentedQuery {
            query,
            target_logit_scaled,
            references,
        });
    }
    Ok(Some(QueryAnswers::new(AugmentedQueries { queries })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn spec_lira_vector() {
        let inside = Gaussian::fit(&[2.5, 3.0, 2.2, 2.8]).unwrap();
        let outside = Gaussian::fit(&[0.5, 1.0, 0.2, 0.9]).unwrap();
        assert!((inside.mean - 2.65).abs() < 1e-12 && (inside.std - 0.303109).abs() < 1e-6);
        assert!((outside.mean - 0.70).abs() < 1e-12 && (outside.std - 0.320156).abs() < 1e-6);
        assert!((online(2.0, &inside, &outside) - 5.9993).abs() < 1e-4);
        assert!((offline(2.0, &outside) - 0.999976).abs() < 1e-6);
        assert!((offline_two_sided(2.0, &outside) - 8.0239).abs() < 1e-4);
    }

    #[test]
    fn identical_references_hit_the_sigma_floor_and_stay_finite() {
        let g = Gaussian::fit(&[1.0, 1.0, 1.0]).unwrap();
        assert_eq!(g.std, SIGMA_FLOOR);
        assert!(online(1.5, &g, &Gaussian::fit(&[0.0, 0.5]).unwrap()).is_finite());
        assert_eq!(Gaussian::fit(&[]), None);
    }

    #[test]
    fn auto_variance_pools_below_64_models() {
        let auto = LiraParams::default();
        assert_eq!(auto.spread(16), Spread::FixedPerSide);
        assert_eq!(auto.spread(64), Spread::PerRecord);
    }

    #[test]
    fn offline_phi_matches_double_precision_erfc() {
        // Φ(-5) = 2.866515718791939e-7 (mpmath, 30 digits); statrs' erfc was off in the 11th.
        let g = Gaussian {
            mean: 0.0,
            std: 1.0,
        };
        let want = 2.866_515_718_791_939e-7;
        assert!(
            ((offline(-5.0, &g) - want) / want).abs() < 1e-14,
            "{}",
            offline(-5.0, &g)
        );
        assert!((offline(0.0, &g) - 0.5).abs() < 1e-16);
    }

    #[test]
    fn reference_code_variance_uses_the_in_sigma_for_both_sides_online() {
        // IN φ {1, 3} (σ 1), OUT φ {-1, 1, -2, 2} (σ √2.5): online with σ_in on both sides.
        let r = refs(
            array![[1.0, 3.0, -1.0, 1.0], [1.0, 3.0, -2.0, 2.0]],
            array![[true, true, false, false], [true, true, false, false]],
        );
        let code = LiraConfig {
            test: LiraTest::Online,
            spread: Spread::FixedReferenceCode,
        };
        let scores = lira(&[1.0, 1.0], &r, code);
        let expected = |mu_out: f64| {
            let (inside, outside) = (
                Gaussian {
                    mean: 2.0,
                    std: 1.0,
                },
                Gaussian {
                    mean: mu_out,
                    std: 1.0,
                },
            );
            online(1.0, &inside, &outside)
        };
        assert!((scores[0].unwrap() - expected(0.0)).abs() < 1e-12);
        assert!((scores[1].unwrap() - expected(0.0)).abs() < 1e-12);
        let offline_code = LiraConfig {
            test: LiraTest::OfflineTwoSided,
            spread: Spread::FixedReferenceCode,
        };
        let per_side = LiraConfig {
            test: LiraTest::OfflineTwoSided,
            spread: Spread::FixedPerSide,
        };
        assert_eq!(
            lira(&[1.0, 1.0], &r, offline_code),
            lira(&[1.0, 1.0], &r, per_side)
        );
    }

    /// A reference set whose φ is `phi`, IN where `keep`.
    fn refs(phi: Array2<f64>, keep: Array2<bool>) -> ReferenceSignals {
        let conf = phi.mapv(|v| 1.0 / (1.0 + (-v).exp()));
        let loss = conf.mapv(|p: f64| -p.ln());
        ReferenceSignals::new(phi, conf, loss, keep).unwrap()
    }

    const ONLINE: LiraConfig = LiraConfig {
        test: LiraTest::Online,
        spread: Spread::PerRecord,
    };
    const OFFLINE: LiraConfig = LiraConfig {
        test: LiraTest::Offline,
        spread: Spread::PerRecord,
    };

    #[test]
    fn lira_matches_closed_forms() {
        // OUT φ {-1, 1}: N(0, 1). IN φ {1, 3}: N(2, 1). Online = 2φ - 2; offline = Φ(φ).
        let r = refs(
            array![[-1.0, 1.0, 1.0, 3.0], [-1.0, 1.0, 1.0, 3.0]],
            array![[false, false, true, true], [false, false, true, true]],
        );
        let online = lira(&[1.0, 2.0], &r, ONLINE);
        assert!(
            (online[0].unwrap() - 0.0).abs() < 1e-12 && (online[1].unwrap() - 2.0).abs() < 1e-12
        );
        let offline = lira(&[0.0, 1.959963984540054], &r, OFFLINE);
        assert!(
            (offline[0].unwrap() - 0.5).abs() < 1e-12 && (offline[1].unwrap() - 0.975).abs() < 1e-9
        );
    }

    #[test]
    fn records_without_in_or_out_references_are_unscorable() {
        let r = refs(
            array![[0.5, 0.7], [0.1, 0.2]],
            array![[true, true], [false, false]],
        );
        assert_eq!(
            lira(&[0.0, 0.0], &r, OFFLINE)[0],
            None,
            "no OUT model for record 0"
        );
        assert_eq!(lira(&[0.0, 0.0], &r, ONLINE), vec![None, None]);
        assert!(lira(&[0.0, 0.0], &r, OFFLINE)[1].is_some());
    }

    #[test]
    fn fixed_variance_uses_one_sigma_for_all_records() {
        // Record 0's OUT φ {0, 2}, record 1's {0, 0}: pooled OUT σ over {0, 2, 0, 0} = √0.75.
        let r = refs(
            array![[0.0, 2.0, 5.0], [0.0, 0.0, 5.0]],
            array![[false, false, true], [false, false, true]],
        );
        let fixed = LiraConfig {
            test: LiraTest::OfflineTwoSided,
            spread: Spread::FixedPerSide,
        };
        let scores = lira(&[1.0, 1.0], &r, fixed);
        let sigma = 0.75f64.sqrt();
        let expected = |mu: f64| {
            0.5 * ((1.0 - mu) / sigma).powi(2)
                + sigma.ln()
                + 0.5 * (2.0 * std::f64::consts::PI).ln()
        };
        assert!((scores[0].unwrap() - expected(1.0)).abs() < 1e-12);
        assert!((scores[1].unwrap() - expected(0.0)).abs() < 1e-12);
    }

    #[test]
    fn scores_follow_records_and_ignore_the_order_of_reference_models() {
        let phi = array![
            [0.1, 1.5, -0.3, 2.2],
            [0.4, 0.9, 1.1, -0.2],
            [2.0, 0.3, 0.8, 1.7]
        ];
        let keep = array![
            [true, false, false, true],
            [false, true, true, false],
            [true, true, false, false]
        ];
        let target = [1.2, 0.1, 0.9];
        let base = lira(&target, &refs(phi.clone(), keep.clone()), ONLINE);
        assert!(base.iter().all(|s| s.is_some_and(f64::is_finite)));
        let columns = [2, 0, 3, 1];
        let shuffled = lira(
            &target,
            &refs(
                phi.select(ndarray::Axis(1), &columns),
                keep.select(ndarray::Axis(1), &columns),
            ),
            ONLINE,
        );
        assert_eq!(base, shuffled);
        let rows = [2, 0, 1];
        let permuted_target: Vec<f64> = rows.iter().map(|&r| target[r]).collect();
        let permuted = lira(
            &permuted_target,
            &refs(
                phi.select(ndarray::Axis(0), &rows),
                keep.select(ndarray::Axis(0), &rows),
            ),
            ONLINE,
        );
        assert_eq!(permuted, rows.iter().map(|&r| base[r]).collect::<Vec<_>>());
    }
}
