//! The optimisers a recipe names, stepping a network's flat parameter vector.

use super::recipe::{OptimizerKind, Recipe};

pub(super) const BETA1: f64 = 0.9;
pub(super) const BETA2: f64 = 0.999;
pub(super) const EPSILON: f64 = 1e-8;

/// Adam's bias corrections at step `t` (from 1): `1 − β1^t` and `√(1 − β2^t)`, in the
/// precision the update uses.
pub(super) fn adam_corrections(t: i32) -> (f32, f32) {
    (
        (1.0 - BETA1.powi(t)) as f32,
        ((1.0 - BETA2.powi(t)) as f32).sqrt(),
    )
}

/// Each parameter's weight decay: the recipe's for weights, 0 for the rest.
pub(super) fn decay_of(recipe: &Recipe, decayed: &[bool]) -> Vec<f32> {
    let wd = recipe.weight_decay as f32;
    decayed.iter().map(|&d| if d { wd } else { 0.0 }).collect()
}

/// An optimiser's state over one parameter vector.
pub struct Optimizer {
    kind: OptimizerKind,
    momentum: f32,
    /// Each parameter's weight decay: the recipe's for weights, 0 for the rest (one
    /// multiply instead of a branch, so that the update loops vectorise).
    decay: Vec<f32>,
    /// SGD's velocity, or Adam's first moment.
    first: Vec<f32>,
    /// Adam's second moment.
    second: Vec<f32>,
    steps: i32,
}

impl Optimizer {
    pub fn new(recipe: &Recipe, decayed: Vec<bool>) -> Optimizer {
        let n = decayed.len();
        Optimizer {
            kind: recipe.optimizer,
            momentum: recipe.momentum as f32,
            decay: decay_of(recipe, &decayed),
            first: vec![0.0; n],
            second: if recipe.optimizer == OptimizerKind::Sgd {
                Vec::new()
            } else {
                vec![0.0; n]
            },
            steps: 0,
        }
    }

    /// One step of `params` along `grads` at `learning_rate`.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], learning_rate: f64) {
        self.steps += 1;
        let lr = learning_rate as f32;
        let n = params.len();
        let (params, grads, decay) = (&mut params[..n], &grads[..n], &self.decay[..n]);
        match self.kind {
            OptimizerKind::Sgd => {
                let (velocity, momentum) = (&mut self.first[..n], self.momentum);
                for i in 0..n {
                    let g = grads[i] + decay[i] * params[i];
                    velocity[i] = momentum * velocity[i] + g;
                    params[i] -= lr * velocity[i];
                }
            }
            OptimizerKind::Adam | OptimizerKind::Adamw => {
                let decoupled = (self.kind == OptimizerKind::Adamw) as u8 as f32;
                let coupled = 1.0 - decoupled;
                // m̂/(√v̂ + ε) with m̂ = m/c1 and √v̂ = √v/√c2, √c2 taken once per step.
                let (c1, root_c2) = adam_corrections(self.steps);
                let (b1, b2, eps) = (BETA1 as f32, BETA2 as f32, EPSILON as f32);
                let (m, v) = (&mut self.first[..n], &mut self.second[..n]);
                for i in 0..n {
                    let g = grads[i] + coupled * decay[i] * params[i];
                    m[i] = b1 * m[i] + (1.0 - b1) * g;
                    v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                    let update = (m[i] / c1) / (v[i].sqrt() / root_c2 + eps)
                        + decoupled * decay[i] * params[i];
                    params[i] -= lr * update;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_first_step_moves_each_parameter_by_the_learning_rate() {
        let mut opt = Optimizer::new(&Recipe::default(), vec![true, false]);
        let mut p = [1.0f32, -2.0];
        opt.step(&mut p, &[0.5, -3.0], 0.1);
        assert!((p[0] - 0.9).abs() < 1e-6 && (p[1] + 1.9).abs() < 1e-6);
    }

    #[test]
    fn sgd_with_momentum_accumulates_velocity_and_decays_weights_only() {
        let recipe = Recipe {
            optimizer: OptimizerKind::Sgd,
            weight_decay: 0.1,
            ..Recipe::default()
        };
        let mut opt = Optimizer::new(&recipe, vec![true, false]);
        let mut p = [1.0f32, 1.0];
        opt.step(&mut p, &[1.0, 1.0], 0.1);
        assert!((p[0] - (1.0 - 0.1 * 1.1)).abs() < 1e-6);
        assert!((p[1] - 0.9).abs() < 1e-6);
        opt.step(&mut p, &[0.0, 0.0], 0.1);
        assert!(
            (p[1] - (0.9 - 0.1 * 0.9)).abs() < 1e-6,
            "momentum carries on"
        );
    }

    #[test]
    fn adamw_decays_weights_apart_from_the_gradient() {
        let recipe = Recipe {
            optimizer: OptimizerKind::Adamw,
            weight_decay: 0.5,
            ..Recipe::default()
        };
        let mut opt = Optimizer::new(&recipe, vec![true, false]);
        let mut p = [2.0f32, 2.0];
        opt.step(&mut p, &[0.0, 0.0], 0.1);
        assert!((p[0] - (2.0 - 0.1 * 0.5 * 2.0)).abs() < 1e-6);
        assert_eq!(p[1], 2.0);
    }
}
