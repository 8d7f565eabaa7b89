//! RMIA, the relative membership-inference attack (Zarifzadeh, Liu, Lee & Shokri,
//! "Low-Cost High-Power Membership Inference Attacks", ICML 2024; SPEC.md attack 5): its
//! score as a pure function of target and reference confidences, over the reference matrix,
//! offline RMIA's tuned correction `a`, the two catalogue entries and their settings.
//! Pairwise likelihood ratios against every population record z are counted by sorting the
//! z ratios once: O((N + Z) log Z), not O(N·Z).

use super::{
    Attack, AttackError, AttackInfo, AttackParams, AttackScores, Need, Needs, ReferenceUse,
    ScoringSet,
};
use super::{CatalogueEntry, check};
use crate::signal_matrix::ReferenceSignals;
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

/// RMIA's offline correction `a`: given, or tuned on one reference model as a stand-in target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RmiaA {
    Fixed(f64),
    Tuned,
}

impl std::fmt::Display for RmiaA {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RmiaA::Fixed(a) => write!(f, "{a}"),
            RmiaA::Tuned => f.write_str("tune"),
        }
    }
}

impl std::str::FromStr for RmiaA {
    type Err = String;

    fn from_str(text: &str) -> Result<RmiaA, String> {
        if text.trim().eq_ignore_ascii_case("tune") {
            return Ok(RmiaA::Tuned);
        }
        text.trim()
            .parse::<f64>()
            .map(RmiaA::Fixed)
            .map_err(|_| format!("'{text}' is neither a number in [0, 1] nor 'tune'"))
    }
}

/// As JSON: a number, or the string `"tune"`.
impl Serialize for RmiaA {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RmiaA::Fixed(a) => s.serialize_f64(*a),
            RmiaA::Tuned => s.serialize_str("tune"),
        }
    }
}

impl<'de> Deserialize<'de> for RmiaA {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RmiaA, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Number(f64),
            Word(String),
        }
        match Written::deserialize(d)? {
            Written::Number(a) => Ok(RmiaA::Fixed(a)),
            Written::Word(w) => w.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// RMIA's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RmiaParams {
    pub a: RmiaA,
    /// The likelihood-ratio threshold γ a population record must be beaten by.
    pub gamma: f64,
}

impl RmiaParams {
    /// SPEC.md's default `a`.
    pub const DEFAULT_A: f64 = 0.3;

    pub fn validate(&self) -> Result<(), AttackError> {
        if let RmiaA::Fixed(a) = self.a {
            check((0.0..=1.0).contains(&a), "RMIA's a", "in [0, 1]", a)?;
        }
        check(
            self.gamma.is_finite() && self.gamma > 0.0,
            "RMIA's gamma",
            "a positive number",
            self.gamma,
        )
    }
}

impl Default for RmiaParams {
    fn default() -> Self {
        RmiaParams {
            a: RmiaA::Fixed(Self::DEFAULT_A),
            gamma: 1.0,
        }
    }
}

/// `p(x)` from OUT reference confidences only: `½((1 + a)·mean + (1 - a))`.
pub fn offline_marginal(out_confidences: &[f64], a: f64) -> f64 {
    let mean = out_confidences.iter().sum::<f64>() / out_confidences.len() as f64;
    0.5 * ((1.0 + a) * mean + (1.0 - a))
}

/// `p(x)` from all reference models: the mean confidence.
pub fn online_marginal(confidences: &[f64]) -> f64 {
    confidences.iter().sum::<f64>() / confidences.len() as f64
}

/// Population ratios `p(z|θ) / p(z)`, sorted, ready for [`score`].
pub fn sorted_population_ratios(target: &[f64], marginals: &[f64]) -> Vec<f64> {
    let mut ratios: Vec<f64> = target.iter().zip(marginals).map(|(p, m)| p / m).collect();
    ratios.sort_by(f64::total_cmp);
    ratios
}

/// Fraction of population records z with `LR(x, z) = ratio_x / ratio_z >= γ`.
pub fn score(target_confidence: f64, marginal: f64, sorted_ratios: &[f64], gamma: f64) -> f64 {
    let ratio_x = target_confidence / marginal;
    sorted_ratios.partition_point(|r| *r * gamma <= ratio_x) as f64 / sorted_ratios.len() as f64
}

/// RMIA's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmiaConfig {
    /// Use OUT references only, with the linear correction `a`.
    pub offline: bool,
    pub a: f64,
    pub gamma: f64,
}

