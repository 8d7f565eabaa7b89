//! Reading a keep-mask: which audit records each reference model trained on. Two layouts,
//! both from bytes so the CLI and the page share them:
//!
//! - NPY, shape `[models, records]` as LiRA's and ML Privacy Meter's code save it, bool or
//!   0/1 integers, models in the order they are given;
//! - CSV with a header naming each reference model's file and one row per audit record,
//!   values `0`/`1`/`true`/`false`; the header fixes which column is which model.
//!
//! The engine itself stores the mask as `[records, models]`.

use crate::records::try_read;
use ndarray::{Array2, ArrayD, Ix2};
use ndarray_npy::ReadNpyError;
use thiserror::Error;

/// A keep-mask that cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum KeepMaskError {
    #[error("{file}: {message}")]
    Npy { file: String, message: String },
    #[error(
        "{file} has shape {found:?} but {models} reference models and {records} audit records need [{models}, {records}] (models × records)"
    )]
    Shape {
        file: String,
        models: usize,
        records: usize,
        found: Vec<usize>,
    },
    #[error("{file}, {place}: '{value}' is not a keep bit (0, 1, true or false)")]
    Value {
        file: String,
        place: String,
        value: String,
    },
    #[error("{file}: {message}")]
    Csv { file: String, message: String },
    #[error(
        "{file} has {found} record rows but there are {expected} audit records; one row per audit record, in the same order"
    )]
    Rows {
        file: String,
        expected: usize,
        found: usize,
    },
    #[error(
        "{file}: no column for reference model '{model}'; the header must name every model file"
    )]
    MissingModel { file: String, model: String },
    #[error("{file}: column '{column}' names no reference model (models: {models})")]
    UnknownColumn {
        file: String,
        column: String,
        models: String,
    },
}

/// Reads an NPY keep-mask of shape `[models, records]` into `[records, models]`.
pub fn from_npy(
    file: &str,
    bytes: &[u8],
    models: usize,
    records: usize,
) -> Result<Array2<bool>, KeepMaskError> {
    let npy = |e: ReadNpyError| KeepMaskError::Npy {
        file: file.to_string(),
        message: e.to_string(),
    };
    let values: ArrayD<bool> = match try_read::<bool>(bytes).map_err(npy)? {
        Some(a) => a,
        None => integers_as_bits(file, bytes).map_err(|e| e.unwrap_or_else(npy))?,
    };
    let shape = values.shape().to_vec();
    let wrong_shape = || KeepMaskError::Shape {
        file: file.to_string(),
        models,
        records,
        found: shape.clone(),
    };
    let matrix = values
        .into_dimensionality::<Ix2>()
        .map_err(|_| wrong_shape())?;
    if matrix.dim() != (models, records) {
        return Err(wrong_shape());
    }
    Ok(matrix.t().to_owned())
}

fn integers_as_bits(
    file: &str,
    bytes: &[u8],
) -> Result<ArrayD<bool>, Result<KeepMaskError, ReadNpyError>> {
    macro_rules! try_types {
        ($($t:ty),*) => {$(
            if let Some(a) = try_read::<$t>(bytes).map_err(Err)? {
                let mut bad = None;
                let bits = a.iter().enumerate().map(|(at, &v)| match v {
                    0 => false,
                    1 => true,
                    _ => {
                        bad.get_or_insert((at, v.to_string()));
                        false
                    }
                }).collect::<Vec<bool>>();
                if let Some((at, value)) = bad {
                    return Err(Ok(KeepMaskError::Value {
                        file: file.to_string(),
                        place: format!("entry {at} (row-major)"),
                        value,
                    }));
                }
                return Ok(ArrayD::from_shape_vec(a.shape(), bits).expect("same shape"));
            }
        )*};
    }
    try_types!(u8, i8, i16, u16, i32, u32, i64, u64);
    Err(Ok(KeepMaskError::Npy {
        file: file.to_string(),
        message: "a keep-mask must hold bool or 0/1 integers".to_string(),
    }))
}

