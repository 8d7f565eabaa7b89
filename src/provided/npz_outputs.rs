//! Provided outputs as one `.npz`, in either of two vocabularies:
//!
//! - TF Privacy's `AttackInputData` (what `np.savez(**vars(attack_input))` writes):
//!   `logits_train`/`logits_test`, or `probs_*`, or `loss_*`, with `labels_train`/
//!   `labels_test`. The audit records are the train records (members) then the test records.
//! - mialab's: `outputs` (`[records, classes]` or `[records]` losses), `labels`, optionally
//!   `membership`.
//!
//! Either may add `reference_outputs` (`[models, records, classes]` or `[models, records]`)
//! with `keep` (`[models, records]`), and `population_outputs`, `population_labels` and
//! `population_reference_outputs` for known non-members.

use super::arrays::{check_counts, floats, reference_scores_of, scores_of};
use super::{OutputSet, ProvidedError, ProvidedOutputs, Scores, index_ids};
use crate::model::OutputKindChoice;
use crate::provenance::Provenance;
use crate::records::{read_labels, read_membership};
use std::collections::BTreeMap;
use std::io::Read;

/// The most an `.npz` may unpack to (a deflated file can claim far more than it holds).
const MAX_UNPACKED_BYTES: u64 = 1 << 30;

/// The arrays of an `.npz`, by name (without `.npy`), as `.npy` bytes.
struct Arrays<'a> {
    file: &'a str,
    arrays: BTreeMap<String, Vec<u8>>,
}

