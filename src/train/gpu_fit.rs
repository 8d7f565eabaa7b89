//! [`fit`](super::fit) on the GPU, for networks fitted to their records' classes (the
//! reference models of a target): the same epochs, batch order, dropout draws and
//! learning-rate schedule from the same generator, with each mini-batch step run by
//! [`crate::gpu::training::NetworkTrainer`]. Fixed layers in front of the first trained one
//! (an input standardisation) are applied to each batch here, as the CPU's forward pass
//! applies them; a fixed scale and shift anywhere else gets an error naming it, and the
//! caller trains that network on the CPU.

use super::TrainError;
use super::architecture::{Architecture, Block};
use super::fit::{EpochEnd, TrainingSet};
use super::layers;
use super::network::{Network, RUNNING_MOMENTUM, dropout_mask, permutation};
use super::optimizer::{BETA1, BETA2, EPSILON, adam_corrections, decay_of};
use super::recipe::{OptimizerKind, Recipe};
use crate::gpu::Gpu;
use crate::gpu::training::{
    GpuOptimizer, ModelBatch, NetworkTrainer, StepSettings, TrainLayer, bytes_per_model,
    models_per_set,
};
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
            Block::Conv {
                window,
                channels_out,
            } => TrainLayer::Conv {
                window: *window,
                channels_out: *channels_out,
                offset,
            },
            Block::Pool { window, kind } => TrainLayer::Pool {
                window: *window,
                kind: *kind,
            },
            &Block::BatchNorm {
                channels,
                inner,
                epsilon,
            } => TrainLayer::BatchNorm {
                channels,
                inner,
                epsilon,
                offset,
            },
            Block::Affine { .. } => {
                return Err(
                    "the GPU does not train a fixed scale and shift after the first layer"
                        .to_string(),
                );
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
    let mut jobs = [GpuFitJob { network, rng, data }];
    fit_set_on_gpu_async(gpu, &mut jobs, labels, recipe, &mut |_, end| on_epoch(end)).await
}

/// One model of a set the GPU trains together: its network, its generator and its records.
pub struct GpuFitJob<'a> {
    pub network: &'a mut Network,
    pub rng: &'a mut ChaCha8Rng,
    pub data: TrainingSet<'a>,
}

