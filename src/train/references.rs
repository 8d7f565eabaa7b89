//! Reference models trained here: K networks of the target's architecture, each on its own
//! half of the audit records, with the keep-mask saying which (LiRA's protocol: every record
//! IN for exactly half of the models, so that online attacks see IN and OUT models for each).
//! The population stays untouched by every model: it remains a set of known non-members for
//! calibration, RMIA's comparison records and the quantile regressor.
//!
//! Model k draws its initial values, batch order and dropout from ChaCha8 seeded with the
//! audit's seed on stream k + 1 (the keep-mask from stream 0), so a model does not depend on
//! how many others are trained beside it, nor on the thread that trains it.

use super::TrainError;
use super::architecture::Architecture;
use super::fit::{EpochEnd, TrainingSet, fit};
use super::network::Network;
use super::objective::Classification;
use super::recipe::Recipe;
use crate::records::Records;
use crate::signal::argmax;
use ndarray::{Array2, ArrayView1};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use serde::Serialize;
use std::ops::ControlFlow;

/// `[models, records]`: which records each model trains on, every record IN for exactly
/// ⌈K/2⌉ models (a random choice per record).
pub fn keep_mask(records: usize, models: usize, seed: u64) -> Array2<bool> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(0);
    let mut keep = Array2::from_elem((models, records), false);
    let mut order: Vec<usize> = (0..models).collect();
    for r in 0..records {
        order.shuffle(&mut rng);
        for &k in &order[..models.div_ceil(2)] {
            keep[[k, r]] = true;
        }
    }
    keep
}

/// One trained reference model.
#[derive(Debug, Clone)]
pub struct TrainedReference {
    pub index: usize,
    pub network: Network,
    /// Mean training loss of every epoch.
    pub losses: Vec<f64>,
    pub accuracy: Accuracy,
}

/// A reference model's accuracy on the records it trained on and on the others.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Accuracy {
    /// On its own training records (IN).
    pub train: f64,
    /// On the audit records it did not train on (OUT).
    pub held_out: f64,
    /// On every audit record.
    pub audit: f64,
}

/// The records as one contiguous feature slice, checked for training.
pub fn training_features(records: &Records, classes: usize) -> Result<Vec<f32>, TrainError> {
    records
        .check_complete(false)
        .and_then(|_| records.check_labels(classes))
        .map_err(|e| TrainError::Records(e.to_string()))?;
    Ok(records.features.iter().copied().collect())
}

/// Where reference models train.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TrainingDevice {
    /// mialab's CPU training code, one model per thread.
    #[default]
    Cpu,
    /// The process's GPU and its training kernels ([`super::gpu_layers`] says which
    /// networks they train), natively in a build with the `gpu` feature.
    Gpu,
}

/// Where the user asks reference models to train.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum DeviceChoice {
    /// The GPU where a hardware adapter exists and it trains the architecture, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// The GPU whatever the adapter (a software one too), or an error saying why not.
    Gpu,
}

/// The device `choice` trains `architecture` on, and what it is in words ("the CPU,
/// because …"); an error when the GPU is asked for and cannot.
pub fn choose_device(
    choice: DeviceChoice,
    architecture: &Architecture,
) -> Result<(TrainingDevice, String), TrainError> {
    if choice == DeviceChoice::Cpu {
        return Ok((TrainingDevice::Cpu, "the CPU".to_string()));
    }
    match gpu_for(architecture) {
        Ok((adapter, software)) if choice == DeviceChoice::Gpu || !software => Ok((
            TrainingDevice::Gpu,
            format!("the GPU's training kernels on {adapter}"),
        )),
        Ok((adapter, _)) => Ok((
            TrainingDevice::Cpu,
            format!(
                "the CPU, because the only GPU adapter, {adapter}, is a software one (slower than the CPU; --device gpu uses it anyway)"
            ),
        )),
        Err(reason) if choice == DeviceChoice::Auto => {
            Ok((TrainingDevice::Cpu, format!("the CPU, because {reason}")))
        }
        Err(reason) => Err(TrainError::Gpu(reason)),
    }
}

/// The GPU adapter and whether it is a software one, if it can train `architecture`.
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
fn gpu_for(architecture: &Architecture) -> Result<(String, bool), String> {
    super::gpu_layers(architecture)?;
    let gpu = crate::gpu::device::shared().map_err(|e| e.to_string())?;
    Ok((gpu.adapter().to_string(), gpu.is_software()))
}

