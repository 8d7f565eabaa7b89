//! The quantile-regression attack's regressor (Bertran et al., NeurIPS 2023): a network that
//! predicts, from a record and its label, the distribution of the target's score on records
//! it did not train on, as a Gaussian (mean and log scale per class). Trained on population
//! records (known non-members) only; a seeded fifth of them is held out to stop training at
//! the epoch with the best held-out likelihood.

use super::TrainError;
use super::architecture::{Architecture, Block, Head, Standardize};
use super::fit::{TrainingSet, fit};
use super::network::{Network, permutation};
use super::objective::{GaussianScores, LOG_SCALE_BOUNDS, Objective};
use super::recipe::{OptimizerKind, Recipe};
use crate::gpu::Activation;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use std::ops::ControlFlow;

/// Hidden width of the fallback regressor (a target that cannot be retrained here).
const FALLBACK_HIDDEN: usize = 64;

/// How the regressor is trained.
#[derive(Debug, Clone, PartialEq)]
pub struct RegressorSettings {
    /// The most epochs; training stops earlier when the held-out loss stops improving.
    pub epochs: usize,
    /// Epochs without a better held-out loss before stopping.
    pub patience: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub batch_size: usize,
    pub seed: u64,
    /// The ChaCha8 stream of `seed` this regressor draws from (an ensemble's members differ
    /// only in it).
    pub stream: u64,
}

/// A fitted regressor and how it was fitted.
#[derive(Debug, Clone)]
pub struct Regressor {
    pub network: Network,
    /// Its layers, in words.
    pub description: String,
    /// Population records trained on (each with its copies) and held out.
    pub trained_on: usize,
    pub held_out: usize,
    pub best_epoch: usize,
    /// Mean held-out negative log-likelihood (constant ½ ln 2π left out) at the best epoch.
    pub held_out_loss: f64,
}

/// The regressor's shape: the target's own architecture with `2 · classes` outputs where it
/// can be retrained, else a two-hidden-layer MLP; inputs standardised when it starts dense.
pub fn regressor_architecture(
    target: Option<&Architecture>,
    record_shape: &[usize],
    classes: usize,
    features: &[f32],
) -> (Architecture, String) {
    if let Some(a) = target
        && let Ok(regressor) = a.with_outputs(2 * classes)
    {
        let regressor = regressor.standardised(features, Standardize::Auto);
        let description = format!("the target's architecture ({})", regressor.describe());
        return (regressor, description);
    }
    let len: usize = record_shape.iter().product();
    let relu = |len| Block::Activation {
        kind: Activation::Relu,
        len,
    };
    let architecture = Architecture {
        record_shape: record_shape.to_vec(),
        blocks: vec![
            Block::Dense {
                inputs: len,
                outputs: FALLBACK_HIDDEN,
            },
            relu(FALLBACK_HIDDEN),
            Block::Dense {
                inputs: FALLBACK_HIDDEN,
                outputs: FALLBACK_HIDDEN,
            },
            relu(FALLBACK_HIDDEN),
            Block::Dense {
                inputs: FALLBACK_HIDDEN,
                outputs: 2 * classes,
            },
        ],
        head: Head::Logits,
    };
    let architecture = architecture.standardised(features, Standardize::On);
    let description = format!(
        "an MLP on standardised features ({})",
        architecture.describe()
    );
    (architecture, description)
}

/// Records the regressor learns from: `copies` blocks of the same records (the records
/// themselves first, then transformed copies of them: a mirrored image is a query of its own),
/// each block in the same record order, with the target's score on each.
#[derive(Clone, Copy)]
pub struct ScoredRecords<'a> {
    pub features: &'a [f32],
    pub labels: &'a [usize],
    pub scores: &'a [f64],
    pub copies: usize,
}