/// [`fit_set_on_gpu_async`], waited for.
#[cfg(not(target_arch = "wasm32"))]
pub fn fit_set_on_gpu(
    gpu: &Gpu,
    jobs: &mut [GpuFitJob<'_>],
    labels: &[usize],
    recipe: &Recipe,
    on_epoch: &mut dyn FnMut(usize, EpochEnd) -> ControlFlow<()>,
) -> Result<(), TrainError> {
    pollster::block_on(fit_set_on_gpu_async(gpu, jobs, labels, recipe, on_epoch))
}

/// Fits every job's network (one architecture) to the classes `labels` of its records with
/// `recipe`, all of them in the same dispatches, each as [`super::fit`] would fit it alone
/// (its own batch order and dropout from its own generator); `on_epoch` hears `(job,
/// epoch)` and may stop them all. Models whose batches differ in size (fewer records than a
/// batch) train one set each, and a set too large for the device's buffers trains in parts.
pub async fn fit_set_on_gpu_async(
    gpu: &Gpu,
    jobs: &mut [GpuFitJob<'_>],
    labels: &[usize],
    recipe: &Recipe,
    on_epoch: &mut dyn FnMut(usize, EpochEnd) -> ControlFlow<()>,
) -> Result<(), TrainError> {
    recipe.validate()?;
    let Some(first) = jobs.first() else {
        return Ok(());
    };
    if jobs.iter().any(|j| j.data.records.is_empty()) {
        return Err(TrainError::NoRecords);
    }
    let architecture = first.network.architecture.clone();
    if jobs.iter().any(|j| j.network.architecture != architecture) {
        return Err(TrainError::Gpu(
            "the models of one GPU training set must share an architecture".to_string(),
        ));
    }
    let batch_of = |job: &GpuFitJob<'_>| recipe.batch_size.min(job.data.records.len());
    let batch = batch_of(first);
    if jobs.iter().any(|j| batch_of(j) != batch) {
        for (k, job) in jobs.iter_mut().enumerate() {
            let mut one = [GpuFitJob {
                network: &mut *job.network,
                rng: &mut *job.rng,
                data: job.data,
            }];
            Box::pin(fit_set_on_gpu_async(
                gpu,
                &mut one,
                labels,
                recipe,
                &mut |_, end| on_epoch(k, end),
            ))
            .await?;
        }
        return Ok(());
    }
    let (leading, layers) = gpu_layers(&architecture).map_err(TrainError::Gpu)?;
    let record_len = first.data.record_len;
    let input_len = architecture.blocks[..leading]
        .iter()
        .fold(record_len, |len, b| b.output_len(len));
    let per_model = bytes_per_model(&layers, input_len, architecture.parameters(), batch);
    let fits = models_per_set(gpu, per_model);
    if fits == 0 {
        return Err(TrainError::Gpu(format!(
            "one model at batches of {batch} needs a buffer of {:.0} MiB, more than this adapter allows; use smaller batches",
            per_model as f64 / 1048576.0
        )));
    }
    if jobs.len() > fits {
        for (set, chunk) in jobs.chunks_mut(fits).enumerate() {
            Box::pin(fit_set_on_gpu_async(
                gpu,
                chunk,
                labels,
                recipe,
                &mut |k, end| on_epoch(set * fits + k, end),
            ))
            .await?;
        }
        return Ok(());
    }
    let epochs = recipe.epochs_for(&architecture);
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
    let decay = decay_of(recipe, &first.network.weight_mask());
    let gpu_error = |e: crate::gpu::GpuError| TrainError::Gpu(e.to_string());
    let params: Vec<Vec<f32>> = jobs.iter().map(|j| j.network.params.clone()).collect();
    let running: Vec<Vec<f32>> = jobs.iter().map(|j| j.network.running_values()).collect();
    let trainer = NetworkTrainer::new(
        gpu,
        &layers,
        input_len,
        &params,
        &running,
        RUNNING_MOMENTUM,
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
    let per_epoch: Vec<usize> = jobs.iter().map(|j| j.data.records.len() / batch).collect();
    let most = per_epoch.iter().copied().max().unwrap_or(0);
    let mut steps = vec![0usize; jobs.len()];
    for epoch in 1..=epochs {
        let orders: Vec<Vec<usize>> = jobs
            .iter_mut()
            .map(|j| permutation(j.data.records.len(), j.rng))
            .collect();
        for s in 0..most {
            let mut batches = Vec::with_capacity(jobs.len());
            for (k, job) in jobs.iter_mut().enumerate() {
                if s >= per_epoch[k] {
                    batches.push(None);
                    continue;
                }
                let chunk = &orders[k][s * batch..(s + 1) * batch];
                let mut x = Vec::with_capacity(batch * record_len);
                let mut classes = Vec::with_capacity(batch);
                for &i in chunk {
                    let r = job.data.records[i];
                    x.extend_from_slice(&job.data.features[r * record_len..][..record_len]);
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
                let masks = dropouts
                    .iter()
                    .map(|&(ratio, len)| dropout_mask(ratio, batch * len, job.rng))
                    .collect();
                steps[k] += 1;
                let (correction1, root_correction2) = adam_corrections(steps[k] as i32);
                let total = epochs * per_epoch[k];
                batches.push(Some(ModelBatch {
                    x,
                    labels: classes,
                    masks,
                    settings: StepSettings {
                        learning_rate: recipe.learning_rate_at(steps[k] - 1, total) as f32,
                        correction1,
                        root_correction2,
                    },
                }));
            }
            trainer.step(&batches).map_err(gpu_error)?;
        }
        let losses = trainer.take_losses().await.map_err(gpu_error)?;
        for (k, loss) in losses.into_iter().enumerate() {
            if !loss.is_finite() {
                return Err(TrainError::Diverged { epoch });
            }
            let end = EpochEnd {
                epoch,
                epochs,
                loss: loss / per_epoch[k].max(1) as f64,
            };
            if on_epoch(k, end).is_break() {
                return Err(TrainError::Cancelled);
            }
        }
    }
    let trained = trainer.parameters().await.map_err(gpu_error)?;
    let running = trainer.running_statistics().await.map_err(gpu_error)?;
    for ((job, params), running) in jobs.iter_mut().zip(trained).zip(running) {
        if params.iter().chain(&running).any(|p| !p.is_finite()) {
            return Err(TrainError::Diverged { epoch: epochs });
        }
        job.network.params = params;
        job.network
            .set_running_values(&running)
            .map_err(TrainError::Gpu)?;
    }
    Ok(())
}
