//! One model's provided outputs on a record set, and the signals they give (SPEC.md,
//! "Signals"): class columns go through the same [`Signals::compute`] as a model's output;
//! losses give the signals that are functions of `p_y = e^{-loss}` alone.

use super::ProvidedError;
use crate::model::{ModelOutput, OutputKind, OutputKindChoice};
use crate::signal::Signals;
use crate::signal_matrix::ReferenceSignals;
use ndarray::{Array1, Array2, Array3, Axis};

/// `-ln 1e-45`: the largest loss a signal holds (SPEC.md's floor inside `ln`).
const MAX_LOSS: f64 = 103.616_329_3;

/// What one model answered on each record.
#[derive(Debug, Clone, PartialEq)]
pub enum Scores {
    /// `[records, classes]` logits or probabilities (one column: a sigmoid's probability or
    /// logit, as for a model).
    Classes(Array2<f64>),
    /// The cross-entropy loss of each record's label.
    Losses(Vec<f64>),
}

impl Scores {
    pub fn len(&self) -> usize {
        match self {
            Scores::Classes(values) => values.nrows(),
            Scores::Losses(losses) => losses.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Classes of the model: its columns (two for one column), or for losses the labels' range.
    pub fn classes(&self, labels: &[usize]) -> usize {
        match self {
            Scores::Classes(values) => values.ncols().max(2),
            Scores::Losses(_) => labels.iter().max().map_or(2, |&y| (y + 1).max(2)),
        }
    }

    /// What the outputs are, for the report's model section.
    pub fn describe(&self, kind: Option<OutputKind>) -> String {
        match (self, kind) {
            (Scores::Losses(_), _) => "provided losses (p_y = exp(-loss))".to_string(),
            (Scores::Classes(_), Some(OutputKind::Logits)) => "provided logits".to_string(),
            (Scores::Classes(_), _) => "provided probabilities".to_string(),
        }
    }

    /// The signals of these outputs for records labelled `labels`, and how class columns
    /// were read (`None` for losses).
    pub fn signals(
        &self,
        labels: &[usize],
        file: &str,
        choice: OutputKindChoice,
    ) -> Result<(Signals, Option<OutputKind>), ProvidedError> {
        if self.len() != labels.len() {
            return Err(ProvidedError::content(
                file,
                format!(
                    "{} outputs for {} labels; give one per record",
                    self.len(),
                    labels.len()
                ),
            ));
        }
        match self {
            Scores::Classes(values) => {
                let output = class_output(values, file, choice)?;
                if let Some((record, &label)) = labels
                    .iter()
                    .enumerate()
                    .find(|&(_, &y)| y >= output.classes())
                {
                    return Err(ProvidedError::Label {
                        file: file.to_string(),
                        record,
                        label,
                        classes: output.classes(),
                    });
                }
                Ok((Signals::compute(&output, labels, 1.0), Some(output.kind)))
            }
            Scores::Losses(losses) => Ok((loss_signals(losses, file)?, None)),
        }
    }
}

/// Class columns read as a model's output would be.
fn class_output(
    values: &Array2<f64>,
    file: &str,
    choice: OutputKindChoice,
) -> Result<ModelOutput, ProvidedError> {
    ModelOutput::from_values(values.clone(), choice).map_err(|e| match e {
        crate::model::ModelError::NonFiniteOutput { record, value, .. } => {
            ProvidedError::NotFinite {
                file: file.to_string(),
                record,
                value: value.into(),
            }
        }
        other => ProvidedError::Probabilities {
            file: file.to_string(),
            problem: other.to_string(),
        },
    })
}

/// The signals of per-record losses: confidence `e^{-loss}`, the loss, and LiRA's
/// `φ = ln(p_y / (1 - p_y)) = -loss - ln(1 - e^{-loss})`. The entropies and the top class
/// need the whole probability vector: NaN and false, with no probability columns, so that
/// the attacks that read them are refused (`Needs::target_probabilities`).
fn loss_signals(losses: &[f64], file: &str) -> Result<Signals, ProvidedError> {
    if let Some((record, &value)) = losses
        .iter()
        .enumerate()
        .find(|&(_, l)| !l.is_finite() || *l < 0.0)
    {
        return Err(ProvidedError::NotFinite {
            file: file.to_string(),
            record,
            value,
        });
    }
    let n = losses.len();
    let loss: Vec<f64> = losses.iter().map(|l| l.min(MAX_LOSS)).collect();
    Ok(Signals {
        confidence: loss.iter().map(|l| (-l).exp()).collect(),
        logit_scaled: loss.iter().map(|&l| phi_of_loss(l)).collect(),
        loss,
        entropy: vec![f64::NAN; n],
        modified_entropy: vec![f64::NAN; n],
        correct: vec![false; n],
        probabilities: Array2::zeros((n, 0)),
    })
}

/// `-l - ln max(1 - e^{-l}, 1e-45)`, with `1 - e^{-l}` as `-expm1(-l)` so that a small loss
/// keeps its digits. The inverse of the `loss = softplus(-φ)` the logits path uses.
fn phi_of_loss(l: f64) -> f64 {
    -l - (-(-l).exp_m1()).max(1e-45).ln()
}

/// The reference models' signals on a set: `keep[[i, k]]` says record i trained model k.
pub(super) fn reference_signals(
    references: &[Scores],
    labels: &[usize],
    keep: Array2<bool>,
    file: &str,
    choice: OutputKindChoice,
    classes: usize,
) -> Result<ReferenceSignals, ProvidedError> {
    let shape = (labels.len(), references.len());
    let mut logit_scaled = Array2::zeros(shape);
    let mut confidence = Array2::zeros(shape);
    let mut loss = Array2::zeros(shape);
    let all_classes = references.iter().all(|r| matches!(r, Scores::Classes(_)));
    let mut probabilities = all_classes.then(|| Array3::zeros((shape.0, shape.1, classes)));
    for (k, scores) in references.iter().enumerate() {
        let what = format!("{file}, reference model {k}");
        let (signals, _) = scores.signals(labels, &what, choice)?;
        if let Some(all) = &mut probabilities {
            if signals.probabilities.ncols() != classes {
                return Err(ProvidedError::content(
                    &what,
                    format!(
                        "{} classes, the target's {classes}",
                        signals.probabilities.ncols()
                    ),
                ));
            }
            all.index_axis_mut(Axis(1), k)
                .assign(&signals.probabilities);
        }
        logit_scaled
            .column_mut(k)
            .assign(&Array1::from(signals.logit_scaled));
        confidence
            .column_mut(k)
            .assign(&Array1::from(signals.confidence));
        loss.column_mut(k).assign(&Array1::from(signals.loss));
    }
    let matrix = ReferenceSignals::new(logit_scaled, confidence, loss, keep)
        .map_err(|e| ProvidedError::content(file, e.to_string()))?;
    match probabilities {
        Some(p) => matrix
            .with_probabilities(p)
            .map_err(|e| ProvidedError::content(file, e.to_string())),
        None => Ok(matrix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::softplus;

    #[test]
    fn losses_give_the_signals_logits_would() {
        let z = [2.0, -1.0, 0.5];
        let logits = Scores::Classes(Array2::from_shape_vec((1, 3), z.to_vec()).unwrap());
        let (from_logits, kind) = logits.signals(&[0], "f", OutputKindChoice::Logits).unwrap();
        assert_eq!(kind, Some(OutputKind::Logits));
        let losses = Scores::Losses(from_logits.loss.clone());
        let (from_losses, _) = losses.signals(&[0], "f", OutputKindChoice::Auto).unwrap();
        for (a, b) in [
            (from_logits.confidence[0], from_losses.confidence[0]),
            (from_logits.logit_scaled[0], from_losses.logit_scaled[0]),
            (from_logits.loss[0], softplus(-from_losses.logit_scaled[0])),
        ] {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert!(from_losses.entropy[0].is_nan());
        assert_eq!(from_losses.probabilities.ncols(), 0);
    }

    #[test]
    fn a_negative_loss_and_a_label_beyond_the_columns_are_refused() {
        let err = Scores::Losses(vec![0.1, -0.5])
            .signals(&[0, 1], "f.csv", OutputKindChoice::Auto)
            .unwrap_err();
        assert!(err.to_string().contains("record 1"), "{err}");
        let err = Scores::Classes(Array2::zeros((2, 3)))
            .signals(&[0, 3], "f.csv", OutputKindChoice::Logits)
            .unwrap_err();
        assert!(err.to_string().contains("label 3"), "{err}");
    }
}
