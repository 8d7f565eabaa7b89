//! Records from `.npy` arrays: features `[N, ...]` (float32, float64, or uint8 pixels that
//! are divided by 255 as image pipelines do), labels `[N]` (any integer type), optional
//! membership `[N]` (bool or 0/1 integers) and optional record ids (a text file, one per line).

use super::{Location, Records, RecordsError, check_ids};
use ndarray::{ArrayD, Ix1};
use ndarray_npy::{ReadNpyError, ReadNpyExt, ReadableElement};

/// Named `.npy` byte buffers that together make a record set.
pub struct NpyInputs<'a> {
    pub features: (&'a str, &'a [u8]),
    pub labels: (&'a str, &'a [u8]),
    pub membership: Option<(&'a str, &'a [u8])>,
    /// Record ids, one per line (UTF-8 text); ids from each record's content when absent
    /// ([`super::fingerprint::content_ids`]).
    pub ids: Option<(&'a str, &'a [u8])>,
    /// Class names in model output order, if known.
    pub classes: Option<Vec<String>>,
}

pub(super) fn read(inputs: &NpyInputs<'_>) -> Result<Records, RecordsError> {
    let (file, bytes) = inputs.features;
    let features = read_features(file, bytes)?;
    if features.ndim() < 2 {
        return Err(npy_error(
            file,
            format!(
                "features must have shape [records, ...], got {:?}",
                features.shape()
            ),
        ));
    }
    let n = features.shape()[0];
    if n == 0 {
        return Err(RecordsError::NoRecords {
            file: file.to_string(),
        });
    }
    let per_record = features.len() / n;
    if let Some((i, v)) = features.iter().enumerate().find(|(_, v)| v.is_infinite()) {
        return Err(RecordsError::NonFinite {
            at: Location::entry(file, i / per_record),
            value: f64::from(*v),
        });
    }
    let missing = features
        .iter()
        .position(|v| v.is_nan())
        .map(|i| Location::entry(file, i / per_record));

    let (labels_file, labels_bytes) = inputs.labels;
    let labels = read_labels(labels_file, labels_bytes)?;
    check_count(labels_file, n, labels.len())?;

    let membership = match inputs.membership {
        None => None,
        Some((m_file, m_bytes)) => {
            let raw = read_membership(m_file, m_bytes)?;
            check_count(m_file, n, raw.len())?;
            Some(raw)
        }
    };
    let ids = match inputs.ids {
        None => super::fingerprint::content_ids(&features, &labels),
        Some((ids_file, ids_bytes)) => {
            let ids = read_id_lines(ids_file, ids_bytes)?;
            check_count(ids_file, n, ids.len())?;
            check_ids(&ids, |i| Location::entry(ids_file, i))?;
            ids
        }
    };
    check_ids(&ids, |i| Location::entry(file, i))?;
    Ok(Records {
        source: file.to_string(),
        ids,
        features,
        feature_names: Vec::new(),
        labels,
        membership,
        classes: inputs.classes.clone(),
        missing,
    })
}

pub(super) fn read_features(file: &str, bytes: &[u8]) -> Result<ArrayD<f32>, RecordsError> {
    match try_read::<f32>(bytes) {
        Ok(Some(a)) => return Ok(a),
        Ok(None) => {}
        Err(e) => return Err(npy_error(file, e.to_string())),
    }
    match try_read::<f64>(bytes) {
        Ok(Some(a)) => return Ok(a.mapv(|v| v as f32)),
        Ok(None) => {}
        Err(e) => return Err(npy_error(file, e.to_string())),
    }
    match try_read::<u8>(bytes) {
        Ok(Some(a)) => Ok(a.mapv(|v| f32::from(v) / 255.0)),
        Ok(None) => Err(npy_error(
            file,
            "features must be float32, float64 or uint8 (pixels)".to_string(),
        )),
        Err(e) => Err(npy_error(file, e.to_string())),
    }
}

/// One id per line; a trailing newline and Windows line ends are allowed.
fn read_id_lines(file: &str, bytes: &[u8]) -> Result<Vec<String>, RecordsError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| npy_error(file, format!("ids must be UTF-8 text, one per line: {e}")))?;
    Ok(text
        .strip_suffix('\n')
        .unwrap_or(text)
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line).to_string())
        .filter(|_| !text.is_empty())
        .collect())
}

/// A `.npy` vector of class indices (any integer type).
pub(crate) fn read_labels(file: &str, bytes: &[u8]) -> Result<Vec<usize>, RecordsError> {
    read_integers(file, bytes)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            usize::try_from(v).map_err(|_| RecordsError::BadLabel {
                at: Location::entry(file, i),
                value: v.to_string(),
            })
        })
        .collect()
}

