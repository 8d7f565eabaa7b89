//! The training loop: epochs of shuffled mini-batches (the last incomplete batch dropped, as
//! the zoo's recipes do), one optimiser step per batch, a report after every epoch that may
//! stop the run. Every random choice (order, dropout) comes from the generator handed in.

use super::TrainError;
use super::network::{Network, permutation};
use super::objective::Objective;
use super::optimizer::Optimizer;
use super::recipe::Recipe;
use rand::rngs::ChaCha8Rng;
use std::ops::ControlFlow;

/// Records to fit: `features` holds every record (`record_len` values each), `records` the
/// ones this model trains on.
#[derive(Clone, Copy)]
pub struct TrainingSet<'a> {
    pub features: &'a [f32],
    pub record_len: usize,
    pub records: &'a [usize],
}

/// The end of one epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochEnd {
    /// 1-based.
    pub epoch: usize,
    pub epochs: usize,
    /// Mean training loss over the epoch's batches.
    pub loss: f64,
}

/// Fits `network` to `objective` over `data` with `recipe`; `on_epoch` sees each epoch's
/// loss and the network as it stands, and may stop the run ([`TrainError::Cancelled`]).
pub fn fit(
    network: &mut Network,
    objective: &dyn Objective,
    data: TrainingSet<'_>,
    recipe: &Recipe,
    rng: &mut ChaCha8Rng,
    on_epoch: &mut dyn FnMut(EpochEnd, &Network) -> ControlFlow<()>,
) -> Result<(), TrainError> {
    recipe.validate()?;
    let n = data.records.len();
    if n == 0 {
        return Err(TrainError::NoRecords);
    }
    let epochs = recipe.epochs_for(&network.architecture);
    let batch = recipe.batch_size.min(n);
    let per_epoch = n / batch;
    let total_steps = epochs * per_epoch;
    let width = network.architecture.output_len();
    let mut optimizer = Optimizer::new(recipe, network.weight_mask());
    let mut grads = vec![0.0f32; network.params.len()];
    let mut step = 0;
    for epoch in 1..=epochs {
        let order = permutation(n, rng);
        let mut loss_sum = 0.0;
        for chunk in order.chunks_exact(batch) {
            let records: Vec<usize> = chunk.iter().map(|&i| data.records[i]).collect();
            let mut x = Vec::with_capacity(batch * data.record_len);
            for &r in &records {
                x.extend_from_slice(&data.features[r * data.record_len..][..data.record_len]);
            }
            let tape = network.forward(x, batch, rng);
            let mut d_output = vec![0.0f32; tape.output.len()];
            let loss = objective.loss(&tape.output, width, &records, &mut d_output);
            if !loss.is_finite() {
                return Err(TrainError::Diverged { epoch });
            }
            loss_sum += loss;
            network.backward(tape, d_output, &mut grads);
            optimizer.step(
                &mut network.params,
                &grads,
                recipe.learning_rate_at(step, total_steps),
            );
            step += 1;
        }
        let end = EpochEnd {
            epoch,
            epochs,
            loss: loss_sum / per_epoch.max(1) as f64,
        };
        if on_epoch(end, network).is_break() {
            return Err(TrainError::Cancelled);
        }
    }
    if network.params.iter().any(|p| !p.is_finite()) {
        return Err(TrainError::Diverged { epoch: epochs });
    }
    Ok(())
}
