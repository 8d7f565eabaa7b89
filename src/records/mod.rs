//! The audit set: records `(x_i, y_i)` with optional ids and ground-truth membership `m_i`,
//! read from CSV (with a [`RecordSchema`]) or from `.npy` arrays. Reading is from bytes so the
//! browser build shares it; [`read_file`] and [`read_csv_file`] are the native conveniences.
//!
//! Every value is checked on the way in (numbers, finiteness, label range, 0/1 membership,
//! unique ids) so that later stages never see a malformed record.

mod csv_reader;
mod csv_stream;
mod error;
pub mod fingerprint;
pub mod image_archive;
mod moments;
mod npy_reader;
pub mod overlap;
mod schema;

pub use csv_reader::sniff_delimiter;
pub use csv_stream::CsvStream;
pub use error::{Location, RecordsError};
pub use moments::feature_moments;
pub use npy_reader::NpyInputs;
pub(crate) use npy_reader::{read_labels, read_membership, try_read};
pub use schema::RecordSchema;

use ndarray::ArrayD;

/// An audit or population set, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Records {
    /// Where the records came from, for messages and the report.
    pub source: String,
    pub ids: Vec<String>,
    /// Shape `[N, ...]`: `[N, features]` for tabular data, `[N, C, H, W]` for images.
    pub features: ArrayD<f32>,
    /// Names of the feature columns (CSV) or empty (NPY).
    pub feature_names: Vec<String>,
    /// Class index of every record.
    pub labels: Vec<usize>,
    /// Ground-truth membership, when known.
    pub membership: Option<Vec<bool>>,
    /// Class names in model output order, when the labels were given as names.
    pub classes: Option<Vec<String>>,
    /// Where the first missing feature value (NaN) is, when any is.
    pub missing: Option<Location>,
}

impl Records {
    /// Reads records from CSV bytes; `file` names the source in error messages.
    pub fn from_csv(
        bytes: &[u8],
        file: &str,
        schema: &RecordSchema,
    ) -> Result<Records, RecordsError> {
        csv_reader::read(bytes, file, schema)
    }

    /// Reads records from `.npy` arrays.
    pub fn from_npy(inputs: &NpyInputs<'_>) -> Result<Records, RecordsError> {
        npy_reader::read(inputs)
    }

    /// Reads only a `.npy` feature array `[N, ...]` (float32, float64, or uint8 pixels ÷ 255),
    /// for commands that need no labels.
    pub fn features_from_npy(file: &str, bytes: &[u8]) -> Result<ArrayD<f32>, RecordsError> {
        npy_reader::read_features(file, bytes)
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Shape of one record (the feature shape without the leading record axis).
    pub fn record_shape(&self) -> &[usize] {
        &self.features.shape()[1..]
    }

    /// Numbers of (members, non-members) when membership is known.
    pub fn membership_counts(&self) -> Option<(usize, usize)> {
        self.membership.as_ref().map(|m| {
            let members = m.iter().filter(|&&b| b).count();
            (members, m.len() - members)
        })
    }

    /// Checks records meant as population data hold no known member.
    pub fn check_population(&self) -> Result<(), RecordsError> {
        match self.membership_counts() {
            Some((count, _)) if count > 0 => Err(RecordsError::PopulationHasMembers {
                file: self.source.clone(),
                count,
            }),
            _ => Ok(()),
        }
    }

    /// Checks no feature value is missing, unless the model reading them imputes missing
    /// values (`imputes`: an ONNX-ML Imputer, or a tree ensemble's missing-value branches).
    pub fn check_complete(&self, imputes: bool) -> Result<(), RecordsError> {
        match &self.missing {
            Some(at) if !imputes => Err(RecordsError::MissingValue { at: at.clone() }),
            _ => Ok(()),
        }
    }

    /// Checks every label is a valid class of a model with `classes` outputs.
    pub fn check_labels(&self, classes: usize) -> Result<(), RecordsError> {
        if let Some(names) = &self.classes
            && names.len() != classes
        {
            return Err(RecordsError::ClassListMismatch {
                file: self.source.clone(),
                names: names.len(),
                classes,
            });
        }
        match self.labels.iter().position(|&l| l >= classes) {
            Some(i) => Err(RecordsError::LabelOutOfRange {
                file: self.source.clone(),
                id: self.ids[i].clone(),
                label: self.labels[i],
                classes,
            }),
            None => Ok(()),
        }
    }
}

/// Reads a whole file, with an error that names the path.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, RecordsError> {
    std::fs::read(path).map_err(|source| RecordsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Reads a CSV file in chunks (its text is never held whole), with the SHA-256 of its bytes.
pub fn read_csv_file(
    path: &std::path::Path,
    file: &str,
    schema: &RecordSchema,
) -> Result<(Records, String), RecordsError> {
    use std::io::Read;
    let failed = |source| RecordsError::Read {
        path: path.display().to_string(),
        source,
    };
    let mut reader = std::fs::File::open(path).map_err(failed)?;
    let mut stream = CsvStream::new(file, schema)?;
    if let Ok(meta) = reader.metadata() {
        stream.expect_bytes(meta.len());
    }
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let read = reader.read(&mut chunk).map_err(failed)?;
        if read == 0 {
            return stream.finish();
        }
        stream.push(&chunk[..read])?;
    }
}

/// Checks ids are non-empty and unique; `locate(i)` says where record `i` came from.
pub(crate) fn check_ids(
    ids: &[String],
    locate: impl Fn(usize) -> Location,
) -> Result<(), RecordsError> {
    let mut seen = std::collections::HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        if id.is_empty() {
            return Err(RecordsError::EmptyId { at: locate(i) });
        }
        if let Some(first) = seen.insert(id.as_str(), i) {
            let first = locate(first).position();
            return Err(RecordsError::DuplicateId {
                at: locate(i),
                id: id.clone(),
                first,
            });
        }
    }
    Ok(())
}
