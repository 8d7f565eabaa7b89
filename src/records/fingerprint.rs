//! A record's identity by its content (label and features), for record sets that name no
//! ids: two sets, or two versions of one set, then name the same record alike whatever row it
//! sits in, so that a keep-mask written for other records, or a population that repeats audit
//! records, is caught by id and the report names the records.

use ndarray::{ArrayD, ArrayViewD, Axis};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// SHA-256 of the label and the features' float32 bits (−0 as 0), truncated to 16 bytes.
pub fn fingerprint(features: ArrayViewD<'_, f32>, label: usize) -> [u8; 16] {
    let mut hash = Sha256::new();
    hash.update((label as u64).to_le_bytes());
    for v in features {
        hash.update((v + 0.0).to_bits().to_le_bytes());
    }
    let digest = hash.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// One id per record: the first 8 bytes of its fingerprint in hex; a record that repeats an
/// earlier one's content gets `-2`, `-3`, … after it, so ids stay unique.
pub fn content_ids(features: &ArrayD<f32>, labels: &[usize]) -> Vec<String> {
    let mut seen: HashMap<[u8; 16], usize> = HashMap::with_capacity(labels.len());
    labels
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            let print = fingerprint(features.index_axis(Axis(0), i), label);
            let hex = crate::report::hex(&print[..8]);
            let count = seen.entry(print).or_insert(0);
            *count += 1;
            match *count {
                1 => hex,
                n => format!("{hex}-{n}"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ids_follow_content_not_position_and_repeats_stay_unique() {
        let a = array![[1.0f32, 2.0], [3.0, 4.0], [1.0, 2.0], [-0.0, 1.0]].into_dyn();
        let ids = content_ids(&a, &[0, 1, 0, 1]);
        assert_eq!(ids[2], format!("{}-2", ids[0]));
        assert_eq!(ids[0].len(), 16);
        let b = array![[0.0f32, 1.0], [3.0, 4.0]].into_dyn();
        let moved = content_ids(&b, &[1, 1]);
        assert_eq!(
            (moved[0].as_str(), moved[1].as_str()),
            (ids[3].as_str(), ids[1].as_str())
        );
        assert_ne!(
            content_ids(&b, &[0, 1])[0],
            moved[0],
            "the label is part of a record"
        );
    }
}