#[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
fn gpu_for(_architecture: &Architecture) -> Result<(String, bool), String> {
    Err("this build of mialab has no native GPU path".to_string())
}

/// What every reference model of one set is trained from.
#[derive(Clone, Copy)]
pub struct ReferenceTraining<'a> {
    pub architecture: &'a Architecture,
    /// The records' features, contiguous ([`training_features`]), and their labels.
    pub features: &'a [f32],
    pub labels: &'a [usize],
    pub recipe: &'a Recipe,
    pub seed: u64,
}

impl ReferenceTraining<'_> {
    /// Trains reference model `index` on the records `keep` marks, on the CPU.
    pub fn train(
        &self,
        index: usize,
        keep: ArrayView1<'_, bool>,
        on_epoch: &mut dyn FnMut(EpochEnd) -> ControlFlow<()>,
    ) -> Result<TrainedReference, TrainError> {
        let mut start = self.start(index, keep)?;
        let mut losses = Vec::new();
        let mut seen = |end: EpochEnd| {
            losses.push(end.loss);
            on_epoch(end)
        };
        let data = TrainingSet {
            features: self.features,
            record_len: start.record_len,
            records: &start.inside,
        };
        let objective = Classification {
            labels: self.labels,
        };
        fit(
            &mut start.network,
            &objective,
            data,
            self.recipe,
            &mut start.rng,
            &mut |end, _| seen(end),
        )?;
        self.finish(index, keep, start.network, losses)
    }

    /// Every model of `keep` in the same dispatches on the process's GPU.
    #[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
    fn train_set_on_gpu(
        &self,
        keep: &Array2<bool>,
        on_epoch: &(dyn Fn(usize, EpochEnd) -> ControlFlow<()> + Sync),
    ) -> Result<Vec<TrainedReference>, TrainError> {
        let gpu = crate::gpu::device::shared().map_err(|e| TrainError::Gpu(e.to_string()))?;
        pollster::block_on(self.train_set_on_gpu_async(gpu, keep, &mut |k, end| on_epoch(k, end)))
    }

    /// Every model of `keep` (model `k` on row `k`) in the same dispatches on `gpu`, each as
    /// [`ReferenceTraining::train`] trains it alone; awaited (the browser's WebGPU).
    #[cfg(feature = "gpu")]
    pub async fn train_set_on_gpu_async(
        &self,
        gpu: &crate::gpu::Gpu,
        keep: &Array2<bool>,
        on_epoch: &mut dyn FnMut(usize, EpochEnd) -> ControlFlow<()>,
    ) -> Result<Vec<TrainedReference>, TrainError> {
        let mut starts = (0..keep.nrows())
            .map(|k| self.start(k, keep.row(k)))
            .collect::<Result<Vec<Start>, TrainError>>()?;
        let mut losses = vec![Vec::new(); starts.len()];
        {
            let mut jobs: Vec<super::GpuFitJob<'_>> = starts
                .iter_mut()
                .map(|start| super::GpuFitJob {
                    network: &mut start.network,
                    rng: &mut start.rng,
                    data: TrainingSet {
                        features: self.features,
                        record_len: start.record_len,
                        records: &start.inside,
                    },
                })
                .collect();
            super::fit_set_on_gpu_async(gpu, &mut jobs, self.labels, self.recipe, &mut |k, end| {
                losses[k].push(end.loss);
                on_epoch(k, end)
            })
            .await?;
        }
        starts
            .into_iter()
            .zip(losses)
            .enumerate()
            .map(|(k, (start, losses))| self.finish(k, keep.row(k), start.network, losses))
            .collect()
    }

    #[cfg(not(all(feature = "gpu", not(target_arch = "wasm32"))))]
    fn train_set_on_gpu(
        &self,
        _keep: &Array2<bool>,
        _on_epoch: &(dyn Fn(usize, EpochEnd) -> ControlFlow<()> + Sync),
    ) -> Result<Vec<TrainedReference>, TrainError> {
        Err(TrainError::Gpu(
            "this build of mialab trains on the CPU only (no native GPU path)".to_string(),
        ))
    }

    /// Model `index`'s generator, initial network and training records, after checking
    /// the inputs.
    fn start(&self, index: usize, keep: ArrayView1<'_, bool>) -> Result<Start, TrainError> {
        let records = self.labels.len();
        if keep.len() != records || self.features.len() != records * self.architecture.input_len() {
            return Err(TrainError::Records(format!(
                "{} keep-mask entries and {} feature values for {records} records of {} values",
                keep.len(),
                self.features.len(),
                self.architecture.input_len()
            )));
        }
        let classes = self.architecture.classes();
        if let Some(&label) = self.labels.iter().find(|&&y| y >= classes) {
            return Err(TrainError::Records(format!(
                "a record has class {label} but the model scores {classes} classes"
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(index as u64 + 1);
        let architecture = self
            .architecture
            .standardised(self.features, self.recipe.standardize);
        let network = Network::initialise(&architecture, &mut rng);
        Ok(Start {
            rng,
            network,
            inside: (0..records).filter(|&i| keep[i]).collect(),
            record_len: architecture.input_len(),
        })
    }

    /// The trained model with its accuracies.
    fn finish(
        &self,
        index: usize,
        keep: ArrayView1<'_, bool>,
        network: Network,
        losses: Vec<f64>,
    ) -> Result<TrainedReference, TrainError> {
        let predicted = predict_classes(&network, self.features, self.labels.len())?;
        let accuracy = accuracy(&predicted, self.labels, keep);
        Ok(TrainedReference {
            index,
            network,
            losses,
            accuracy,
        })
    }
}

/// One model about to train.
struct Start {
    rng: ChaCha8Rng,
    network: Network,
    /// The records it trains on, and the values of each.
    inside: Vec<usize>,
    record_len: usize,
}

/// Every reference model of `keep` (`[models, records]`), in parallel where there are
/// threads; `on_epoch` hears each model's epochs and may stop them all.
pub fn train_references(
    architecture: &Architecture,
    records: &Records,
    keep: &Array2<bool>,
    recipe: &Recipe,
    seed: u64,
    device: TrainingDevice,
    on_epoch: &(dyn Fn(usize, EpochEnd) -> ControlFlow<()> + Sync),
) -> Result<Vec<TrainedReference>, TrainError> {
    let features = training_features(records, architecture.classes())?;
    let training = ReferenceTraining {
        architecture,
        features: &features,
        labels: &records.labels,
        recipe,
        seed,
    };
    if device == TrainingDevice::Gpu {
        return training.train_set_on_gpu(keep, on_epoch);
    }
    let indices: Vec<usize> = (0..keep.nrows()).collect();
    crate::parallel::map_ordered(&indices, |&k| {
        training.train(k, keep.row(k), &mut |end| on_epoch(k, end))
    })
    .into_iter()
    .collect()
}

/// The class each record is predicted (a one-output network: class 1 when its logit is
/// positive).
pub fn predict_classes(
    network: &Network,
    features: &[f32],
    n: usize,
) -> Result<Vec<usize>, TrainError> {
    let logits = network.logits(features, n).map_err(TrainError::Records)?;
    let width = network.architecture.output_len();
    Ok(logits
        .chunks_exact(width)
        .map(|row| {
            if width == 1 {
                (row[0] > 0.0) as usize
            } else {
                argmax(row)
            }
        })
        .collect())
}

/// The class a model's raw outputs (`[records, width]`) predict: the largest value, or for
/// one output (a probability or a logit) class 1 above its midpoint.
pub fn output_classes(output: &Array2<f32>) -> Vec<usize> {
    output
        .rows()
        .into_iter()
        .map(|row| match row.as_slice() {
            Some(&[v]) => {
                let midpoint = if (0.0..=1.0).contains(&v) { 0.5 } else { 0.0 };
                (v > midpoint) as usize
            }
            Some(values) => argmax(values),
            None => argmax(&row.to_vec()),
        })
        .collect()
}

/// The share of the records `pick` chooses whose predicted class is their label; `None` when
/// it chooses none.
fn share_right(predicted: &[usize], labels: &[usize], pick: &dyn Fn(usize) -> bool) -> Option<f64> {
    let (mut right, mut total) = (0usize, 0usize);
    for i in (0..labels.len()).filter(|&i| pick(i)) {
        total += 1;
        right += usize::from(predicted[i] == labels[i]);
    }
    (total > 0).then(|| right as f64 / total as f64)
}

fn accuracy(predicted: &[usize], labels: &[usize], keep: ArrayView1<'_, bool>) -> Accuracy {
    let share =
        |pick: &dyn Fn(usize) -> bool| share_right(predicted, labels, pick).unwrap_or(f64::NAN);
    Accuracy {
        train: share(&|i| keep[i]),
        held_out: share(&|i| !keep[i]),
        audit: share(&|_| true),
    }
}

/// How the references' accuracies compare with the target's: LiRA and RMIA assume the
/// references were trained as the target was, which shows in how well each generalises.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecipeMatch {
    /// The target's accuracy on its members and non-members, when membership is known.
    pub target_members: Option<f64>,
    pub target_non_members: Option<f64>,
    /// The target's accuracy on every audit record, and on the population.
    pub target_audit: f64,
    pub target_population: Option<f64>,
    /// The references' mean accuracies.
    pub references_train: f64,
    pub references_held_out: f64,
    pub references_audit: f64,
    pub references_population: Option<f64>,
    /// When the references generalise visibly differently from the target.
    pub warning: Option<String>,
}

/// Accuracy differences beyond which the references are said not to mimic the target.
const MISMATCH: f64 = 0.05;

impl RecipeMatch {
    /// Compares the target's predicted classes (on the audit records and, when given, the
    /// population) with the references' accuracies.
    pub fn new(
        records: &Records,
        target_audit: &[usize],
        population: Option<(&Records, &[usize], Vec<f64>)>,
        references: &[Accuracy],
    ) -> RecipeMatch {
        let share = |pred: &[usize], labels: &[usize], pick: &dyn Fn(usize) -> bool| {
            share_right(pred, labels, pick).unwrap_or(0.0)
        };
        let labels = &records.labels;
        let mean = |f: &dyn Fn(&Accuracy) -> f64| {
            references.iter().map(f).sum::<f64>() / references.len().max(1) as f64
        };
        let (target_members, target_non_members) = match &records.membership {
            Some(m) => (
                Some(share(target_audit, labels, &|i| m[i])),
                Some(share(target_audit, labels, &|i| !m[i])),
            ),
            None => (None, None),
        };
        let (target_population, references_population) = match &population {
            Some((pop, pred, refs)) => (
                Some(share(pred, &pop.labels, &|_| true)),
                Some(refs.iter().sum::<f64>() / refs.len().max(1) as f64),
            ),
            None => (None, None),
        };
        let mut matched = RecipeMatch {
            target_members,
            target_non_members,
            target_audit: share(target_audit, labels, &|_| true),
            target_population,
            references_train: mean(&|a| a.train),
            references_held_out: mean(&|a| a.held_out),
            references_audit: mean(&|a| a.audit),
            references_population,
            warning: None,
        };
        matched.warning = matched.mismatch();
        matched
    }

    fn mismatch(&self) -> Option<String> {
        let pct = |v: f64| format!("{:.1}%", 100.0 * v);
        let mut found = Vec::new();
        if let (Some(members), Some(non_members)) = (self.target_members, self.target_non_members) {
            let (target_gap, references_gap) = (
                members - non_members,
                self.references_train - self.references_held_out,
            );
            if (target_gap - references_gap).abs() > 2.0 * MISMATCH
                || (non_members - self.references_held_out).abs() > MISMATCH
            {
                found.push(format!(
                    "the target's train-test accuracy gap is {} ({} on members, {} on non-members) but the references' is {} ({} on their training records, {} on the others)",
                    pct(target_gap),
                    pct(members),
                    pct(non_members),
                    pct(references_gap),
                    pct(self.references_train),
                    pct(self.references_held_out)
                ));
            }
        } else if (self.target_audit - self.references_audit).abs() > MISMATCH {
            found.push(format!(
                "on the audit records the target is {} accurate and the references {}",
                pct(self.target_audit),
                pct(self.references_audit)
            ));
        }
        if let (Some(t), Some(r)) = (self.target_population, self.references_population)
            && (t - r).abs() > MISMATCH
        {
            found.push(format!(
                "on the population the target is {} accurate and the references {}",
                pct(t),
                pct(r)
            ));
        }
        (!found.is_empty()).then(|| {
            format!(
                "the reference models generalise differently from the target ({}): LiRA and RMIA assume references trained as the target was; match its recipe (epochs, learning rate, weight decay) and retrain them",
                found.join("; ")
            )
        })
    }
}
