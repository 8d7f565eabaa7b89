//! Binary logistic regression with an L2 penalty, fitted by Newton's method: the per-class
//! classifiers of Shokri's attack ([`super::shokri`]).
//!
//! The objective is scikit-learn's and linfa-logistic's: over rows x with targets t ∈ {0, 1},
//! `Σ ln(1 + exp(-s·(w·x + b))) + ½·l2·|w|²` with s = ±1 for t = 1/0 and the intercept b
//! not penalised. It is strictly convex for l2 > 0, so its minimum is one point whatever
//! finds it. Shokri's features (a sorted probability vector) have few columns and many
//! rows (every reference model × record of a class), which suits Newton's method: a handful
//! of passes, each one exp and one log per row, against linfa-logistic's L-BFGS that took
//! tens of passes with a log and an exp each (the demo's fits: 0.33 s natively and 1.08 s in
//! wasm with linfa, docs/benchmarks.md). The columns of a probability vector sum to 1 and so
//! repeat the intercept; only the penalty makes the Hessian invertible then, so the steps
//! are solved with a Cholesky factor that falls back to a small ridge on the step (never on
//! the objective) where the penalty is zero.

use std::fmt;

/// A fitted classifier: weights, intercept and how the fit ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Logistic {
    pub weights: Vec<f64>,
    pub intercept: f64,
    /// Newton steps taken.
    pub iterations: u64,
    /// Whether the Newton decrement fell below the tolerance before the iteration limit (it
    /// may not where the classes separate and there is no penalty: the weights keep growing).
    pub converged: bool,
}

/// Why a fit could not start.
#[derive(Debug, Clone, PartialEq)]
pub enum FitError {
    /// The rows hold a NaN or an infinity.
    NotFinite,
    /// The rows are not `width` wide, or there are no rows.
    Shape { values: usize, width: usize },
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FitError::NotFinite => write!(f, "the features hold a NaN or an infinity"),
            FitError::Shape { values, width } => write!(
                f,
                "{values} feature values do not make rows of {width} (or there are none)"
            ),
        }
    }
}

/// Stop once half the Newton decrement (the objective's predicted drop) is below this
/// fraction of the objective: quadratic convergence takes it from ~1e-6 to ~1e-12 in one step.
const RELATIVE_DECREMENT: f64 = 1e-13;

/// One pass over the rows at a parameter vector (weights then intercept).
struct Pass {
    objective: f64,
    gradient: Vec<f64>,
    /// Upper triangle of the Hessian, row by row.
    hessian: Vec<f64>,
}

/// The rows, their targets and the penalty.
struct Problem<'a> {
    rows: &'a [f64],
    width: usize,
    members: &'a [bool],
    l2: f64,
}

impl Problem<'_> {
    fn parameters(&self) -> usize {
        self.width + 1
    }

    /// The objective, its gradient and Hessian at `beta`, summed in row order.
    fn pass(&self, beta: &[f64]) -> Pass {
        let n = self.parameters();
        let (weights, intercept) = beta.split_at(self.width);
        let mut objective = 0.0;
        let mut gradient = vec![0.0; n];
        let mut hessian = vec![0.0; n * (n + 1) / 2];
        // A row with the intercept's 1 after its features.
        let mut extended = vec![1.0; n];
        for (x, &member) in self.rows.chunks_exact(self.width).zip(self.members) {
            let z = intercept[0] + x.iter().zip(weights).map(|(a, w)| a * w).sum::<f64>();
            let (p, e) = sigmoid_and_tail(z);
            // ln(1 + exp(-s·z)) = max(-s·z, 0) + ln(1 + exp(-|z|)).
            let margin = if member { z } else { -z };
            objective += (-margin).max(0.0) + (1.0 + e).ln();
            let residual = p - if member { 1.0 } else { 0.0 };
            let weight = p * (1.0 - p);
            extended[..self.width].copy_from_slice(x);
            let mut at = 0;
            for (a, &xa) in extended.iter().enumerate() {
                gradient[a] += residual * xa;
                let wa = weight * xa;
                for (h, &xb) in hessian[at..at + n - a].iter_mut().zip(&extended[a..]) {
                    *h += wa * xb;
                }
                at += n - a;
            }
        }
        for (a, (g, w)) in gradient.iter_mut().zip(weights).enumerate() {
            *g += self.l2 * w;
            hessian[packed(n, a, a)] += self.l2;
        }
        objective += 0.5 * self.l2 * weights.iter().map(|w| w * w).sum::<f64>();
        Pass {
            objective,
            gradient,
            hessian,
        }
    }
}

