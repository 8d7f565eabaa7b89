//! Records that two sets share by content (features and label), whatever their ids say. A
//! population is meant to hold known non-members: population records that repeat audit
//! records (members among them) bias every threshold calibrated on it, and ids cannot show
//! it when the sets number their rows independently.

use super::Records;
use ndarray::Axis;
use std::collections::HashMap;

/// Records found in both sets: how many population records repeat an audit record, and the
/// first few pairs of ids (audit, population).
#[derive(Debug, Clone, PartialEq)]
pub struct Overlap {
    pub count: usize,
    pub examples: Vec<(String, String)>,
}

/// A record's content fingerprint.
fn fingerprint(records: &Records, i: usize) -> [u8; 16] {
    super::fingerprint::fingerprint(records.features.index_axis(Axis(0), i), records.labels[i])
}

/// The population records that repeat audit records, or `None` when there are none (or the
/// sets hold no features, as records read back from a signals file do).
pub fn overlap(audit: &Records, population: &Records) -> Option<Overlap> {
    if audit.features.is_empty() || population.features.is_empty() {
        return None;
    }
    let seen: HashMap<[u8; 16], usize> = (0..audit.len())
        .map(|i| (fingerprint(audit, i), i))
        .collect();
    let mut found = Overlap {
        count: 0,
        examples: Vec::new(),
    };
    for j in 0..population.len() {
        if let Some(&i) = seen.get(&fingerprint(population, j)) {
            found.count += 1;
            if found.examples.len() < 5 {
                found
                    .examples
                    .push((audit.ids[i].clone(), population.ids[j].clone()));
            }
        }
    }
    (found.count > 0).then_some(found)
}

impl Overlap {
    /// The overlap in words, for the report's warnings.
    pub fn describe(&self, population: usize) -> String {
        let pairs: Vec<String> = self
            .examples
            .iter()
            .map(|(a, p)| format!("{p} = audit {a}"))
            .collect();
        format!(
            "{} of the {population} population records repeat audit records (same features and label: {}{}); the population should hold known non-members only, so thresholds calibrated on it are biased: remove them from the population",
            self.count,
            pairs.join(", "),
            if self.count > self.examples.len() {
                ", …"
            } else {
                ""
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn records(rows: &[[f32; 2]], labels: &[usize], prefix: &str) -> Records {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Records {
            source: prefix.to_string(),
            ids: (0..rows.len()).map(|i| format!("{prefix}{i}")).collect(),
            features: Array2::from_shape_vec((rows.len(), 2), flat)
                .unwrap()
                .into_dyn(),
            feature_names: Vec::new(),
            labels: labels.to_vec(),
            membership: None,
            classes: None,
            missing: None,
        }
    }

    #[test]
    fn repeated_records_are_found_by_content_not_by_id() {
        let audit = records(&[[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]], &[0, 1, 1], "a");
        let population = records(
            &[[3.0, 4.0], [5.0, 6.0], [-0.0, 1.0], [1.0, 2.0]],
            &[1, 0, 1, 1],
            "p",
        );
        let found = overlap(&audit, &population).unwrap();
        // [1, 2] has another label in the population: a different record.
        assert_eq!(found.count, 2);
        assert_eq!(
            found.examples,
            vec![
                ("a1".to_string(), "p0".to_string()),
                ("a2".to_string(), "p2".to_string())
            ]
        );
        assert!(
            found
                .describe(4)
                .starts_with("2 of the 4 population records repeat audit records")
        );
    }

    #[test]
    fn disjoint_sets_have_no_overlap() {
        let audit = records(&[[1.0, 2.0]], &[0], "a");
        let population = records(&[[1.0, 2.5]], &[0], "p");
        assert_eq!(overlap(&audit, &population), None);
    }
}
