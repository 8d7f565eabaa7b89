//! Running reference models: each of K models over the same N records, once, into the
//! [`ReferenceSignals`] matrix (records × models) that the calibrated attacks read, so that
//! switching attack or parameters never runs inference again.

use crate::model::{Model, ModelOutput, OutputKindChoice};
use crate::progress::{NoProgress, Progress, ProgressSink};
use crate::records::Records;
use crate::signal::Signals;
use crate::signal_matrix::{MatrixError, ReferenceSignals};
use ndarray::{Array2, Array3, Axis};

/// How reference outputs become signals: the same settings as the target's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignalSettings {
    pub output_kind: OutputKindChoice,
    pub temperature: f64,
    pub batch_size: usize,
    /// Which engine runs the models.
    pub backend: crate::gpu::BackendChoice,
    /// Whether reference models' whole probability vectors are needed; when not, the GPU
    /// reduces their outputs to per-record signals before reading them back.
    pub reference_probabilities: bool,
}

/// Runs `model` over `records` (checking shapes and labels) and computes their signals.
pub fn model_signals(
    model: &Model,
    records: &Records,
    settings: SignalSettings,
    progress: &mut dyn ProgressSink,
) -> crate::Result<(ModelOutput, Signals)> {
    let (output, _) = model_output(model, records, settings, progress)?;
    let signals = Signals::compute(&output, &records.labels, settings.temperature);
    Ok((output, signals))
}

/// Runs `model` over `records` (checking shapes and labels) and interprets its output; says
/// which engine ran it.
pub fn model_output(
    model: &Model,
    records: &Records,
    settings: SignalSettings,
    progress: &mut dyn ProgressSink,
) -> crate::Result<(ModelOutput, crate::gpu::BackendUsed)> {
    model.check_records(records.features.shape(), &records.source)?;
    records.check_labels(model.info().output_width.max(2))?;
    let (raw, used) = model.predict_on(
        &records.features,
        settings.batch_size,
        settings.backend,
        progress,
    )?;
    Ok((ModelOutput::interpret(&raw, settings.output_kind)?, used))
}

/// Checks every reference model takes the target's records and outputs its classes;
/// `names[k]` names model k in the message.
pub fn check_reference_models(
    target: &Model,
    models: &[Model],
    names: &[String],
) -> Result<(), MatrixError> {
    if models.is_empty() {
        return Err(MatrixError::NoModels);
    }
    let expected = target.info();
    for (k, model) in models.iter().enumerate() {
        let name = names.get(k).cloned().unwrap_or_else(|| format!("#{k}"));
        let info = model.info();
        if info.record_shape != expected.record_shape {
            return Err(MatrixError::InputShape {
                model: name,
                expected: expected.record_shape.clone(),
                found: info.record_shape.clone(),
            });
        }
        if info.output_width != expected.output_width {
            return Err(MatrixError::OutputWidth {
                model: name,
                expected: expected.output_width,
                found: info.output_width,
            });
        }
    }
    Ok(())
}

/// Runs every model over `records`; `keep[[i, k]]` says record i trained model k.
pub fn reference_signals(
    models: &[Model],
    records: &Records,
    keep: Array2<bool>,
    settings: SignalSettings,
    progress: &mut dyn ProgressSink,
) -> crate::Result<ReferenceSignals> {
    if models.is_empty() {
        return Err(MatrixError::NoModels.into());
    }
    let expected = (records.len(), models.len());
    if keep.dim() != expected {
        return Err(MatrixError::Shape {
            what: "keep-mask",
            expected,
            found: keep.dim(),
        }
        .into());
    }
    for model in models {
        records.check_labels(model.info().output_width.max(2))?;
    }
    // Where no attack reads whole probability vectors, the GPU reduces each reference
    // model's logits to the per-record signals before reading them back.
    let reducible = !settings.reference_probabilities
        && settings.temperature == 1.0
        && settings.output_kind != OutputKindChoice::Probabilities;
    if reducible
        && let Some((pairs, _)) = Model::predict_set_reduced(
            models,
            &records.features,
            &records.labels,
            settings.batch_size,
            settings.backend,
            progress,
        )
    {
        let (n, k) = expected;
        let mut logit_scaled = Array2::zeros(expected);
        let mut confidence = Array2::zeros(expected);
        let mut loss = Array2::zeros(expected);
        for j in 0..k {
            for i in 0..n {
                let (p_y, phi) = pairs[j][i];
                let phi = f64::from(phi);
                confidence[[i, j]] = f64::from(p_y);
                logit_scaled[[i, j]] = phi;
                loss[[i, j]] = crate::signal::softplus(-phi);
            }
        }
        return Ok(ReferenceSignals::new(logit_scaled, confidence, loss, keep)?);
    }
    // All reference models in shared GPU dispatches where that path applies, else one by one.
    let batched = Model::predict_set(
        models,
        &records.features,
        settings.batch_size,
        settings.backend,
        &mut NoProgress,
    );
    let mut logit_scaled = Array2::zeros(expected);
    let mut confidence = Array2::zeros(expected);
    let mut loss = Array2::zeros(expected);
    let mut probabilities: Option<Array3<f64>> = None;
    for (k, model) in models.iter().enumerate() {
        let signals = match &batched {
            Some((outputs, _)) => {
                records.check_labels(model.info().output_width.max(2))?;
                let output = ModelOutput::interpret(&outputs[k], settings.output_kind)?;
                Signals::compute(&output, &records.labels, settings.temperature)
            }
            None => model_signals(model, records, settings, &mut NoProgress)?.1,
        };
        let classes = signals.probabilities.ncols();
        let all = probabilities
            .get_or_insert_with(|| Array3::zeros((records.len(), models.len(), classes)));
        if all.len_of(Axis(2)) != classes {
            return Err(MatrixError::Classes {
                model: k,
                expected: all.len_of(Axis(2)),
                found: classes,
            }
            .into());
        }
        all.index_axis_mut(Axis(1), k)
            .assign(&signals.probabilities);
        for (column, values) in [
            (&mut logit_scaled, &signals.logit_scaled),
            (&mut confidence, &signals.confidence),
            (&mut loss, &signals.loss),
        ] {
            column
                .column_mut(k)
                .iter_mut()
                .zip(values)
                .for_each(|(cell, v)| *cell = *v);
        }
        progress.update(Progress {
            step: "reference models",
            done: k + 1,
            total: models.len(),
        });
    }
    let matrix = ReferenceSignals::new(logit_scaled, confidence, loss, keep)?;
    Ok(match probabilities {
        Some(p) => matrix.with_probabilities(p)?,
        None => matrix,
    })
}
