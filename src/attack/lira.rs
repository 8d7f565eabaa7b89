//! LiRA's per-record likelihood ratio (Carlini et al., "Membership Inference Attacks From
//! First Principles", IEEE S&P 2022), as pure functions of the target's logit-scaled
//! confidence φ and the reference models' φ on the same record (SPEC.md, attack 4).
//!
//! These are the formulas only; running reference models and assembling the signals
//! matrix they read from is the reference-model pipeline's job.

use statrs::function::erf::erfc;

/// Floor on σ so a record whose references agree exactly never divides by zero.
pub const SIGMA_FLOOR: f64 = 1e-6;

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
        0.5 * erfc(-(x - self.mean) / (self.std * std::f64::consts::SQRT_2))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