/// σ(z) without overflow, and e^{-|z|} it was computed from (the loss's other term).
fn sigmoid_and_tail(z: f64) -> (f64, f64) {
    let e = (-z.abs()).exp();
    let p = if z >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    };
    (p, e)
}

/// Where entry (a, b), a ≤ b, of an n×n symmetric matrix lies in its upper triangle stored
/// row by row.
fn packed(n: usize, a: usize, b: usize) -> usize {
    a * n - a * (a + 1) / 2 + b
}

/// Solves `H·step = g` for a symmetric positive-definite H given as its upper triangle, by
/// Cholesky; None where H is not positive definite.
fn cholesky_solve(upper: &[f64], n: usize, g: &[f64]) -> Option<Vec<f64>> {
    // L·Lᵀ = H, L lower triangular, row-major n×n.
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            let value = upper[packed(n, j, i)] - dot;
            if i == j {
                if value.is_nan() || value <= 0.0 || value.is_infinite() {
                    return None;
                }
                l[i * n + i] = value.sqrt();
            } else {
                l[i * n + j] = value / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let dot: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (g[i] - dot) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let dot: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - dot) / l[i * n + i];
    }
    Some(x)
}

/// The Newton step `H⁻¹·g`; where H is singular (no penalty, repeated columns), a ridge
/// grown from 1e-10 of H's largest diagonal entry until the factor exists.
fn newton_step(hessian: &[f64], n: usize, gradient: &[f64]) -> Vec<f64> {
    if let Some(step) = cholesky_solve(hessian, n, gradient) {
        return step;
    }
    let diagonal: Vec<usize> = (0..n).map(|a| packed(n, a, a)).collect();
    let scale = diagonal
        .iter()
        .map(|&d| hessian[d])
        .fold(0.0_f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut ridge = 1e-10 * scale;
    loop {
        let mut damped = hessian.to_vec();
        for &d in &diagonal {
            damped[d] += ridge;
        }
        if let Some(step) = cholesky_solve(&damped, n, gradient) {
            return step;
        }
        ridge *= 10.0;
        if !ridge.is_finite() {
            // Only a non-finite Hessian gets here: a plain gradient step.
            return gradient.iter().map(|g| g / scale).collect();
        }
    }
}

/// Fits the classifier to `rows` (row-major, `width` columns) with targets `members`.
pub fn fit(
    rows: &[f64],
    width: usize,
    members: &[bool],
    l2: f64,
    max_iterations: u64,
) -> Result<Logistic, FitError> {
    if width == 0 || rows.is_empty() || rows.len() != width * members.len() {
        return Err(FitError::Shape {
            values: rows.len(),
            width,
        });
    }
    if rows.iter().any(|v| !v.is_finite()) {
        return Err(FitError::NotFinite);
    }
    let problem = Problem {
        rows,
        width,
        members,
        l2,
    };
    let n = problem.parameters();
    let mut beta = vec![0.0; n];
    let mut current = problem.pass(&beta);
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iterations {
        let step = newton_step(&current.hessian, n, &current.gradient);
        let decrement: f64 = step.iter().zip(&current.gradient).map(|(s, g)| s * g).sum();
        let tolerance = 2.0 * RELATIVE_DECREMENT * current.objective.abs().max(1.0);
        if decrement.is_nan() || decrement <= tolerance {
            // The last step is taken whole: it squares what error is left.
            if decrement.is_finite() {
                beta.iter_mut().zip(&step).for_each(|(b, s)| *b -= s);
            }
            converged = true;
            break;
        }
        iterations += 1;
        // Backtracking on the objective (Armijo): a full Newton step is taken once near.
        let mut size = 1.0;
        let accepted = loop {
            let trial: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - size * s).collect();
            let next = problem.pass(&trial);
            if next.objective <= current.objective - 1e-4 * size * decrement {
                break Some((trial, next));
            }
            size *= 0.5;
            if size < 1e-10 {
                break None;
            }
        };
        match accepted {
            Some((trial, next)) => {
                beta = trial;
                current = next;
            }
            // No step lowers the objective any further: rounding has the last word.
            None => {
                converged = true;
                break;
            }
        }
    }
    let intercept = beta.pop().unwrap_or(0.0);
    Ok(Logistic {
        weights: beta,
        intercept,
        iterations,
        converged,
    })
}