/// RMIA scores of the audit records against population records z (`target_z`, `refs_z`).
pub fn rmia(
    target_x: &[f64],
    refs_x: &ReferenceSignals,
    target_z: &[f64],
    refs_z: &ReferenceSignals,
    config: RmiaConfig,
) -> Vec<Option<f64>> {
    let marginal = |refs: &ReferenceSignals, i: usize| -> Option<f64> {
        let row = refs.confidence.row(i);
        if config.offline {
            let out = ReferenceSignals::split(row, refs.keep.row(i), false);
            (!out.is_empty()).then(|| offline_marginal(&out, config.a))
        } else {
            Some(online_marginal(&row.to_vec()))
        }
    };
    let (z_target, z_marginal): (Vec<f64>, Vec<f64>) = (0..refs_z.records())
        .filter_map(|j| marginal(refs_z, j).map(|m| (target_z[j], m)))
        .unzip();
    if z_target.is_empty() {
        return vec![None; refs_x.records()];
    }
    let ratios = sorted_population_ratios(&z_target, &z_marginal);
    (0..refs_x.records())
        .map(|i| marginal(refs_x, i).map(|m| score(target_x[i], m, &ratios, config.gamma)))
        .collect()
}

/// The `a` offline RMIA chose and the stand-in AUC it reached.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TunedA {
    pub a: f64,
    pub auc: f64,
}

/// Tunes offline RMIA's `a` as the paper suggests: reference model 0 plays the target, the
/// others the references, and the `a` in {0, 0.1, …, 1} with the best AUC over the audit
/// records (members: those model 0 trained on) wins; ties keep the smaller `a`. `None` when
/// there is no second reference model or model 0 has no IN or no OUT audit record.
pub fn tune_rmia_a(
    refs_x: &ReferenceSignals,
    refs_z: &ReferenceSignals,
    gamma: f64,
) -> Option<TunedA> {
    let k = refs_x.models();
    if k < 2 || refs_z.models() != k {
        return None;
    }
    let rest: Vec<usize> = (1..k).collect();
    let without_first = |r: &ReferenceSignals| {
        let pick = |m: &Array2<f64>| m.select(Axis(1), &rest);
        ReferenceSignals::new(
            pick(&r.logit_scaled),
            pick(&r.confidence),
            pick(&r.loss),
            r.keep.select(Axis(1), &rest),
        )
        .ok()
    };
    let (others_x, others_z) = (without_first(refs_x)?, without_first(refs_z)?);
    let stand_in_x = refs_x.confidence.column(0).to_vec();
    let stand_in_z = refs_z.confidence.column(0).to_vec();
    let members = refs_x.keep.column(0).to_vec();
    let mut best: Option<TunedA> = None;
    for step in 0..=10 {
        let a = f64::from(step) / 10.0;
        let config = RmiaConfig {
            offline: true,
            a,
            gamma,
        };
        let scores = rmia(&stand_in_x, &others_x, &stand_in_z, &others_z, config);
        let (scored, scored_members): (Vec<f64>, Vec<bool>) = scores
            .iter()
            .zip(&members)
            .filter_map(|(s, m)| s.map(|s| (s, *m)))
            .unzip();
        let Ok(auc) = crate::metrics::roc::auc(&scored, &scored_members) else {
            return None;
        };
        if best.is_none_or(|b| auc > b.auc) {
            best = Some(TunedA { a, auc });
        }
    }
    best
}

const ZARIFZADEH: &str =
    "Zarifzadeh, Liu, Lee & Shokri, Low-Cost High-Power Membership Inference Attacks, ICML 2024";

static RMIA_ONLINE: AttackInfo = AttackInfo {
    id: "rmia-online",
    title: "RMIA, online",
    paper: ZARIFZADEH,
    summary: "Divides the target's probability of the true label by its average over all reference models, and compares that ratio with the same ratio on population records: the score is the fraction of population records the record beats by a factor γ. Comparing against many population records makes it strong with few reference models.",
    needs: Needs {
        population: true,
        references: ReferenceUse::InAndOut,
        population_references: true,
        ..Needs::TARGET_ONLY
    },
    reads: &[],
    labels_suffice: false,
    scores_per_class: false,
};

static RMIA_OFFLINE: AttackInfo = AttackInfo {
    id: "rmia-offline",
    title: "RMIA, offline",
    paper: ZARIFZADEH,
    summary: "RMIA with reference models that never trained on the record: the average over OUT models is corrected by the linear rule p(x) = ½((1 + a)·mean + (1 - a)) to stand in for the missing IN models; a can be tuned on one reference model used as a stand-in target.",
    needs: Needs {
        population: true,
        references: ReferenceUse::OutOnly,
        population_references: true,
        ..Needs::TARGET_ONLY
    },
    reads: &[],
    labels_suffice: false,
    scores_per_class: false,
};

pub(super) static ENTRIES: [CatalogueEntry; 2] = [
    CatalogueEntry {
        info: &RMIA_ONLINE,
        build: |p| Box::new(RmiaAttack::new(false, p)),
    },
    CatalogueEntry {
        info: &RMIA_OFFLINE,
        build: |p| Box::new(RmiaAttack::new(true, p)),
    },
];

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

