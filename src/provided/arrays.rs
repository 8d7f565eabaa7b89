//! Provided outputs as NumPy arrays (`.npy`, float32 or float64): the target's
//! `[records, classes]` logits or probabilities or `[records]` losses; the reference models'
//! `[models, records, classes]` or `[models, records]` (LiRA's `[models, records]` layout).

use super::{OutputSet, ProvidedError, Scores, index_ids};
use crate::records::{read_labels, read_membership, try_read};
use ndarray::{ArrayD, Axis, Ix1, Ix2};

/// A float array, float32 or float64.
pub(super) fn floats(file: &str, bytes: &[u8]) -> Result<ArrayD<f64>, ProvidedError> {
    let npy = |e: ndarray_npy::ReadNpyError| ProvidedError::content(file, e.to_string());
    if let Some(a) = try_read::<f64>(bytes).map_err(npy)? {
        return Ok(a);
    }
    match try_read::<f32>(bytes).map_err(npy)? {
        Some(a) => Ok(a.mapv(f64::from)),
        None => Err(ProvidedError::content(
            file,
            "outputs must be a float32 or float64 array",
        )),
    }
}

/// One model's outputs: `[records, classes]` class columns or `[records]` losses.
pub(super) fn scores_of(file: &str, values: ArrayD<f64>) -> Result<Scores, ProvidedError> {
    let shape = values.shape().to_vec();
    match shape.len() {
        1 => Ok(Scores::Losses(
            values.into_dimensionality::<Ix1>().expect("1-D").to_vec(),
        )),
        2 => Ok(Scores::Classes(
            values.into_dimensionality::<Ix2>().expect("2-D"),
        )),
        _ => Err(ProvidedError::Shape {
            file: file.to_string(),
            what: "the outputs".to_string(),
            expected: "[records, classes] (logits or probabilities) or [records] (losses)"
                .to_string(),
            found: shape,
        }),
    }
}

/// Reference models' outputs: `[models, records, classes]` or `[models, records]` losses.
pub(super) fn reference_scores_of(
    file: &str,
    values: ArrayD<f64>,
) -> Result<Vec<Scores>, ProvidedError> {
    let shape = values.shape().to_vec();
    if !(2..=3).contains(&shape.len()) || shape[0] == 0 {
        return Err(ProvidedError::Shape {
            file: file.to_string(),
            what: "the reference outputs".to_string(),
            expected: "[models, records, classes] or [models, records] (losses)".to_string(),
            found: shape,
        });
    }
    values
        .axis_iter(Axis(0))
        .map(|model| scores_of(file, model.to_owned()))
        .collect()
}

/// The target's outputs in a `.npy` file.
pub fn read_class_scores(file: &str, bytes: &[u8]) -> Result<Scores, ProvidedError> {
    scores_of(file, floats(file, bytes)?)
}

/// Reference models' outputs in a `.npy` file, one [`Scores`] per model.
pub fn read_reference_scores(file: &str, bytes: &[u8]) -> Result<Vec<Scores>, ProvidedError> {
    reference_scores_of(file, floats(file, bytes)?)
}

/// The target's outputs (`outputs`), the records' labels and, when known, their membership,
/// each a `(file name, bytes)` of `.npy`.
pub fn from_arrays(
    outputs: (&str, &[u8]),
    labels: (&str, &[u8]),
    membership: Option<(&str, &[u8])>,
) -> Result<OutputSet, ProvidedError> {
    let target = read_class_scores(outputs.0, outputs.1)?;
    let records = |e: crate::records::RecordsError| ProvidedError::content(labels.0, e.to_string());
    let label_values = read_labels(labels.0, labels.1).map_err(records)?;
    let membership = match membership {
        Some((file, bytes)) => Some(
            read_membership(file, bytes)
                .map_err(|e| ProvidedError::content(file, e.to_string()))?,
        ),
        None => None,
    };
    let set = OutputSet {
        ids: index_ids(label_values.len()),
        labels: label_values,
        membership,
        target,
        references: None,
    };
    check_counts(&set, outputs.0)?;
    Ok(set)
}

/// Every array of a set describes the same records.
pub(super) fn check_counts(set: &OutputSet, file: &str) -> Result<(), ProvidedError> {
    let n = set.labels.len();
    let mut counts = vec![("outputs", set.target.len())];
    if let Some(m) = &set.membership {
        counts.push(("membership values", m.len()));
    }
    if let Some(refs) = &set.references {
        counts.extend(refs.iter().map(|r| ("reference outputs", r.len())));
    }
    match counts.iter().find(|(_, c)| *c != n) {
        Some((what, c)) => Err(ProvidedError::content(
            file,
            format!("{c} {what} for {n} labels; every array needs one entry per record"),
        )),
        None if n == 0 => Err(ProvidedError::content(file, "no records")),
        None => Ok(()),
    }
}