impl Logistic {
    /// The probability of a member for one row of features.
    pub fn probability(&self, features: &[f64]) -> f64 {
        let z = self.intercept
            + features
                .iter()
                .zip(&self.weights)
                .map(|(a, w)| a * w)
                .sum::<f64>();
        sigmoid_and_tail(z).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of two features from a fixed pseudo-random walk, members more likely where the
    /// first feature is large.
    fn data(count: usize) -> (Vec<f64>, Vec<bool>) {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut rows = Vec::new();
        let mut members = Vec::new();
        for _ in 0..count {
            let (a, b) = (uniform() * 4.0 - 2.0, uniform() * 2.0 - 1.0);
            rows.extend([a, b]);
            members.push(uniform() < 1.0 / (1.0 + (-(1.5 * a - 0.5 * b + 0.3)).exp()));
        }
        (rows, members)
    }

    #[test]
    fn the_fit_is_a_stationary_point_of_the_objective() {
        let (rows, members) = data(500);
        let l2 = 0.7;
        let fit = fit(&rows, 2, &members, l2, 100).unwrap();
        assert!(fit.converged && fit.iterations < 20, "{fit:?}");
        // The gradient written out from the definition, not from `Problem::pass`.
        let mut gradient = [l2 * fit.weights[0], l2 * fit.weights[1], 0.0];
        for (x, &m) in rows.chunks_exact(2).zip(&members) {
            let residual = fit.probability(x) - f64::from(u8::from(m));
            gradient[0] += residual * x[0];
            gradient[1] += residual * x[1];
            gradient[2] += residual;
        }
        for g in gradient {
            assert!(g.abs() < 1e-9, "{gradient:?}");
        }
    }

    #[test]
    fn repeated_columns_without_a_penalty_predict_as_the_columns_without_repeats() {
        // (p, 1 - p) repeats the intercept: without a penalty the optimum is a line of
        // parameters, all with the predictions of the fit on p alone.
        let (rows, members) = data(400);
        let p: Vec<f64> = rows
            .chunks_exact(2)
            .map(|x| 1.0 / (1.0 + (-x[0]).exp()))
            .collect();
        let simplex: Vec<f64> = p.iter().flat_map(|&p| [p, 1.0 - p]).collect();
        let repeated = fit(&simplex, 2, &members, 0.0, 100).unwrap();
        let single = fit(&p, 1, &members, 0.0, 100).unwrap();
        assert!(repeated.converged && single.converged);
        for (x, &p) in simplex.chunks_exact(2).zip(&p) {
            let (a, b) = (repeated.probability(x), single.probability(&[p]));
            assert!((a - b).abs() < 1e-9, "{a} {b}");
        }
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        name: String,
        l2: f64,
        width: usize,
        rows: Vec<f64>,
        members: Vec<bool>,
        probabilities: Vec<f64>,
    }

    #[test]
    fn predictions_match_scikit_learns_fit_of_the_same_objective() {
        // tests/vectors/logistic_vectors.py: scikit-learn's L-BFGS to tol 1e-13.
        let vectors: Vec<Vector> =
            serde_json::from_str(include_str!("../../tests/vectors/logistic.json")).unwrap();
        for v in vectors {
            let fit = fit(&v.rows, v.width, &v.members, v.l2, 100).unwrap();
            assert!(fit.converged, "{}: {fit:?}", v.name);
            let worst = v
                .rows
                .chunks_exact(v.width)
                .zip(&v.probabilities)
                .map(|(x, p)| (fit.probability(x) - p).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-8, "{}: predictions differ by {worst}", v.name);
        }
    }

    #[test]
    fn separable_rows_without_a_penalty_stop_at_the_limit_unconverged() {
        let rows = [-2.0, -1.0, 1.0, 2.0];
        let members = [false, false, true, true];
        let fit = fit(&rows, 1, &members, 0.0, 10).unwrap();
        assert!(!fit.converged && fit.iterations == 10, "{fit:?}");
        assert!(fit.probability(&[2.0]) > 0.99 && fit.probability(&[-2.0]) < 0.01);
        assert!(fit.weights[0].is_finite());
    }

    #[test]
    fn bad_rows_are_refused() {
        assert_eq!(
            fit(&[1.0, f64::NAN], 1, &[true, false], 1.0, 10),
            Err(FitError::NotFinite)
        );
        assert!(matches!(
            fit(&[1.0, 2.0, 3.0], 2, &[true], 1.0, 10),
            Err(FitError::Shape { .. })
        ));
        assert!(matches!(
            fit(&[], 2, &[], 1.0, 10),
            Err(FitError::Shape { .. })
        ));
    }
}
