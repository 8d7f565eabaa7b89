//! The reference-calibrated attacks as catalogue entries: LiRA (three tests), RMIA (online
//! and offline) and Watson et al.'s calibrated loss, each reading the reference signals
//! matrix that travels with the records (SPEC.md, attacks 3–5). The formulas themselves
//! live in [`super::calibrated`].

use super::calibrated::{self, LiraConfig, LiraTest, RmiaConfig};
use super::{
    Attack, AttackError, AttackInfo, AttackParams, AttackScores, CatalogueEntry, LiraParams,
    ReferenceUse, RmiaA, RmiaParams, ScoringSet,
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
};

static LIRA_OFFLINE: AttackInfo = AttackInfo {
    id: "lira-offline",
    title: "LiRA, offline (one-sided)",
    paper: CARLINI,
    summary: "Uses only reference models that did not train on the record: fits a Gaussian to their logit-scaled confidence on it and scores how far above that distribution the target's confidence lies (the paper's one-sided test, Φ((φ - μ_out)/σ_out)). Needs no model trained on the audited records, so it fits audits where retraining on each candidate is impossible.",
    needs_population: false,
    references: ReferenceUse::OutOnly,
};

static LIRA_OFFLINE_TWO_SIDED: AttackInfo = AttackInfo {
    id: "lira-offline-two-sided",
    title: "LiRA, offline (two-sided, reference code)",
    paper: CARLINI,
    summary: "The offline test as the LiRA authors' code computes it: the negative log-likelihood of the target's logit-scaled confidence under the OUT Gaussian, so a record is flagged when the target is unusual in either direction. Offered for comparison with numbers produced by that code.",
    needs_population: false,
    references: ReferenceUse::OutOnly,
};

static RMIA_ONLINE: AttackInfo = AttackInfo {
    id: "rmia-online",
    title: "RMIA, online",
    paper: ZARIFZADEH,
    summary: "Divides the target's probability of the true label by its average over all reference models, and compares that ratio with the same ratio on population records: the score is the fraction of population records the record beats by a factor γ. Comparing against many population records makes it strong with few reference models.",
    needs_population: true,
    references: ReferenceUse::InAndOut,
};

static RMIA_OFFLINE: AttackInfo = AttackInfo {
    id: "rmia-offline",
    title: "RMIA, offline",
    paper: ZARIFZADEH,
    summary: "RMIA with reference models that never trained on the record: the average over OUT models is corrected by the linear rule p(x) = ½((1 + a)·mean + (1 - a)) to stand in for the missing IN models; a can be tuned on one reference model used as a stand-in target.",
    needs_population: true,
    references: ReferenceUse::OutOnly,
};

static CALIBRATED_LOSS: AttackInfo = AttackInfo {
    id: "calibrated-loss",
    title: "Reference-calibrated loss",
    paper: WATSON,
    summary: "Subtracts the target's loss on a record from the median loss of reference models that did not train on it. Hard records have a high loss everywhere and easy ones a low loss everywhere; calibrating by the record's own difficulty leaves the part of the loss that membership explains.",
    needs_population: false,
    references: ReferenceUse::OutOnly,
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
        Ok(AttackScores {
            scores: calibrated::lira(&records.signals.logit_scaled, refs, config),
            detail: Some(if fixed_variance {
                format!(
                    "fixed variance over all records ({} reference models)",
                    refs.models()
                )
            } else {
                format!("per-record variance ({} reference models)", refs.models())
            }),
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