/// Fits `architecture` to the Gaussian of the scores given each population record and label.
/// The held-out fifth is drawn among the records, so that no copy of a held-out record is
/// trained on; it is scored on the records themselves.
/// `on_epoch(epoch, most epochs)` hears each epoch.
pub fn fit_regressor(
    architecture: Architecture,
    description: String,
    data: ScoredRecords<'_>,
    settings: &RegressorSettings,
    on_epoch: &mut dyn FnMut(usize, usize),
) -> Result<Regressor, TrainError> {
    let ScoredRecords {
        features,
        labels,
        scores,
        copies,
    } = data;
    let total = labels.len();
    check_labels(labels, architecture.output_len())?;
    let copies = copies.max(1);
    if scores.len() != total
        || features.len() != total * architecture.input_len()
        || total % copies != 0
    {
        return Err(TrainError::Records(format!(
            "{} scores and {} feature values for {total} records in {copies} copies",
            scores.len(),
            features.len()
        )));
    }
    let n = total / copies;
    if n < 10 {
        return Err(TrainError::Records(format!(
            "the quantile regressor needs at least 10 population records, there are {n}"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    rng.set_stream(settings.stream);
    let order = permutation(n, &mut rng);
    let held_out_count = (n / 5).max(1);
    let (held_out, trained): (Vec<usize>, Vec<usize>) = {
        let (a, b) = order.split_at(held_out_count);
        let every_copy = b.iter().flat_map(|&r| (0..copies).map(move |c| c * n + r));
        (a.to_vec(), every_copy.collect())
    };
    let len = architecture.input_len();
    let held_out_features: Vec<f32> = held_out
        .iter()
        .flat_map(|&i| features[i * len..][..len].iter().copied())
        .collect();
    let objective = GaussianScores { labels, scores };
    let recipe = Recipe {
        optimizer: OptimizerKind::Adamw,
        epochs: Some(settings.epochs),
        batch_size: settings.batch_size,
        learning_rate: settings.learning_rate,
        weight_decay: settings.weight_decay,
        ..Recipe::default()
    };
    let mut network = Network::initialise(&architecture, &mut rng);
    let mut best: Option<(f64, usize, Network)> = None;
    let width = architecture.output_len();
    let data = TrainingSet {
        features,
        record_len: len,
        records: &trained,
    };
    let mut evaluation_error = None;
    let outcome = fit(
        &mut network,
        &objective,
        data,
        &recipe,
        &mut rng,
        &mut |end, current| {
            on_epoch(end.epoch, end.epochs);
            let outputs = match current.logits(&held_out_features, held_out.len()) {
                Ok(o) => o,
                Err(e) => {
                    evaluation_error = Some(e);
                    return ControlFlow::Break(());
                }
            };
            let mut grad = vec![0.0; outputs.len()];
            let loss = objective.loss(&outputs, width, &held_out, &mut grad);
            if best.as_ref().is_none_or(|(b, _, _)| loss < *b) {
                best = Some((loss, end.epoch, current.clone()));
            }
            let since = end.epoch - best.as_ref().map_or(0, |b| b.1);
            if since >= settings.patience {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    );
    if let Some(e) = evaluation_error {
        return Err(TrainError::Records(e));
    }
    match outcome {
        Ok(()) | Err(TrainError::Cancelled) => {}
        Err(e) => return Err(e),
    }
    let (held_out_loss, best_epoch, network) = best.ok_or(TrainError::NoRecords)?;
    Ok(Regressor {
        network,
        description,
        trained_on: n - held_out.len(),
        held_out: held_out.len(),
        best_epoch,
        held_out_loss,
    })
}

impl Regressor {
    /// Each record's predicted mean and scale (σ) of the score under its label.
    pub fn predict(
        &self,
        features: &[f32],
        labels: &[usize],
    ) -> Result<(Vec<f64>, Vec<f64>), TrainError> {
        check_labels(labels, self.network.architecture.output_len())?;
        let outputs = self
            .network
            .logits(features, labels.len())
            .map_err(TrainError::Records)?;
        let width = self.network.architecture.output_len();
        Ok(outputs
            .chunks_exact(width)
            .zip(labels)
            .map(|(row, &y)| {
                let log_scale =
                    (row[2 * y + 1] as f64).clamp(LOG_SCALE_BOUNDS.0, LOG_SCALE_BOUNDS.1);
                (row[2 * y] as f64, log_scale.exp())
            })
            .unzip())
    }
}

/// Every label has its pair of outputs among `width`.
fn check_labels(labels: &[usize], width: usize) -> Result<(), TrainError> {
    match labels.iter().find(|&&y| 2 * y + 1 >= width) {
        Some(y) => Err(TrainError::Records(format!(
            "a record has class {y} but the regressor predicts {} classes",
            width / 2
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// Scores whose mean depends on the record (its first feature) and label: the regressor
    /// should learn that dependence, which a single population threshold cannot.
    #[test]
    fn the_regressor_learns_a_per_record_mean_and_scale() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let n = 600;
        let features: Vec<f32> = (0..n * 4).map(|_| rng.random_range(-1.0..1.0)).collect();
        let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
        let truth = |i: usize| 2.0 * features[i * 4] as f64 + labels[i] as f64;
        let scores: Vec<f64> = (0..n)
            .map(|i| truth(i) + 0.1 * rng.random_range(-1.0..1.0))
            .collect();
        let (architecture, description) = regressor_architecture(None, &[4], 2, &features);
        let settings = RegressorSettings {
            epochs: 300,
            patience: 20,
            learning_rate: 3e-3,
            weight_decay: 0.0,
            batch_size: 32,
            seed: 1,
            stream: 1,
        };
        let data = ScoredRecords {
            features: &features,
            labels: &labels,
            scores: &scores,
            copies: 1,
        };
        let fitted =
            fit_regressor(architecture, description, data, &settings, &mut |_, _| {}).unwrap();
        assert!(fitted.description.contains("MLP"));
        assert_eq!(fitted.held_out, 120);
        let (mean, scale) = fitted.predict(&features, &labels).unwrap();
        let error: f64 = (0..n).map(|i| (mean[i] - truth(i)).abs()).sum::<f64>() / n as f64;
        assert!(error < 0.15, "mean absolute error {error}");
        let typical = scale.iter().sum::<f64>() / n as f64;
        assert!(typical < 0.3, "typical σ {typical}");
        let again = fit_regressor(
            regressor_architecture(None, &[4], 2, &features).0,
            String::new(),
            data,
            &settings,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(again.network.params, fitted.network.params, "seeded");
    }

    #[test]
    fn copies_of_records_train_with_their_record_and_a_ragged_set_is_refused() {
        let n = 50;
        let features: Vec<f32> = (0..2 * n * 2).map(|i| (i % 7) as f32).collect();
        let labels = vec![0usize; 2 * n];
        let scores = vec![1.0f64; 2 * n];
        let settings = RegressorSettings {
            epochs: 2,
            patience: 5,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            batch_size: 8,
            seed: 3,
            stream: 1,
        };
        let (architecture, description) = regressor_architecture(None, &[2], 1, &features);
        let data = ScoredRecords {
            features: &features,
            labels: &labels,
            scores: &scores,
            copies: 2,
        };
        let fitted = fit_regressor(
            architecture.clone(),
            description,
            data,
            &settings,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(
            (fitted.trained_on, fitted.held_out),
            (40, 10),
            "split by record"
        );
        let ragged = ScoredRecords { copies: 3, ..data };
        let refused = fit_regressor(
            architecture,
            String::new(),
            ragged,
            &settings,
            &mut |_, _| {},
        );
        assert!(matches!(refused, Err(TrainError::Records(_))));
    }
}
