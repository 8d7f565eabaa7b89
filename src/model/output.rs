//! What a model's output means: logits or probabilities (SPEC.md, "Model output").

use super::ModelError;
use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

/// Tolerance on a probability row's sum when detecting probabilities.
const SUM_TOLERANCE: f64 = 1e-3;

/// What the output columns hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    Logits,
    Probabilities,
}

/// How to decide the [`OutputKind`]: detect it, or take the user's word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum OutputKindChoice {
    #[default]
    Auto,
    Logits,
    Probabilities,
}

/// A model's output on a set of records, with one column per class.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOutput {
    pub kind: OutputKind,
    /// `[records, classes]`.
    pub values: Array2<f64>,
    /// The model had one output column, expanded to two classes.
    pub expanded_single: bool,
}

impl ModelOutput {
    /// Interprets raw outputs `[records, width]`. A probability row is non-negative and sums
    /// to 1 within 1e-3. A single column is a sigmoid probability `p` (expanded to `[1-p, p]`)
    /// when every value lies in [0, 1], otherwise a logit `z` (expanded to `[0, z]`, whose
    /// softmax is the sigmoid of `z`).
    pub fn interpret(
        raw: &Array2<f32>,
        choice: OutputKindChoice,
    ) -> Result<ModelOutput, ModelError> {
        Self::from_values(raw.mapv(f64::from), choice)
    }

    /// [`ModelOutput::interpret`] for outputs already in float64 (provided outputs).
    pub fn from_values(
        values: Array2<f64>,
        choice: OutputKindChoice,
    ) -> Result<ModelOutput, ModelError> {
        if values.ncols() == 0 {
            return Err(ModelError::NoClasses(0));
        }
        for ((record, class), &value) in values.indexed_iter() {
            if !value.is_finite() {
                return Err(ModelError::NonFiniteOutput {
                    record,
                    class,
                    value: value as f32,
                });
            }
        }
        if values.ncols() == 1 {
            return Ok(Self::expand_single(values, choice));
        }
        let kind = match choice {
            OutputKindChoice::Logits => OutputKind::Logits,
            OutputKindChoice::Probabilities => {
                if let Some(record) = values
                    .rows()
                    .into_iter()
                    .position(|r| r.iter().any(|&p| p < 0.0))
                {
                    return Err(ModelError::NotProbabilities {
                        record,
                        problem: "a negative value".to_string(),
                    });
                }
                OutputKind::Probabilities
            }
            OutputKindChoice::Auto if values.rows().into_iter().all(is_probability_row) => {
                OutputKind::Probabilities
            }
            OutputKindChoice::Auto => OutputKind::Logits,
        };
        Ok(ModelOutput {
            kind,
            values,
            expanded_single: false,
        })
    }

    fn expand_single(values: Array2<f64>, choice: OutputKindChoice) -> ModelOutput {
        let column = values.column(0);
        let in_unit = column.iter().all(|&p| (0.0..=1.0).contains(&p));
        let kind = match choice {
            OutputKindChoice::Auto if in_unit => OutputKind::Probabilities,
            OutputKindChoice::Auto => OutputKind::Logits,
            OutputKindChoice::Probabilities => OutputKind::Probabilities,
            OutputKindChoice::Logits => OutputKind::Logits,
        };
        let expanded = Array2::from_shape_fn((values.nrows(), 2), |(r, c)| match (kind, c) {
            (OutputKind::Probabilities, 0) => 1.0 - column[r].clamp(0.0, 1.0),
            (OutputKind::Probabilities, _) => column[r].clamp(0.0, 1.0),
            (OutputKind::Logits, 0) => 0.0,
            (OutputKind::Logits, _) => column[r],
        });
        ModelOutput {
            kind,
            values: expanded,
            expanded_single: true,
        }
    }

    pub fn classes(&self) -> usize {
        self.values.ncols()
    }

    pub fn records(&self) -> usize {
        self.values.nrows()
    }
}

fn is_probability_row(row: ArrayView1<'_, f64>) -> bool {
    row.iter().all(|&p| p >= 0.0) && (row.sum() - 1.0).abs() <= SUM_TOLERANCE
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn detects_probabilities_within_tolerance_and_logits_otherwise() {
        let p = array![[0.2f32, 0.8], [0.5, 0.5004]];
        assert_eq!(
            ModelOutput::interpret(&p, OutputKindChoice::Auto)
                .unwrap()
                .kind,
            OutputKind::Probabilities
        );
        let z = array![[0.2f32, 0.9], [0.5, 0.5]];
        assert_eq!(
            ModelOutput::interpret(&z, OutputKindChoice::Auto)
                .unwrap()
                .kind,
            OutputKind::Logits
        );
        let negative = array![[-0.5f32, 1.5]];
        assert_eq!(
            ModelOutput::interpret(&negative, OutputKindChoice::Auto)
                .unwrap()
                .kind,
            OutputKind::Logits
        );
    }

    #[test]
    fn expands_one_column_as_sigmoid_or_logit() {
        let p = ModelOutput::interpret(&array![[0.25f32]], OutputKindChoice::Auto).unwrap();
        assert_eq!(
            (p.kind, p.values.row(0).to_vec()),
            (OutputKind::Probabilities, vec![0.75, 0.25])
        );
        let z = ModelOutput::interpret(&array![[3.0f32], [-2.0]], OutputKindChoice::Auto).unwrap();
        assert_eq!(
            (z.kind, z.values.row(1).to_vec()),
            (OutputKind::Logits, vec![0.0, -2.0])
        );
    }

    #[test]
    fn rejects_non_finite_outputs_and_negative_declared_probabilities() {
        let nan = array![[0.5f32, f32::NAN]];
        assert!(matches!(
            ModelOutput::interpret(&nan, OutputKindChoice::Auto),
            Err(ModelError::NonFiniteOutput {
                record: 0,
                class: 1,
                ..
            })
        ));
        let negative = array![[0.5f32, 0.6], [-0.1, 1.1]];
        assert!(matches!(
            ModelOutput::interpret(&negative, OutputKindChoice::Probabilities),
            Err(ModelError::NotProbabilities { record: 1, .. })
        ));
    }
}