fn read_integers(file: &str, bytes: &[u8]) -> Result<Vec<i128>, RecordsError> {
    macro_rules! try_types {
        ($($t:ty),*) => {$(
            match try_read::<$t>(bytes) {
                Ok(Some(a)) => return to_vec1(file, a).map(|v| v.into_iter().map(i128::from).collect()),
                Ok(None) => {}
                Err(e) => return Err(npy_error(file, e.to_string())),
            }
        )*};
    }
    try_types!(i64, i32, i16, i8, u64, u32, u16, u8);
    Err(npy_error(
        file,
        "labels must be an integer array".to_string(),
    ))
}

pub(crate) fn read_membership(file: &str, bytes: &[u8]) -> Result<Vec<bool>, RecordsError> {
    match try_read::<bool>(bytes) {
        Ok(Some(a)) => return to_vec1(file, a),
        Ok(None) => {}
        Err(e) => return Err(npy_error(file, e.to_string())),
    }
    read_integers(file, bytes)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(RecordsError::BadMembership {
                at: Location::entry(file, i),
                value: v.to_string(),
            }),
        })
        .collect()
}

/// Reads an array of element type `T`; `Ok(None)` when the file holds another type.
pub(crate) fn try_read<T: ReadableElement>(
    bytes: &[u8],
) -> Result<Option<ArrayD<T>>, ReadNpyError> {
    match ArrayD::<T>::read_npy(bytes) {
        Ok(a) => Ok(Some(a)),
        Err(ReadNpyError::WrongDescriptor(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn to_vec1<T: Clone>(file: &str, a: ArrayD<T>) -> Result<Vec<T>, RecordsError> {
    let shape = a.shape().to_vec();
    a.into_dimensionality::<Ix1>()
        .map(|a| a.to_vec())
        .map_err(|_| {
            npy_error(
                file,
                format!("expected a one-dimensional array, got shape {shape:?}"),
            )
        })
}

fn check_count(file: &str, expected: usize, found: usize) -> Result<(), RecordsError> {
    if expected == found {
        Ok(())
    } else {
        Err(RecordsError::CountMismatch {
            what: file.to_string(),
            expected,
            found,
        })
    }
}

fn npy_error(file: &str, message: String) -> RecordsError {
    RecordsError::Npy {
        file: file.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array3};
    use ndarray_npy::{WritableElement, WriteNpyExt};

    fn npy<A: WriteNpyExt>(a: &A) -> Vec<u8> {
        let mut bytes = Vec::new();
        a.write_npy(&mut bytes).unwrap();
        bytes
    }

    fn labels<T: WritableElement + Clone>(values: &[T]) -> Vec<u8> {
        npy(&Array1::from(values.to_vec()))
    }

    fn read_with(features: &[u8], ids: Option<&[u8]>) -> Result<Records, RecordsError> {
        read(&NpyInputs {
            features: ("x.npy", features),
            labels: ("y.npy", &labels(&[0i64, 1])),
            membership: None,
            ids: ids.map(|b| ("ids.txt", b)),
            classes: None,
        })
    }

    #[test]
    fn uint8_pixels_are_divided_by_255_as_float32() {
        let pixels = Array3::from_shape_vec((2, 1, 3), vec![0u8, 128, 255, 1, 2, 3]).unwrap();
        let records = read_with(&npy(&pixels), None).unwrap();
        let got: Vec<f32> = records.features.iter().copied().collect();
        let want: Vec<f32> = [0u8, 128, 255, 1, 2, 3]
            .iter()
            .map(|&v| f32::from(v) / 255.0)
            .collect();
        assert_eq!(got, want);
        assert_eq!(records.features[[0, 0, 2]], 1.0);
    }

    #[test]
    fn ids_come_from_a_text_file_with_any_line_end() {
        let features = npy(&ndarray::Array2::<f32>::zeros((2, 3)));
        let records = read_with(&features, Some(b"alice\r\nbob\n")).unwrap();
        assert_eq!(records.ids, ["alice", "bob"]);
        let err = read_with(&features, Some(b"alice\n")).unwrap_err();
        assert!(matches!(err, RecordsError::CountMismatch { .. }), "{err}");
        let err = read_with(&features, Some(b"alice\nalice\n")).unwrap_err();
        assert!(matches!(err, RecordsError::DuplicateId { .. }), "{err}");
    }

    #[test]
    fn integer_features_other_than_uint8_are_refused_by_name() {
        let features = npy(&ndarray::Array2::<i32>::zeros((2, 3)));
        let err = read_with(&features, None).unwrap_err();
        assert!(err.to_string().contains("uint8"), "{err}");
    }
}
