//! Per-record membership signals computed from a model's output (SPEC.md, "Signals").
//!
//! Every signal is a pure function of one output row and the record's label; [`Signals`]
//! holds them as columns for one model over a record set. Logits and probabilities are both
//! accepted; wherever a signal can be computed from logits without leaving log space
//! (`logit_scaled`) it is, because `ln(p / (1 - p))` loses everything once `p` rounds to 1.

use crate::model::{ModelOutput, OutputKind};
use ndarray::Array2;
use serde::Serialize;

/// Floor inside `ln` for the loss and `logit_scaled` (SPEC.md).
const LOSS_FLOOR: f64 = 1e-45;
/// Floor inside `ln` for the entropies (SPEC.md).
const ENTROPY_FLOOR: f64 = 1e-30;

/// A real-valued signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// `p_y`, the probability of the true class.
    Confidence,
    /// Cross-entropy `-ln p_y`.
    Loss,
    /// LiRA's φ: `ln(p_y / (1 - p_y))`.
    LogitScaled,
    /// Shannon entropy of the prediction.
    Entropy,
    /// Song & Mittal's modified entropy, which uses the label.
    ModifiedEntropy,
}

impl SignalKind {
    pub const ALL: [SignalKind; 5] = [
        SignalKind::Confidence,
        SignalKind::Loss,
        SignalKind::LogitScaled,
        SignalKind::Entropy,
        SignalKind::ModifiedEntropy,
    ];

    /// The name used in reports and CSV headers.
    pub fn name(self) -> &'static str {
        match self {
            SignalKind::Confidence => "confidence",
            SignalKind::Loss => "loss",
            SignalKind::LogitScaled => "logit_scaled",
            SignalKind::Entropy => "entropy",
            SignalKind::ModifiedEntropy => "modified_entropy",
        }
    }
}

/// Every signal of one model over a record set, one entry per record.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    pub confidence: Vec<f64>,
    pub loss: Vec<f64>,
    pub logit_scaled: Vec<f64>,
    pub entropy: Vec<f64>,
    pub modified_entropy: Vec<f64>,
    /// Whether the model's top class is the label.
    pub correct: Vec<bool>,
    /// Softmax probabilities (at the audit's temperature), records × classes.
    pub probabilities: Array2<f64>,
}

impl Signals {
    /// Computes the signals of `output` for records labelled `labels`, at softmax
    /// temperature `temperature` (1 leaves the model's own probabilities unchanged).
    /// Labels must be valid class indices (checked when records are matched to the model).
    pub fn compute(output: &ModelOutput, labels: &[usize], temperature: f64) -> Signals {
        let n = labels.len();
        let mut s = Signals {
            confidence: Vec::with_capacity(n),
            loss: Vec::with_capacity(n),
            logit_scaled: Vec::with_capacity(n),
            entropy: Vec::with_capacity(n),
            modified_entropy: Vec::with_capacity(n),
            correct: Vec::with_capacity(n),
            probabilities: Array2::zeros((n, output.values.ncols())),
        };
        for (i, (row, &y)) in output.values.rows().into_iter().zip(labels).enumerate() {
            let row = row.to_vec();
            let (p, log_p_y, phi) = match output.kind {
                OutputKind::Logits => {
                    let z: Vec<f64> = row.iter().map(|v| v / temperature).collect();
                    let phi = logit_scaled_from_logits(&z, y);
                    (softmax(&z), -softplus(-phi), phi)
                }
                OutputKind::Probabilities => {
                    let p = temper_probabilities(&row, temperature);
                    let phi = logit_scaled_from_probabilities(&p, y);
                    let log_p_y = p[y].ln();
                    (p, log_p_y, phi)
                }
            };
            s.confidence.push(p[y]);
            s.loss.push(loss_from_log(log_p_y));
            s.logit_scaled.push(phi);
            s.entropy.push(entropy(&p));
            s.modified_entropy
                .push(modified_entropy_with_log(&p, y, log_p_y));
            s.correct.push(argmax(&p) == y);
            s.probabilities
                .row_mut(i)
                .iter_mut()
                .zip(&p)
                .for_each(|(cell, v)| *cell = *v);
        }
        s
    }

