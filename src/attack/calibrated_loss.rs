//! Watson et al.'s difficulty-calibrated loss (ICLR 2022; SPEC.md attack 3): the target's
//! loss on a record measured against the loss of reference models that did not train on it.

use super::CatalogueEntry;
use super::{Attack, AttackError, AttackInfo, AttackScores, Needs, ReferenceUse, ScoringSet};
use crate::signal_matrix::ReferenceSignals;

static CALIBRATED_LOSS: AttackInfo = AttackInfo {
    id: "calibrated-loss",
    title: "Reference-calibrated loss",
    paper: "Watson, Guo, Cormode & Sablayrolles, On the Importance of Difficulty Calibration in Membership Inference Attacks, ICLR 2022",
    summary: "Subtracts the target's loss on a record from the median loss of reference models that did not train on it. Hard records have a high loss everywhere and easy ones a low loss everywhere; calibrating by the record's own difficulty leaves the part of the loss that membership explains.",
    needs: Needs {
        references: ReferenceUse::OutOnly,
        ..Needs::TARGET_ONLY
    },
    reads: &[],
    labels_suffice: false,
    scores_per_class: false,
};

pub(super) static ENTRY: CatalogueEntry = CatalogueEntry {
    info: &CALIBRATED_LOSS,
    build: |_| Box::new(CalibratedLossAttack),
};

/// The median OUT-reference loss minus the target's loss; `None` for a record without an
/// OUT reference.
pub fn calibrated_loss(target_loss: &[f64], refs: &ReferenceSignals) -> Vec<Option<f64>> {
    (0..refs.records())
        .map(|i| {
            let out = ReferenceSignals::split(refs.loss.row(i), refs.keep.row(i), false);
            (!out.is_empty()).then(|| super::lira::median(&out) - target_loss[i])
        })
        .collect()
}

/// Watson et al.'s difficulty-calibrated loss.
pub struct CalibratedLossAttack;

impl Attack for CalibratedLossAttack {
    fn info(&self) -> &'static AttackInfo {
        &CALIBRATED_LOSS
    }

    fn score(
        &self,
        records: ScoringSet<'_>,
        _population: Option<ScoringSet<'_>>,
    ) -> Result<AttackScores, AttackError> {
        Ok(AttackScores {
            scores: calibrated_loss(&records.target().loss, records.references()?),
            detail: None,
            warning: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn calibrated_loss_is_median_out_loss_minus_target_loss() {
        let loss = array![[1.0, 2.0, 3.0, 9.0]];
        let keep = array![[false, false, false, true]];
        let r = ReferenceSignals::new(loss.clone(), loss.clone(), loss, keep).unwrap();
        assert_eq!(calibrated_loss(&[0.5], &r), vec![Some(1.5)]);
    }

    #[test]
    fn a_record_without_an_out_reference_is_unscorable() {
        let m = array![[0.5, 0.7], [0.1, 0.2]];
        let r = ReferenceSignals::new(
            m.clone(),
            m.clone(),
            m,
            array![[true, true], [false, false]],
        )
        .unwrap();
        assert_eq!(calibrated_loss(&[0.0, 0.0], &r)[0], None);
    }

    #[test]
    fn matrices_must_agree_with_the_keep_mask() {
        let m = Array2::<f64>::zeros((2, 3));
        let err = ReferenceSignals::new(
            m.clone(),
            Array2::zeros((2, 2)),
            m.clone(),
            Array2::from_elem((2, 3), false),
        );
        assert!(err.is_err());
        assert!(
            ReferenceSignals::new(
                Array2::zeros((2, 0)),
                Array2::zeros((2, 0)),
                Array2::zeros((2, 0)),
                Array2::from_elem((2, 0), false)
            )
            .is_err()
        );
    }
}
