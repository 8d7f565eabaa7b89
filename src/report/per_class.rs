//! The per-class breakdown: within each class, how many records and members there are, the
//! target's accuracy on members and non-members, and each attack's AUC on that class's
//! records alone (some classes leak more than others).

use crate::metrics::Roc;
use crate::records::Records;
use crate::signal::Signals;
use serde::Serialize;

/// One row per class that has records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PerClassTable {
    pub classes: Vec<ClassRow>,
}

/// One class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassRow {
    /// The class's name, or its index when the records name none.
    pub class: String,
    pub records: usize,
    /// Members among them; `None` when membership is unknown.
    pub members: Option<usize>,
    pub member_accuracy: Option<f64>,
    pub non_member_accuracy: Option<f64>,
    /// Each attack's AUC over this class's scored records, in attack order; `None` where the
    /// class has no scored member or no scored non-member.
    pub auc: Vec<(String, Option<f64>)>,
}

impl PerClassTable {
    pub fn new(
        records: &Records,
        target: &Signals,
        scores: &[(String, Vec<Option<f64>>)],
    ) -> PerClassTable {
        let mut order: Vec<usize> = Vec::new();
        for &y in &records.labels {
            if !order.contains(&y) {
                order.push(y);
            }
        }
        let classes = order
            .into_iter()
            .map(|y| {
                let rows: Vec<usize> = (0..records.len())
                    .filter(|&i| records.labels[i] == y)
                    .collect();
                let member = |i: usize| records.membership.as_ref().map(|m| m[i]);
                let accuracy = |want: bool| {
                    let picked: Vec<usize> = rows
                        .iter()
                        .copied()
                        .filter(|&i| member(i) == Some(want))
                        .collect();
                    let known = target.probabilities.ncols() > 0;
                    (known && !picked.is_empty()).then(|| {
                        picked.iter().filter(|&&i| target.correct[i]).count() as f64
                            / picked.len() as f64
                    })
                };
                let auc = scores
                    .iter()
                    .map(|(id, s)| {
                        let (values, members): (Vec<f64>, Vec<bool>) = rows
                            .iter()
                            .filter_map(|&i| Some((s[i]?, member(i)?)))
                            .unzip();
                        (
                            id.clone(),
                            Roc::new(&values, &members).ok().map(|r| r.auc()),
                        )
                    })
                    .collect();
                ClassRow {
                    class: records
                        .classes
                        .as_ref()
                        .and_then(|names| names.get(y).cloned())
                        .unwrap_or_else(|| y.to_string()),
                    records: rows.len(),
                    members: records
                        .membership
                        .as_ref()
                        .map(|m| rows.iter().filter(|&&i| m[i]).count()),
                    member_accuracy: accuracy(true),
                    non_member_accuracy: accuracy(false),
                    auc,
                }
            })
            .collect();
        PerClassTable { classes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn each_class_gets_its_counts_accuracies_and_auc() {
        let records = Records {
            source: "r".into(),
            ids: (0..6).map(|i| i.to_string()).collect(),
            features: ArrayD::zeros(IxDyn(&[6, 1])),
            feature_names: Vec::new(),
            labels: vec![1, 0, 1, 0, 1, 0],
            membership: Some(vec![true, true, false, false, true, false]),
            classes: Some(vec!["a".into(), "b".into()]),
            missing: None,
        };
        let mut target = Signals {
            confidence: vec![0.5; 6],
            loss: vec![0.7; 6],
            logit_scaled: vec![0.0; 6],
            entropy: vec![0.7; 6],
            modified_entropy: vec![0.7; 6],
            correct: vec![true, true, false, true, true, false],
            probabilities: ndarray::Array2::from_elem((6, 2), 0.5),
        };
        target.correct[5] = false;
        let scores = vec![(
            "loss".to_string(),
            vec![Some(3.0), Some(1.0), Some(2.0), Some(1.0), Some(1.0), None],
        )];
        let table = PerClassTable::new(&records, &target, &scores);
        assert_eq!(table.classes.len(), 2);
        let b = &table.classes[0];
        assert_eq!((b.class.as_str(), b.records, b.members), ("b", 3, Some(2)));
        assert_eq!(
            (b.member_accuracy, b.non_member_accuracy),
            (Some(1.0), Some(0.0))
        );
        // Class b: members score 3 and 1, the non-member 2: AUC 0.5.
        assert_eq!(b.auc[0].1, Some(0.5));
        let a = &table.classes[1];
        // Class a's only scored non-member ties its member: AUC 0.5; its other is unscored.
        assert_eq!((a.class.as_str(), a.members), ("a", Some(1)));
        assert_eq!(a.auc[0].1, Some(0.5));
    }
}
