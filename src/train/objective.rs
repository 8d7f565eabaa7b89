//! What a network is fitted to: a loss over a batch of its outputs and that loss's gradient.
//! Reference models fit the records' classes ([`Classification`], softmax cross-entropy,
//! the loss the target was trained with); the quantile-regression attack fits a Gaussian to
//! the target's scores ([`GaussianScores`]).

/// A loss over a batch of network outputs.
pub trait Objective: Sync {
    /// The mean loss over `batch` (indices of the records whose outputs `outputs` holds,
    /// `width` values each, in the same order), with `grad` (same layout) set to its
    /// gradient with respect to the outputs.
    fn loss(&self, outputs: &[f32], width: usize, batch: &[usize], grad: &mut [f32]) -> f64;
}

/// Softmax cross-entropy against each record's class; a network with one output is read
/// as the logit of class 1 (logits `[0, z]`, whose softmax is the sigmoid), as the engine
/// reads such a model.
pub struct Classification<'a> {
    pub labels: &'a [usize],
}

impl Objective for Classification<'_> {
    fn loss(&self, outputs: &[f32], width: usize, batch: &[usize], grad: &mut [f32]) -> f64 {
        let scale = 1.0 / batch.len().max(1) as f64;
        let mut total = 0.0f64;
        let mut probabilities = Vec::with_capacity(width.max(2));
        for ((row, g), &record) in outputs
            .chunks_exact(width)
            .zip(grad.chunks_exact_mut(width))
            .zip(batch)
        {
            let label = self.labels[record];
            probabilities.clear();
            if width == 1 {
                probabilities.extend([0.0, row[0] as f64]);
            } else {
                probabilities.extend(row.iter().map(|&v| v as f64));
            }
            let max = probabilities.iter().copied().fold(f64::MIN, f64::max);
            let sum: f64 = probabilities.iter().map(|v| (v - max).exp()).sum();
            let log_sum = max + sum.ln();
            total += log_sum - probabilities[label];
            probabilities
                .iter_mut()
                .for_each(|v| *v = (*v - log_sum).exp());
            probabilities[label] -= 1.0;
            if width == 1 {
                g[0] = (probabilities[1] * scale) as f32;
            } else {
                g.iter_mut()
                    .zip(&probabilities)
                    .for_each(|(g, p)| *g = (p * scale) as f32);
            }
        }
        total * scale
    }
}

/// A Gaussian over each record's score, its mean and log scale read from the two outputs of
/// the record's class (outputs `[μ_0, ln σ_0, μ_1, ln σ_1, …]`), fitted by likelihood: loss
/// `ln σ + ½((s − μ)/σ)²`. The log scale is clamped to [−10, 10] so that a record the
/// regressor fits exactly cannot send the loss to −∞.
pub struct GaussianScores<'a> {
    pub labels: &'a [usize],
    pub scores: &'a [f64],
}

/// Bounds on a Gaussian regressor's log scale.
pub const LOG_SCALE_BOUNDS: (f64, f64) = (-10.0, 10.0);

impl Objective for GaussianScores<'_> {
    fn loss(&self, outputs: &[f32], width: usize, batch: &[usize], grad: &mut [f32]) -> f64 {
        let scale = 1.0 / batch.len().max(1) as f64;
        let mut total = 0.0f64;
        grad.fill(0.0);
        for ((row, g), &record) in outputs
            .chunks_exact(width)
            .zip(grad.chunks_exact_mut(width))
            .zip(batch)
        {
            let at = 2 * self.labels[record];
            let (mean, raw_log_scale) = (row[at] as f64, row[at + 1] as f64);
            let log_scale = raw_log_scale.clamp(LOG_SCALE_BOUNDS.0, LOG_SCALE_BOUNDS.1);
            let z = (self.scores[record] - mean) * (-log_scale).exp();
            total += log_scale + 0.5 * z * z;
            g[at] = (-z * (-log_scale).exp() * scale) as f32;
            if log_scale == raw_log_scale {
                g[at + 1] = ((1.0 - z * z) * scale) as f32;
            }
        }
        total * scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic gradient against central differences of the loss.
    fn check_gradient(objective: &dyn Objective, outputs: &[f32], width: usize, batch: &[usize]) {
        let mut grad = vec![0.0; outputs.len()];
        objective.loss(outputs, width, batch, &mut grad);
        let mut scratch = vec![0.0; outputs.len()];
        for i in 0..outputs.len() {
            let h = 1e-2f32;
            let mut up = outputs.to_vec();
            up[i] += h;
            let mut down = outputs.to_vec();
            down[i] -= h;
            let numeric = (objective.loss(&up, width, batch, &mut scratch)
                - objective.loss(&down, width, batch, &mut scratch))
                / (2.0 * h as f64);
            assert!(
                (numeric - grad[i] as f64).abs() < 1e-3,
                "output {i}: numeric {numeric}, analytic {}",
                grad[i]
            );
        }
    }

    #[test]
    fn cross_entropy_is_minus_log_softmax_of_the_label_with_its_gradient() {
        let labels = [2, 0];
        let objective = Classification { labels: &labels };
        let outputs = [1.0f32, 2.0, 3.0, 0.5, -0.5, 0.0];
        let mut grad = [0.0; 6];
        let loss = objective.loss(&outputs, 3, &[0, 1], &mut grad);
        let lse = |r: &[f64]| r.iter().map(|v| v.exp()).sum::<f64>().ln();
        let expected = ((lse(&[1.0, 2.0, 3.0]) - 3.0) + (lse(&[0.5, -0.5, 0.0]) - 0.5)) / 2.0;
        assert!((loss - expected).abs() < 1e-9);
        check_gradient(&objective, &outputs, 3, &[0, 1]);
    }

    #[test]
    fn one_output_is_the_logit_of_class_one() {
        let labels = [1, 0];
        let objective = Classification { labels: &labels };
        let mut grad = [0.0; 2];
        let loss = objective.loss(&[2.0, -1.0], 1, &[0, 1], &mut grad);
        let sigmoid = |z: f64| 1.0 / (1.0 + (-z).exp());
        let expected = (-(sigmoid(2.0)).ln() - (1.0 - sigmoid(-1.0)).ln()) / 2.0;
        assert!((loss - expected).abs() < 1e-9);
        check_gradient(&objective, &[2.0, -1.0], 1, &[0, 1]);
    }

    #[test]
    fn gaussian_likelihood_reads_the_labels_pair_and_has_its_gradient() {
        let labels = [1, 0];
        let scores = [0.7, -1.2];
        let objective = GaussianScores {
            labels: &labels,
            scores: &scores,
        };
        let outputs = [0.1f32, 0.2, 0.5, -0.3, -1.0, 0.4, 9.0, 9.0];
        check_gradient(&objective, &outputs, 4, &[0, 1]);
        let mut grad = [0.0; 8];
        let loss = objective.loss(&outputs, 4, &[0, 1], &mut grad);
        let nll = |s: f64, m: f64, ls: f64| ls + 0.5 * ((s - m) / ls.exp()).powi(2);
        assert!((loss - (nll(0.7, 0.5, -0.3) + nll(-1.2, -1.0, 0.4)) / 2.0).abs() < 1e-6);
        assert_eq!(grad[6], 0.0, "other classes' outputs get no gradient");
    }
}
