//! Signals of K reference models on the same N records, with the keep-mask saying which
//! records each reference model was trained on (SPEC.md, "Reference models"). This is what
//! the reference-calibrated attacks read; building it (running the reference models) is the
//! reference pipeline's job, so that switching attacks never re-runs inference.

use ndarray::{Array2, Array3, ArrayView1};
use thiserror::Error;

/// A shape disagreement between the matrices of one reference set.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MatrixError {
    #[error(
        "the {what} matrix is {found:?} but the keep-mask is {expected:?} (records × reference models)"
    )]
    Shape {
        what: &'static str,
        expected: (usize, usize),
        found: (usize, usize),
    },
    #[error("reference model {model} has {found} classes but the others have {expected}")]
    Classes {
        model: usize,
        expected: usize,
        found: usize,
    },
    #[error(
        "reference model {model} takes records of shape {found:?} but the target takes {expected:?}; reference models must share the target's architecture"
    )]
    InputShape {
        model: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error(
        "reference model {model} outputs {found} class scores but the target outputs {expected}; reference models must share the target's classes"
    )]
    OutputWidth {
        model: String,
        expected: usize,
        found: usize,
    },
    #[error("a reference set needs at least one reference model")]
    NoModels,
}

/// Per-record, per-reference-model signals and IN/OUT membership, all `[records, models]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceSignals {
    /// LiRA's φ, the logit-scaled confidence.
    pub logit_scaled: Array2<f64>,
    /// `p_y`, the confidence.
    pub confidence: Array2<f64>,
    pub loss: Array2<f64>,
    /// `keep[[i, k]]`: record i was in reference model k's training set.
    pub keep: Array2<bool>,
    /// Every model's softmax probabilities, `[records, models, classes]`, for attacks that
    /// read whole output vectors (the shadow-model attack); absent when only the scalar
    /// signals were kept.
    pub probabilities: Option<Array3<f64>>,
}

impl ReferenceSignals {
    /// Checks every matrix has the keep-mask's shape.
    pub fn new(
        logit_scaled: Array2<f64>,
        confidence: Array2<f64>,
        loss: Array2<f64>,
        keep: Array2<bool>,
    ) -> Result<ReferenceSignals, MatrixError> {
        if keep.ncols() == 0 {
            return Err(MatrixError::NoModels);
        }
        let expected = keep.dim();
        for (what, m) in [
            ("logit-scaled", &logit_scaled),
            ("confidence", &confidence),
            ("loss", &loss),
        ] {
            if m.dim() != expected {
                return Err(MatrixError::Shape {
                    what,
                    expected,
                    found: m.dim(),
                });
            }
        }
        Ok(ReferenceSignals {
            logit_scaled,
            confidence,
            loss,
            keep,
            probabilities: None,
        })
    }

    /// Adds the models' probability vectors, `[records, models, classes]`.
    pub fn with_probabilities(
        mut self,
        probabilities: Array3<f64>,
    ) -> Result<ReferenceSignals, MatrixError> {
        let (records, models, _) = probabilities.dim();
        if (records, models) != self.keep.dim() {
            return Err(MatrixError::Shape {
                what: "probabilities",
                expected: self.keep.dim(),
                found: (records, models),
            });
        }
        self.probabilities = Some(probabilities);
        Ok(self)
    }

    pub fn records(&self) -> usize {
        self.keep.nrows()
    }

    pub fn models(&self) -> usize {
        self.keep.ncols()
    }

    /// Numbers of (IN, OUT) reference models of record `i`.
    pub fn counts(&self, i: usize) -> (usize, usize) {
        let inside = self.keep.row(i).iter().filter(|&&k| k).count();
        (inside, self.models() - inside)
    }

    /// The values of `signal` on record `i` from its IN (`inside = true`) or OUT models.
    pub fn split(
        signal: ArrayView1<'_, f64>,
        keep: ArrayView1<'_, bool>,
        inside: bool,
    ) -> Vec<f64> {
        signal
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k == inside)
            .map(|(v, _)| *v)
            .collect()
    }
}
