//! The typed settings of the attacks that have any, with SPEC.md's defaults. One
//! [`AttackParams`] travels from the CLI or the page to [`super::build`], which validates it.

use super::AttackError;

/// How LiRA estimates the spread of φ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LiraVariance {
    /// Fixed when there are fewer than 64 reference models, per record otherwise (SPEC.md).
    #[default]
    Auto,
    /// One global σ for IN and one for OUT, over all records.
    Fixed,
    /// Each record's own σ over its references.
    PerRecord,
}

/// LiRA's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiraParams {
    pub variance: LiraVariance,
}

impl LiraParams {
    /// Reference-set size below which `Auto` uses a fixed variance.
    pub const FIXED_VARIANCE_BELOW: usize = 64;

    /// Whether to pool σ for a reference set of `models` models.
    pub fn fixed_variance(&self, models: usize) -> bool {
        match self.variance {
            LiraVariance::Auto => models < Self::FIXED_VARIANCE_BELOW,
            LiraVariance::Fixed => true,
            LiraVariance::PerRecord => false,
        }
    }
}

/// RMIA's offline correction `a`: given, or tuned on one reference model as a stand-in target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RmiaA {
    Fixed(f64),
    Tuned,
}

/// RMIA's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmiaParams {
    pub a: RmiaA,
    /// The likelihood-ratio threshold γ a population record must be beaten by.
    pub gamma: f64,
}

impl RmiaParams {
    /// SPEC.md's default `a`.
    pub const DEFAULT_A: f64 = 0.3;
}

impl Default for RmiaParams {
    fn default() -> Self {
        RmiaParams {
            a: RmiaA::Fixed(Self::DEFAULT_A),
            gamma: 1.0,
        }
    }
}

/// The Shokri shadow attack's classifier settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShokriParams {
    /// L2 penalty of the per-class logistic regressions.
    pub l2: f64,
    pub max_iterations: u64,
}

impl Default for ShokriParams {
    fn default() -> Self {
        ShokriParams {
            l2: 1e-3,
            max_iterations: 200,
        }
    }
}

/// Settings of every attack that has any.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AttackParams {
    pub lira: LiraParams,
    pub rmia: RmiaParams,
    pub shokri: ShokriParams,
    /// Which label the code-poisoning attack reads on the encoded queries.
    pub code_poison: super::EncodedLabel,
    pub label_only: super::LabelOnlyParams,
}

impl AttackParams {
    /// Checks every setting is in its range.
    pub fn validate(&self) -> Result<(), AttackError> {
        let check = |ok: bool, name, rule, value: f64| {
            if ok {
                Ok(())
            } else {
                Err(AttackError::Parameter { name, rule, value })
            }
        };
        if let RmiaA::Fixed(a) = self.rmia.a {
            check((0.0..=1.0).contains(&a), "RMIA's a", "in [0, 1]", a)?;
        }
        check(
            self.rmia.gamma.is_finite() && self.rmia.gamma > 0.0,
            "RMIA's gamma",
            "a positive number",
            self.rmia.gamma,
        )?;
        check(
            self.shokri.l2.is_finite() && self.shokri.l2 >= 0.0,
            "Shokri's L2 penalty",
            "zero or positive",
            self.shokri.l2,
        )?;
        check(
            self.label_only.queries > 0,
            "label-only queries",
            "at least 1",
            self.label_only.queries as f64,
        )?;
        check(
            self.label_only.sigma.is_finite() && self.label_only.sigma > 0.0,
            "label-only noise σ",
            "a positive number",
            self.label_only.sigma,
        )?;
        check(
            self.shokri.max_iterations > 0,
            "Shokri's iterations",
            "at least 1",
            self.shokri.max_iterations as f64,
        )
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
    fn auto_variance_pools_below_64_models() {
        let auto = LiraParams::default();
        assert!(auto.fixed_variance(16) && !auto.fixed_variance(64));
    }
}
