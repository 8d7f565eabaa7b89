//! Counts at one decision threshold and the rates derived from them.

use serde::Serialize;

/// Confusion counts of the rule "member iff score >= threshold" (the ROC's rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Confusion {
    pub tp: usize,
    pub fp: usize,
    pub tn: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
}

impl Confusion {
    /// Counts members and non-members at or above `threshold`.
    pub fn at_threshold(scores: &[f64], members: &[bool], threshold: f64) -> Confusion {
        let mut c = Confusion {
            tp: 0,
            fp: 0,
            tn: 0,
            fn_: 0,
        };
        for (s, &m) in scores.iter().zip(members) {
            match (*s >= threshold, m) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, false) => c.tn += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        c
    }

    pub fn tpr(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    pub fn fpr(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn)
    }

    /// Positive predictive value when members make up a fraction `prior` of those tested:
    /// `π·TPR / (π·TPR + (1-π)·FPR)`; `None` when the rule flags nobody.
    pub fn ppv(&self, prior: f64) -> Option<f64> {
        let flagged = prior * self.tpr() + (1.0 - prior) * self.fpr();
        (flagged > 0.0).then(|| prior * self.tpr() / flagged)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