    /// The column of one signal.
    pub fn get(&self, kind: SignalKind) -> &[f64] {
        match kind {
            SignalKind::Confidence => &self.confidence,
            SignalKind::Loss => &self.loss,
            SignalKind::LogitScaled => &self.logit_scaled,
            SignalKind::Entropy => &self.entropy,
            SignalKind::ModifiedEntropy => &self.modified_entropy,
        }
    }

    pub fn len(&self) -> usize {
        self.correct.len()
    }

    pub fn is_empty(&self) -> bool {
        self.correct.is_empty()
    }
}

/// Softmax computed stably (the maximum is subtracted first).
pub fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exp: Vec<f64> = logits.iter().map(|z| (z - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Probabilities at temperature `t`: `softmax(ln p / t)`, i.e. `p^(1/t)` renormalised.
pub fn temper_probabilities(p: &[f64], t: f64) -> Vec<f64> {
    if t == 1.0 {
        return p.to_vec();
    }
    let powered: Vec<f64> = p.iter().map(|q| q.max(0.0).powf(1.0 / t)).collect();
    let sum: f64 = powered.iter().sum();
    if sum > 0.0 {
        powered.into_iter().map(|q| q / sum).collect()
    } else {
        p.to_vec()
    }
}

/// Cross-entropy loss `-ln max(p_y, 1e-45)`.
pub fn loss(p: &[f64], y: usize) -> f64 {
    loss_from_log(p[y].ln())
}

/// The loss from `ln p_y`, which logits give exactly even where `p_y` rounds to 1.
fn loss_from_log(log_p_y: f64) -> f64 {
    -log_p_y.max(LOSS_FLOOR.ln())
}

/// `ln(1 + e^x)` without overflow, and exact for very negative `x`: from logits,
/// `-ln p_y = softplus(-φ)`, which stays positive where `p_y` itself rounds to 1.
pub fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// `ln Σ_j e^{z_j}`, computed stably.
pub fn logsumexp(z: &[f64]) -> f64 {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// `z_y - logsumexp_{j != y} z_j`, the stable form of `ln(p_y / (1 - p_y))`.
pub fn logit_scaled_from_logits(z: &[f64], y: usize) -> f64 {
    let others: Vec<f64> = z
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != y)
        .map(|(_, v)| *v)
        .collect();
    z[y] - logsumexp(&others)
}

/// `ln max(p_y, 1e-45) - ln max(Σ_{j != y} p_j, 1e-45)`.
pub fn logit_scaled_from_probabilities(p: &[f64], y: usize) -> f64 {
    let rest: f64 = p
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != y)
        .map(|(_, v)| *v)
        .sum();
    p[y].max(LOSS_FLOOR).ln() - rest.max(LOSS_FLOOR).ln()
}

/// Shannon entropy `-Σ_j p_j ln max(p_j, 1e-30)`.
pub fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .map(|&q| q * q.max(ENTROPY_FLOOR).ln())
        .sum::<f64>()
}

/// Song & Mittal (2021): `-(1-p_y) ln max(p_y, 1e-30) - Σ_{j != y} p_j ln max(1-p_j, 1e-30)`.
pub fn modified_entropy(p: &[f64], y: usize) -> f64 {
    modified_entropy_with_log(p, y, p[y].ln())
}

/// [`modified_entropy`] with `ln p_y` given, and `1 - p_y` taken as `Σ_{j != y} p_j` so that
/// neither factor of the first term rounds to zero for a confident prediction.
fn modified_entropy_with_log(p: &[f64], y: usize, log_p_y: f64) -> f64 {
    let others = || {
        p.iter()
            .enumerate()
            .filter(|(j, _)| *j != y)
            .map(|(_, &q)| q)
    };
    let rest: f64 = others().sum();
    let own = -rest * log_p_y.max(ENTROPY_FLOOR.ln());
    own - others()
        .map(|q| q * (1.0 - q).max(ENTROPY_FLOOR).ln())
        .sum::<f64>()
}

