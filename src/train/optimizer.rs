//! The optimisers a recipe names, stepping a network's flat parameter vector.

use super::recipe::{OptimizerKind, Recipe};

const BETA1: f64 = 0.9;
const BETA2: f64 = 0.999;
const EPSILON: f64 = 1e-8;

/// An optimiser's state over one parameter vector.
pub struct Optimizer {
    kind: OptimizerKind,
    momentum: f32,
    weight_decay: f32,
    /// Which parameters weight decay applies to.
    decayed: Vec<bool>,
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
            weight_decay: recipe.weight_decay as f32,
            decayed,
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
        let wd = self.weight_decay;
        match self.kind {
            OptimizerKind::Sgd => {
                for (((p, g), v), &decay) in params
                    .iter_mut()
                    .zip(grads)
                    .zip(&mut self.first)
                    .zip(&self.decayed)
                {
                    let g = if decay { g + wd * *p } else { *g };
                    *v = self.momentum * *v + g;
                    *p -= lr * *v;
                }
            }
            OptimizerKind::Adam | OptimizerKind::Adamw => {
                let decoupled = self.kind == OptimizerKind::Adamw;
                let c1 = (1.0 - BETA1.powi(self.steps)) as f32;
                let c2 = (1.0 - BETA2.powi(self.steps)) as f32;
                let (b1, b2, eps) = (BETA1 as f32, BETA2 as f32, EPSILON as f32);
                for ((((p, g), m), v), &decay) in params
                    .iter_mut()
                    .zip(grads)
                    .zip(&mut self.first)
                    .zip(&mut self.second)
                    .zip(&self.decayed)
                {
                    let g = if decay && !decoupled { g + wd * *p } else { *g };
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    let mut update = (*m / c1) / ((*v / c2).sqrt() + eps);
                    if decay && decoupled {
                        update += wd * *p;
                    }
                    *p -= lr * update;
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
