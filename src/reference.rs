//! Running models into signals: one model over a record set into its [`Signals`], and K
//! reference models over the same N records into the [`ReferenceSignals`] matrix (records ×
//! models) that the calibrated attacks read, through the [`Engine`] so that the backend is
//! chosen in one place.

use crate::config::SignalConfig;
use crate::engine::{BackendUsed, Engine};
use crate::model::{Model, ModelOutput, OutputKindChoice};
use crate::progress::ProgressSink;
use crate::records::Records;
use crate::signal::Signals;
use crate::signal_matrix::{MatrixError, ReferenceSignals};
use ndarray::{Array2, Array3, Axis};

/// Runs `model` over `records` (checking shapes and labels) and interprets its output; says
/// which engine ran it.
pub fn model_output(
    engine: &Engine,
    model: &Model,
    records: &Records,
    settings: &SignalConfig,
    progress: &mut dyn ProgressSink,
) -> crate::Result<(ModelOutput, BackendUsed)> {
    model.check_records(records.features.shape(), &records.source)?;
    records.check_complete(model.info().imputes_missing)?;
    records.check_labels(model.info().output_width.max(2))?;
    let (raw, used) = engine.run(
        model,
        &records.features,
        settings.backend,
        settings.batch_size,
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

/// Runs every model over `records`; `keep[[i, k]]` says record i trained model k. With
/// `probabilities`, the matrix keeps every model's probability vectors; without, the GPU may
/// reduce each model's logits to the per-record signals before reading them back.
pub fn reference_signals(
    engine: &Engine,
    models: &[Model],
    records: &Records,
    keep: Array2<bool>,
    settings: &SignalConfig,
    probabilities: bool,
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
        model.check_records(records.features.shape(), &records.source)?;
        records.check_complete(model.info().imputes_missing)?;
        records.check_labels(model.info().output_width.max(2))?;
    }
    let reducible = !probabilities
        && settings.temperature == 1.0
        && settings.output_kind != OutputKindChoice::Probabilities;
    if reducible
        && let Some((pairs, _)) = engine.run_set_reduced(
            models,
            &records.features,
            &records.labels,
            settings.backend,
            settings.batch_size,
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
    let (outputs, _) = engine.run_set(
        models,
        &records.features,
        settings.backend,
        settings.batch_size,
        progress,
    )?;
    let mut logit_scaled = Array2::zeros(expected);
    let mut confidence = Array2::zeros(expected);
    let mut loss = Array2::zeros(expected);
    let mut all_probabilities: Option<Array3<f64>> = None;
    for (k, raw) in outputs.iter().enumerate() {
        let output = ModelOutput::interpret(raw, settings.output_kind)?;
        let signals = Signals::compute(&output, &records.labels, settings.temperature);
        let classes = signals.probabilities.ncols();
        let all = all_probabilities
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
    }
    let matrix = ReferenceSignals::new(logit_scaled, confidence, loss, keep)?;
    Ok(match all_probabilities {
        Some(p) => matrix.with_probabilities(p)?,
        None => matrix,
    })
}