/// Index of the largest value (the first on ties).
pub fn argmax<T: PartialOrd>(p: &[T]) -> usize {
    p.iter()
        .enumerate()
        .fold(0, |best, (j, v)| if *v > p[best] { j } else { best })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelOutput, OutputKind};
    use ndarray::array;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn spec_logit_scaled_from_logits_and_from_their_softmax() {
        let z = [2.0, 0.5, -1.0];
        assert!(close(logit_scaled_from_logits(&z, 0), 1.298587, 1e-6));
        assert!(close(
            logit_scaled_from_probabilities(&softmax(&z), 0),
            1.298587,
            1e-6
        ));
    }

    #[test]
    fn spec_modified_entropy_vectors() {
        assert!(close(modified_entropy(&[0.7, 0.2, 0.1], 0), 0.162167, 1e-6));
        assert!(close(modified_entropy(&[0.1, 0.7, 0.2], 0), 2.959736, 1e-6));
        assert!(close(modified_entropy(&[0.0, 1.0, 0.0], 0), 138.1551, 1e-4));
    }

    #[test]
    fn loss_and_entropy_follow_their_definitions() {
        let p = [0.5, 0.25, 0.25];
        assert!(close(loss(&p, 1), 4f64.ln(), 1e-12));
        assert!(close(entropy(&p), 1.5 * 2f64.ln(), 1e-12));
        assert!(
            close(loss(&[1.0, 0.0], 1), -(1e-45f64).ln(), 1e-9),
            "loss is floored at p = 1e-45"
        );
    }

    #[test]
    fn softmax_is_stable_for_huge_logits() {
        let p = softmax(&[1000.0, 0.0]);
        assert_eq!(p, vec![1.0, 0.0]);
        let p = softmax(&[-1000.0, -1000.0]);
        assert_eq!(p, vec![0.5, 0.5]);
    }

    #[test]
    fn logits_and_their_probabilities_give_the_same_signals() {
        let logits = array![[2.0, 0.5, -1.0], [-0.3, 0.1, 0.9]];
        let probs =
            ndarray::Array2::from_shape_fn((2, 3), |(r, c)| softmax(&logits.row(r).to_vec())[c]);
        let labels = [0, 2];
        let a = Signals::compute(
            &ModelOutput {
                kind: OutputKind::Logits,
                values: logits,
                expanded_single: false,
            },
            &labels,
            1.0,
        );
        let b = Signals::compute(
            &ModelOutput {
                kind: OutputKind::Probabilities,
                values: probs,
                expanded_single: false,
            },
            &labels,
            1.0,
        );
        for kind in SignalKind::ALL {
            for (x, y) in a.get(kind).iter().zip(b.get(kind)) {
                assert!(close(*x, *y, 1e-9), "{kind:?}: {x} vs {y}");
            }
        }
        assert_eq!(a.correct, vec![true, true]);
    }

    #[test]
    fn loss_from_logits_stays_positive_where_the_probability_rounds_to_one() {
        let out = ModelOutput {
            kind: OutputKind::Logits,
            values: array![[0.0, 60.0]],
            expanded_single: true,
        };
        let s = Signals::compute(&out, &[1], 1.0);
        assert_eq!(s.confidence[0], 1.0);
        assert!(s.loss[0] > 0.0 && close(s.loss[0], (-60f64).exp(), 1e-30));
    }

    #[test]
    fn temperature_flattens_predictions_the_same_way_for_logits_and_probabilities() {
        let z = array![[3.0, 1.0, 0.0]];
        let p = ndarray::Array2::from_shape_vec((1, 3), softmax(&z.row(0).to_vec())).unwrap();
        let a = Signals::compute(
            &ModelOutput {
                kind: OutputKind::Logits,
                values: z,
                expanded_single: false,
            },
            &[0],
            2.0,
        );
        let b = Signals::compute(
            &ModelOutput {
                kind: OutputKind::Probabilities,
                values: p,
                expanded_single: false,
            },
            &[0],
            2.0,
        );
        assert!(close(a.confidence[0], b.confidence[0], 1e-12));
        assert!(a.confidence[0] < softmax(&[3.0, 1.0, 0.0])[0]);
    }
}