impl Arrays<'_> {
    fn has(&self, name: &str) -> bool {
        self.arrays.contains_key(name)
    }

    fn bytes(&self, name: &str) -> Result<&[u8], ProvidedError> {
        self.arrays.get(name).map(Vec::as_slice).ok_or_else(|| {
            ProvidedError::content(
                self.file,
                format!(
                    "no array '{name}' (arrays: {})",
                    self.arrays.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    fn what(&self, name: &str) -> String {
        format!("{}:{name}", self.file)
    }

    fn scores(&self, name: &str) -> Result<Scores, ProvidedError> {
        let what = self.what(name);
        scores_of(&what, floats(&what, self.bytes(name)?)?)
    }

    fn labels(&self, name: &str) -> Result<Vec<usize>, ProvidedError> {
        let what = self.what(name);
        read_labels(&what, self.bytes(name)?)
            .map_err(|e| ProvidedError::content(&what, e.to_string()))
    }

    fn references(&self, name: &str) -> Result<Option<Vec<Scores>>, ProvidedError> {
        if !self.has(name) {
            return Ok(None);
        }
        let what = self.what(name);
        reference_scores_of(&what, floats(&what, self.bytes(name)?)?).map(Some)
    }
}

/// Reads the outputs in an `.npz`; `file` names it in messages.
pub fn from_npz(file: &str, bytes: &[u8]) -> Result<ProvidedOutputs, ProvidedError> {
    let arrays = Arrays {
        file,
        arrays: unzip(file, bytes)?,
    };
    let (mut audit, declared) = if arrays.has("labels_train") {
        tf_privacy(&arrays)?
    } else {
        let membership = match arrays.has("membership") {
            true => {
                let what = arrays.what("membership");
                Some(
                    read_membership(&what, arrays.bytes("membership")?)
                        .map_err(|e| ProvidedError::content(&what, e.to_string()))?,
                )
            }
            false => None,
        };
        let labels = arrays.labels("labels")?;
        let set = OutputSet {
            ids: index_ids(labels.len()),
            labels,
            membership,
            target: arrays.scores("outputs")?,
            references: None,
        };
        (set, OutputKindChoice::Auto)
    };
    audit.references = arrays.references("reference_outputs")?;
    check_counts(&audit, file)?;
    let keep = match (&audit.references, arrays.has("keep")) {
        (Some(refs), true) => Some(
            crate::keep_mask::from_npy(
                &arrays.what("keep"),
                arrays.bytes("keep")?,
                refs.len(),
                audit.len(),
            )
            .map_err(|e| ProvidedError::content(file, e.to_string()))?,
        ),
        (None, true) => {
            return Err(ProvidedError::content(
                file,
                "'keep' was given without 'reference_outputs'",
            ));
        }
        (_, false) => None,
    };
    let provenance = Provenance::of_bytes(file, bytes);
    let population = match arrays.has("population_outputs") {
        true => {
            let labels = arrays.labels("population_labels")?;
            let set = OutputSet {
                ids: index_ids(labels.len()),
                labels,
                membership: None,
                target: arrays.scores("population_outputs")?,
                references: arrays.references("population_reference_outputs")?,
            };
            check_counts(&set, file)?;
            Some((
                set,
                Provenance {
                    source: format!("{file} (population_outputs)"),
                    sha256: provenance.sha256.clone(),
                },
            ))
        }
        false => None,
    };
    Ok(ProvidedOutputs {
        reference_provenance: audit.references.as_ref().map(|_| Provenance {
            source: format!("{file} (reference_outputs, keep)"),
            sha256: provenance.sha256.clone(),
        }),
        provenance,
        audit,
        population,
        keep,
        declared,
    })
}

/// TF Privacy's train (members) and test (non-members) arrays as one audit set.
fn tf_privacy(arrays: &Arrays<'_>) -> Result<(OutputSet, OutputKindChoice), ProvidedError> {
    let (stem, declared) = [
        ("logits", OutputKindChoice::Logits),
        ("probs", OutputKindChoice::Probabilities),
        ("loss", OutputKindChoice::Auto),
    ]
    .into_iter()
    .find(|(stem, _)| arrays.has(&format!("{stem}_train")) && arrays.has(&format!("{stem}_test")))
    .ok_or_else(|| {
        ProvidedError::content(
            arrays.file,
            "TF Privacy's labels_train needs logits_train and logits_test (or probs_*, or loss_*)",
        )
    })?;
    let train = arrays.scores(&format!("{stem}_train"))?;
    let test = arrays.scores(&format!("{stem}_test"))?;
    let mut labels = arrays.labels("labels_train")?;
    let members = labels.len();
    labels.extend(arrays.labels("labels_test")?);
    if train.len() != members || test.len() != labels.len() - members {
        return Err(ProvidedError::content(
            arrays.file,
            format!(
                "{stem}_train has {} rows for {members} labels_train, {stem}_test {} for {} labels_test",
                train.len(),
                test.len(),
                labels.len() - members
            ),
        ));
    }
    let target = match (train, test) {
        (Scores::Classes(a), Scores::Classes(b)) if a.ncols() == b.ncols() => Scores::Classes(
            ndarray::concatenate(ndarray::Axis(0), &[a.view(), b.view()]).expect("same width"),
        ),
        (Scores::Losses(mut a), Scores::Losses(b)) => {
            a.extend(b);
            Scores::Losses(a)
        }
        _ => {
            return Err(ProvidedError::content(
                arrays.file,
                format!("{stem}_train and {stem}_test have different shapes"),
            ));
        }
    };
    let n = labels.len();
    Ok((
        OutputSet {
            ids: index_ids(n),
            membership: Some((0..n).map(|i| i < members).collect()),
            labels,
            target,
            references: None,
        },
        declared,
    ))
}

/// Every `.npy` entry of the archive, by name without the extension.
fn unzip(file: &str, bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, ProvidedError> {
    let error = |e: zip::result::ZipError| {
        ProvidedError::content(file, format!("not a readable .npz: {e}"))
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(error)?;
    let mut arrays = BTreeMap::new();
    let mut unpacked = 0u64;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(error)?;
        let Some(name) = entry.name().strip_suffix(".npy").map(str::to_string) else {
            continue;
        };
        let size = entry.size();
        unpacked = unpacked.saturating_add(size);
        if unpacked > MAX_UNPACKED_BYTES {
            return Err(ProvidedError::content(
                file,
                format!(
                    "the arrays unpack to more than {} MiB",
                    MAX_UNPACKED_BYTES >> 20
                ),
            ));
        }
        let mut data = Vec::new();
        // An entry is read no further than it says it is long.
        entry
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| ProvidedError::content(file, format!("array '{name}': {e}")))?;
        arrays.insert(name, data);
    }
    Ok(arrays)
}