impl RmiaAttack {
    /// The reference signals of both sets and the population, or what is missing.
    fn references<'a>(
        &self,
        records: &ScoringSet<'a>,
        population: Option<ScoringSet<'a>>,
    ) -> Result<(&'a ReferenceSignals, ScoringSet<'a>, &'a ReferenceSignals), AttackError> {
        let id = self.info().id;
        let refs_x = records.references()?;
        let population = population.ok_or(AttackError::Missing {
            attack: id,
            need: Need::Population,
        })?;
        let refs_z = population
            .signals
            .references
            .as_ref()
            .ok_or(AttackError::Missing {
                attack: id,
                need: Need::PopulationReferences,
            })?;
        Ok((refs_x, population, refs_z))
    }

    /// The `a` this run uses (tuned on the audit records' reference matrix when asked), and
    /// the detail that says which.
    fn resolve_a(&self, refs_x: &ReferenceSignals, refs_z: &ReferenceSignals) -> (f64, String) {
        let gamma = self.gamma;
        match (self.offline, self.a) {
            (false, _) => (1.0, format!("γ = {gamma}")),
            (true, RmiaA::Fixed(a)) => (a, format!("a = {a}, γ = {gamma}")),
            (true, RmiaA::Tuned) => match tune_rmia_a(refs_x, refs_z, gamma) {
                Some(tuned) => (
                    tuned.a,
                    format!(
                        "a = {} tuned on reference model 0 as a stand-in target (its AUC {:.3}), γ = {gamma}",
                        tuned.a, tuned.auc
                    ),
                ),
                None => (
                    RmiaParams::DEFAULT_A,
                    format!(
                        "a = {} (default: tuning needs 2+ reference models and a stand-in with IN and OUT records), γ = {gamma}",
                        RmiaParams::DEFAULT_A
                    ),
                ),
            },
        }
    }

    fn config(&self, a: f64) -> RmiaConfig {
        RmiaConfig {
            offline: self.offline,
            a,
            gamma: self.gamma,
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
        let (refs_x, population, refs_z) = self.references(&records, population)?;
        let (a, detail) = self.resolve_a(refs_x, refs_z);
        Ok(AttackScores {
            scores: rmia(
                &records.target().confidence,
                refs_x,
                &population.target().confidence,
                refs_z,
                self.config(a),
            ),
            detail: Some(detail),
            warning: None,
        })
    }

    /// The population scored with the `a` resolved on the audit records.
    fn score_population(
        &self,
        records: ScoringSet<'_>,
        population: ScoringSet<'_>,
    ) -> Result<AttackScores, AttackError> {
        let (refs_x, _, refs_z) = self.references(&records, Some(population))?;
        let (a, detail) = self.resolve_a(refs_x, refs_z);
        Ok(AttackScores {
            scores: rmia(
                &population.target().confidence,
                refs_z,
                &population.target().confidence,
                refs_z,
                self.config(a),
            ),
            detail: Some(detail),
            warning: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_case(a: f64, gamma: f64) -> f64 {
        let pop_target = [0.9, 0.6, 0.3, 0.95, 0.99];
        let pop_refs = [0.85, 0.7, 0.2, 0.97, 0.3];
        let marginals: Vec<f64> = pop_refs
            .iter()
            .map(|r| offline_marginal(&[*r], a))
            .collect();
        let ratios = sorted_population_ratios(&pop_target, &marginals);
        score(0.95, offline_marginal(&[0.6], a), &ratios, gamma)
    }

    #[test]
    fn spec_rmia_offline_vectors() {
        assert_eq!(spec_case(0.3, 1.0), 0.8);
        assert_eq!(spec_case(1.0, 1.0), 0.8);
        assert_eq!(spec_case(0.3, 2.0), 0.2);
    }

    #[test]
    fn sorted_counting_matches_the_quadratic_definition() {
        let ratios_unsorted = [1.3, 0.2, 0.9, 2.5, 1.0, 0.7];
        let sorted = sorted_population_ratios(&ratios_unsorted, &[1.0; 6]);
        for (px, gamma) in [(0.5, 1.0), (1.0, 1.0), (1.0, 2.0), (3.0, 0.5)] {
            let direct = ratios_unsorted
                .iter()
                .filter(|rz| px / **rz >= gamma)
                .count() as f64
                / 6.0;
            assert_eq!(
                score(px, 1.0, &sorted, gamma),
                direct,
                "px {px} gamma {gamma}"
            );
        }
    }

    #[test]
    fn rmia_on_matrices_reproduces_the_spec_vector() {
        let single = |v: Vec<f64>| {
            let n = v.len();
            let m = Array2::from_shape_vec((n, 1), v).unwrap();
            ReferenceSignals::new(m.clone(), m.clone(), m, Array2::from_elem((n, 1), false))
                .unwrap()
        };
        let x = single(vec![0.6]);
        let z = single(vec![0.85, 0.7, 0.2, 0.97, 0.3]);
        let z_target = [0.9, 0.6, 0.3, 0.95, 0.99];
        for (a, gamma, expected) in [(0.3, 1.0, 0.8), (1.0, 1.0, 0.8), (0.3, 2.0, 0.2)] {
            let config = RmiaConfig {
                offline: true,
                a,
                gamma,
            };
            assert_eq!(
                rmia(&[0.95], &x, &z_target, &z, config),
                vec![Some(expected)]
            );
        }
    }
}
