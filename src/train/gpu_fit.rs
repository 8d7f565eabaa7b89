//! [`fit`](super::fit) on the GPU, for dense networks fitted to their records' classes (the
//! reference models of a dense target): the same epochs, batch order, dropout draws and
//! learning-rate schedule from the same generator, with each mini-batch step run by
//! [`crate::gpu::training::DenseTrainer`]. Fixed layers in front of the first dense layer
//! (an input standardisation) are applied to each batch here, as the CPU's forward pass
//! applies them. Convolutions, pooling and batch normalisation are not trained on the GPU
//! yet: such a network gets an error naming the layer, and the caller trains it on the CPU.

use super::TrainError;
use super::architecture::{Architecture, Block};
use super::fit::{EpochEnd, TrainingSet};
use super::layers;
use super::network::{Network, dropout_mask, permutation};
use super::optimizer::{BETA1, BETA2, EPSILON, adam_corrections, decay_of};
use super::recipe::{OptimizerKind, Recipe};
use crate::gpu::Gpu;
use crate::gpu::training::{DenseTrainer, GpuOptimizer, StepSettings, TrainLayer};
use rand::rngs::ChaCha8Rng;
use std::ops::ControlFlow;

/// The layers of `architecture` the GPU trains, after the fixed ones in front (returned
/// as their count); the error names the first layer it cannot train.
pub fn gpu_layers(architecture: &Architecture) -> Result<(usize, Vec<TrainLayer>), String> {
    let leading = architecture
        .blocks
        .iter()
        .take_while(|b| matches!(b, Block::Affine { .. }))
        .count();
    let mut offset = 0;
    let mut layers = Vec::new();
    for block in &architecture.blocks[leading..] {
        layers.push(match block {
            Block::Dense { inputs, outputs } => TrainLayer::Dense {
                inputs: *inputs,
                outputs: *outputs,
                offset,
            },
            Block::Activation { kind, len } => TrainLayer::Activation {
                kind: *kind,
                len: *len,
            },
            Block::Dropout { len, .. } => TrainLayer::Dropout { len: *len },
            other => {
                let what = match other {
                    Block::Conv { .. } => "a convolution",
                    Block::BatchNorm { .. } => "a batch normalisation",
                    Block::Pool { .. } => "a pooling layer",
                    _ => "a fixed scale and shift after the first layer",
                };
                return Err(format!(
                    "the GPU trains dense networks only, and this one has {what}"
                ));
            }
        });
        offset += block.parameters();
    }
    Ok((leading, layers))
}

/// [`fit_on_gpu_async`], waited for.
#[cfg(not(target_arch = "wasm32"))]
pub fn fit_on_gpu(
    gpu: &Gpu,
    network: &mut Network,
    labels: &[usize],
    data: TrainingSet<'_>,
    recipe: &Recipe,
    rng: &mut ChaCha8Rng,
    on_epoch: &mut dyn FnMut(EpochEnd) -> ControlFlow<()>,
) -> Result<(), TrainError> {
    pollster::block_on(fit_on_gpu_async(
        gpu, network, labels, data, recipe, rng, on_epoch,
    ))
}

/// Fits `network` to the classes `labels` of `data` with `recipe` on `gpu`; `on_epoch` sees
/// each epoch's mean loss and may stop the run.
pub async fn fit_on_gpu_async(
    gpu: &Gpu,
    network: &mut Network,
    labels: &[usize],
    data: TrainingSet<'_>,
    recipe: &Recipe,
    rng: &mut ChaCha8Rng,
    on_epoch: &mut dyn FnMut(EpochEnd) -> ControlFlow<()>,
) -> Result<(), TrainError> {
    recipe.validate()?;
    let n = data.records.len();
    if n == 0 {
        return Err(TrainError::NoRecords);
    }
    let architecture = network.architecture.clone();
    let (leading, layers) = gpu_layers(&architecture).map_err(TrainError::Gpu)?;
    let epochs = recipe.epochs_for(&architecture);
    let batch = recipe.batch_size.min(n);
    let per_epoch = n / batch;
    let total_steps = epochs * per_epoch;
    let optimizer = match recipe.optimizer {
        OptimizerKind::Sgd => GpuOptimizer::Sgd {
            momentum: recipe.momentum as f32,
        },
        OptimizerKind::Adam => GpuOptimizer::Adam {
            beta1: BETA1 as f32,
            beta2: BETA2 as f32,
            epsilon: EPSILON as f32,
        },
        OptimizerKind::Adamw => GpuOptimizer::AdamW {
            beta1: BETA1 as f32,
            beta2: BETA2 as f32,
            epsilon: EPSILON as f32,
        },
    };
    let decay = decay_of(recipe, &network.weight_mask());
    let input_len = architecture.blocks[..leading]
        .iter()
        .fold(data.record_len, |len, b| b.output_len(len));
    let gpu_error = |e: crate::gpu::GpuError| TrainError::Gpu(e.to_string());
    let trainer = DenseTrainer::new(
        gpu,
        &layers,
        input_len,
        &network.params,
        &decay,
        optimizer,
        batch,
    )
    .map_err(gpu_error)?;
    let dropouts: Vec<(f32, usize)> = architecture.blocks[leading..]
        .iter()
        .filter_map(|b| match b {
            Block::Dropout { ratio, len } => Some((*ratio, *len)),
            _ => None,
        })
        .collect();
    let mut step = 0;
    for epoch in 1..=epochs {
        let order = permutation(n, rng);
        for chunk in order.chunks_exact(batch) {
            let mut x = Vec::with_capacity(batch * data.record_len);
            let mut classes = Vec::with_capacity(batch);
            for &i in chunk {
                let r = data.records[i];
                x.extend_from_slice(&data.features[r * data.record_len..][..data.record_len]);
                classes.push(labels[r] as u32);
            }
            for block in &architecture.blocks[..leading] {
                if let Block::Affine {
                    inner,
                    scale,
                    shift,
                    ..
                } = block
                {
                    layers::affine(&mut x, *inner, scale, Some(shift));
                }
            }
            let masks: Vec<Vec<f32>> = dropouts
                .iter()
                .map(|&(ratio, len)| dropout_mask(ratio, batch * len, rng))
                .collect();
            step += 1;
            let (correction1, root_correction2) = adam_corrections(step as i32);
            let settings = StepSettings {
                learning_rate: recipe.learning_rate_at(step - 1, total_steps) as f32,
                correction1,
                root_correction2,
            };
            trainer
                .step(&x, &classes, &masks, settings)
                .map_err(gpu_error)?;
        }
        let loss = trainer.take_loss().await.map_err(gpu_error)?;
        if !loss.is_finite() {
            return Err(TrainError::Diverged { epoch });
        }
        let end = EpochEnd {
            epoch,
            epochs,
            loss: loss / per_epoch.max(1) as f64,
        };
        if on_epoch(end).is_break() {
            return Err(TrainError::Cancelled);
        }
    }
    network.params = trainer.parameters().await.map_err(gpu_error)?;
    if network.params.iter().any(|p| !p.is_finite()) {
        return Err(TrainError::Diverged { epoch: epochs });
    }
    Ok(())
}
