//! Membership-inference attacks: pure functions from signals to one score per record,
//! higher meaning more likely a member (SPEC.md, "Conventions").
//!
//! Every attack implements [`Attack`], lives in its own file with its settings, its
//! description and the queries it sends the target ([`QueryKind`]), and is listed once in
//! [`catalogue`], the table the CLI and the page both read: this file is that catalogue
//! (the attack modules, their order, and [`AttackParams`], the settings of those that have
//! any); [`base`] is what every attack is made of. What an attack needs is declared
//! once, in [`AttackInfo::needs`]; [`run`] checks it before scoring, the audit computes what
//! the chosen attacks need from it, and the default attack list is every attack whose needs
//! the inputs meet. Attacks that calibrate against reference models may leave a record
//! unscored (`None`) when its references cannot support a score; it is then listed, never
//! guessed.

mod base;
mod calibrated_loss;
mod code_poison;
mod label_only;
pub mod lira;
mod logistic;
mod needs;
pub mod quantile;
mod query;
pub mod rmia;
mod shokri;
mod threshold;

#[cfg(test)]
mod reference_tests;

pub use base::{Attack, AttackError, AttackInfo, AttackScores, ScoringSet, run};
pub use code_poison::{
    CodePoisonParams, ENCODED, EncodedQueries, EncodingSetup, InputNormalization, NormalizedBy,
};
pub use label_only::{LabelOnlyParams, LabelOnlyQueries, PERTURBED};
pub use lira::{AUGMENTED, AugmentedQueries, AugmentedQuery, LiraParams, LiraVariance};
pub use needs::{Available, Need, Needs, ReferenceUse};
pub use quantile::{QuantileParams, QuantileScore};
pub use query::{Answers, QueryAnswers, QueryKind, QueryMap, QueryOracle, QueryParts, ReadContext};
pub use rmia::{RmiaA, RmiaParams};
pub use shokri::ShokriParams;
pub use threshold::{ThresholdAttack, ThresholdConfig, ThresholdSignal};

use serde::{Deserialize, Serialize};

/// One row of the attack table.
pub struct CatalogueEntry {
    pub info: &'static AttackInfo,
    pub build: fn(&AttackParams) -> Box<dyn Attack>,
}

/// Every attack mialab knows, in the order they are listed and reported.
pub fn catalogue() -> impl Iterator<Item = &'static CatalogueEntry> {
    threshold::ENTRIES
        .iter()
        .chain(lira::ENTRIES.iter())
        .chain(rmia::ENTRIES.iter())
        .chain(std::iter::once(&calibrated_loss::ENTRY))
        .chain(std::iter::once(&shokri::ENTRY))
        .chain(std::iter::once(&quantile::ENTRY))
        .chain(std::iter::once(&label_only::ENTRY))
        .chain(code_poison::ENTRIES.iter())
}

/// Every kind of extra query the catalogue's attacks send or read, once each, in catalogue
/// order.
pub fn query_kinds() -> impl Iterator<Item = &'static QueryKind> {
    let mut seen: Vec<&'static str> = Vec::new();
    catalogue().flat_map(|e| e.info.queries()).filter(move |k| {
        let new = !seen.contains(&k.id);
        seen.push(k.id);
        new
    })
}

/// Settings of every attack that has any, each with its defaults (SPEC.md).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttackParams {
    pub lira: LiraParams,
    pub rmia: RmiaParams,
    pub shokri: ShokriParams,
    pub code_poison: CodePoisonParams,
    pub label_only: LabelOnlyParams,
    pub quantile: QuantileParams,
}

impl AttackParams {
    /// Checks every setting is in its range.
    pub fn validate(&self) -> Result<(), AttackError> {
        self.rmia.validate()?;
        self.shokri.validate()?;
        self.code_poison.validate()?;
        self.quantile.validate()?;
        self.label_only.validate()
    }
}

/// The population (threshold) attacks: those that read the target's outputs on the real
/// records alone.
pub fn population_attacks() -> Vec<&'static str> {
    threshold::ENTRIES.iter().map(|e| e.info.id).collect()
}

/// The attacks run when none are named: every one whose needs `available` meets, except
/// those whose queries run only when asked for (they train a model).
pub fn default_attacks(available: &Available) -> Vec<&'static str> {
    catalogue()
        .filter(|e| e.info.needs.unmet(available).is_empty())
        .filter(|e| e.info.runs_by_default())
        .map(|e| e.info.id)
        .collect()
}

/// Builds the attack called `id` with `params`.
pub fn build(id: &str, params: &AttackParams) -> Result<Box<dyn Attack>, AttackError> {
    params.validate()?;
    catalogue()
        .find(|e| e.info.id == id)
        .map(|e| (e.build)(params))
        .ok_or_else(|| AttackError::Unknown {
            name: id.to_string(),
            available: catalogue()
                .map(|e| e.info.id)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The catalogue entry of `id`, if there is one.
pub fn info(id: &str) -> Option<&'static AttackInfo> {
    catalogue().find(|e| e.info.id == id).map(|e| e.info)
}

/// Reads a check of one parameter.
pub(crate) fn check(
    ok: bool,
    name: &'static str,
    rule: &'static str,
    value: f64,
) -> Result<(), AttackError> {
    if ok {
        Ok(())
    } else {
        Err(AttackError::Parameter { name, rule, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert_eq!(AttackParams::default().validate(), Ok(()));
        let mut p = AttackParams::default();
        p.rmia.a = RmiaA::Fixed(1.5);
        assert!(p.validate().unwrap_err().to_string().contains("RMIA's a"));
        let mut p = AttackParams::default();
        p.rmia.gamma = 0.0;
        assert!(p.validate().unwrap_err().to_string().contains("gamma"));
    }

    #[test]
    fn every_attack_id_is_listed_once() {
        let mut ids: Vec<&str> = catalogue().map(|e| e.info.id).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