/// Reads a CSV keep-mask whose header names the models, into `[records, models]` with the
/// columns in `model_names` order.
pub fn from_csv(
    file: &str,
    bytes: &[u8],
    model_names: &[String],
    records: usize,
) -> Result<Array2<bool>, KeepMaskError> {
    let csv_error = |e: csv::Error| KeepMaskError::Csv {
        file: file.to_string(),
        message: e.to_string(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .delimiter(crate::records::sniff_delimiter(bytes))
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(str::to_string)
        .collect();
    if let Some(column) = header.iter().find(|c| !model_names.contains(c)) {
        return Err(KeepMaskError::UnknownColumn {
            file: file.to_string(),
            column: column.clone(),
            models: model_names.join(", "),
        });
    }
    let columns = model_names
        .iter()
        .map(|m| {
            header
                .iter()
                .position(|c| c == m)
                .ok_or_else(|| KeepMaskError::MissingModel {
                    file: file.to_string(),
                    model: m.clone(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut keep = Vec::with_capacity(records * model_names.len());
    let mut rows = 0;
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(csv_error)?;
        for &c in &columns {
            let value = record.get(c).unwrap_or("");
            keep.push(match value.to_ascii_lowercase().as_str() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(KeepMaskError::Value {
                        file: file.to_string(),
                        place: format!("record row {}, column '{}'", row + 1, header[c]),
                        value: value.to_string(),
                    });
                }
            });
        }
        rows += 1;
    }
    if rows != records {
        return Err(KeepMaskError::Rows {
            file: file.to_string(),
            expected: records,
            found: rows,
        });
    }
    Ok(Array2::from_shape_vec((records, model_names.len()), keep).expect("rows × models"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use ndarray_npy::WriteNpyExt;

    fn npy<A: WriteNpyExt>(a: &A) -> Vec<u8> {
        let mut bytes = Vec::new();
        a.write_npy(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn npy_masks_are_models_by_records_and_come_back_transposed() {
        let bits = array![[true, false, true], [false, false, true]];
        let expected = bits.t().to_owned();
        assert_eq!(from_npy("k.npy", &npy(&bits), 2, 3).unwrap(), expected);
        let ints = bits.mapv(u8::from);
        assert_eq!(from_npy("k.npy", &npy(&ints), 2, 3).unwrap(), expected);
        let err = from_npy("k.npy", &npy(&bits), 3, 2).unwrap_err();
        assert!(err.to_string().contains("[3, 2]"), "{err}");
        let err = from_npy("k.npy", &npy(&array![[0i64, 2]]), 1, 2).unwrap_err();
        assert!(err.to_string().contains("'2'"), "{err}");
        assert!(from_npy("k.npy", b"not npy", 1, 1).is_err());
    }

    #[test]
    fn csv_columns_are_matched_to_models_by_name() {
        let names = vec!["a.onnx".to_string(), "b.onnx".to_string()];
        let text = b"b.onnx,a.onnx\n1,0\n0,true\n";
        assert_eq!(
            from_csv("k.csv", text, &names, 2).unwrap(),
            array![[false, true], [true, false]]
        );
        let err = from_csv("k.csv", text, &names, 3).unwrap_err();
        assert!(err.to_string().contains("3 audit records"), "{err}");
        let err = from_csv("k.csv", b"a.onnx\n1\n", &names, 1).unwrap_err();
        assert!(err.to_string().contains("'b.onnx'"), "{err}");
        let err = from_csv("k.csv", b"a.onnx,b.onnx,c\n1,0,1\n", &names, 1).unwrap_err();
        assert!(err.to_string().contains("'c'"), "{err}");
        let err = from_csv("k.csv", b"a.onnx,b.onnx\n1,yes\n", &names, 1).unwrap_err();
        assert!(err.to_string().contains("'yes'"), "{err}");
    }
}
