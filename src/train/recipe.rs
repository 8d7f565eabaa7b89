//! A training recipe: optimiser, epochs, batch size, learning rate and its schedule, weight
//! decay. The defaults are the zoo's `overfit` recipe (Adam, learning rate 1e-3, batches of
//! 100, no weight decay); its epochs depend on the architecture as the zoo's do: 300 for a
//! network of dense layers, 40 for one with convolutions.

use super::architecture::{Architecture, Block, Standardize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An out-of-range recipe setting.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("the training recipe's {name} must be {rule}, got {value}")]
pub struct RecipeError {
    pub name: &'static str,
    pub rule: &'static str,
    pub value: f64,
}

/// Which optimiser steps the parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum OptimizerKind {
    /// Stochastic gradient descent with (heavy-ball) momentum; weight decay as an L2 term.
    Sgd,
    /// Adam (Kingma & Ba 2015), β = (0.9, 0.999), ε = 1e-8, as optax and PyTorch.
    #[default]
    Adam,
    /// Adam with decoupled weight decay (Loshchilov & Hutter 2019) on weights only.
    Adamw,
}

/// How the learning rate moves over the steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Schedule {
    #[default]
    Constant,
    /// From the learning rate down to zero along half a cosine.
    Cosine,
}

/// How a model is trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Recipe {
    pub optimizer: OptimizerKind,
    /// Passes over the training records; `None`: 300 for a dense network, 40 for one with
    /// convolutions (the zoo's `overfit` recipes).
    pub epochs: Option<usize>,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// SGD's momentum.
    pub momentum: f64,
    /// L2 weight decay (SGD, Adam) or decoupled decay (AdamW), on weights, not biases.
    pub weight_decay: f64,
    pub schedule: Schedule,
    /// When the network starts with a dense layer, whether to standardise its inputs by the
    /// training records' mean and standard deviation (a fixed layer in front, exported with
    /// the model): what a StandardScaler before the target did, which exporters fold away.
    pub standardize: Standardize,
}

impl Default for Recipe {
    fn default() -> Recipe {
        Recipe {
            optimizer: OptimizerKind::Adam,
            epochs: None,
            batch_size: 100,
            learning_rate: 1e-3,
            momentum: 0.9,
            weight_decay: 0.0,
            schedule: Schedule::Constant,
            standardize: Standardize::Auto,
        }
    }
}

impl Recipe {
    /// Epochs when none are set, by architecture.
    pub const DENSE_EPOCHS: usize = 300;
    pub const CONVOLUTIONAL_EPOCHS: usize = 40;

    /// The epochs this recipe runs on `architecture`.
    pub fn epochs_for(&self, architecture: &Architecture) -> usize {
        self.epochs.unwrap_or_else(|| {
            if architecture
                .blocks
                .iter()
                .any(|b| matches!(b, Block::Conv { .. }))
            {
                Self::CONVOLUTIONAL_EPOCHS
            } else {
                Self::DENSE_EPOCHS
            }
        })
    }

    /// Checks every setting is in its range.
    pub fn validate(&self) -> Result<(), RecipeError> {
        let check = |ok: bool, name, rule, value: f64| {
            if ok {
                Ok(())
            } else {
                Err(RecipeError { name, rule, value })
            }
        };
        if let Some(epochs) = self.epochs {
            check(
                (1..=100_000).contains(&epochs),
                "epochs",
                "between 1 and 100000",
                epochs as f64,
            )?;
        }
        check(
            self.batch_size >= 1,
            "batch size",
            "at least 1",
            self.batch_size as f64,
        )?;
        check(
            self.learning_rate.is_finite()
                && self.learning_rate > 0.0
                && self.learning_rate <= 10.0,
            "learning rate",
            "positive and at most 10",
            self.learning_rate,
        )?;
        check(
            (0.0..1.0).contains(&self.momentum),
            "momentum",
            "in [0, 1)",
            self.momentum,
        )?;
        check(
            self.weight_decay.is_finite() && (0.0..=1.0).contains(&self.weight_decay),
            "weight decay",
            "in [0, 1]",
            self.weight_decay,
        )
    }

    /// The learning rate at step `t` of `total`.
    pub fn learning_rate_at(&self, t: usize, total: usize) -> f64 {
        match self.schedule {
            Schedule::Constant => self.learning_rate,
            Schedule::Cosine => {
                let progress = t as f64 / total.max(1) as f64;
                self.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert_eq!(Recipe::default().validate(), Ok(()));
        let bad = Recipe {
            learning_rate: -1.0,
            ..Recipe::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("learning rate")
        );
        let bad = Recipe {
            batch_size: 0,
            ..Recipe::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("batch size")
        );
        let json: Recipe =
            serde_json::from_str(r#"{"optimizer": "adamw", "weight_decay": 0.01}"#).unwrap();
        assert_eq!(json.optimizer, OptimizerKind::Adamw);
        assert_eq!(json.batch_size, 100);
        assert!(serde_json::from_str::<Recipe>(r#"{"epoch": 3}"#).is_err());
    }

    #[test]
    fn the_cosine_schedule_falls_from_the_rate_to_zero() {
        let r = Recipe {
            schedule: Schedule::Cosine,
            ..Recipe::default()
        };
        assert_eq!(r.learning_rate_at(0, 10), 1e-3);
        assert!((r.learning_rate_at(5, 10) - 5e-4).abs() < 1e-12);
        assert!(r.learning_rate_at(10, 10).abs() < 1e-12);
    }
}
