//! Reading a keep-mask: which audit records each reference model trained on. Two layouts,
//! both from bytes so the CLI and the page share them:
//!
//! - NPY, shape `[models, records]` as LiRA's and ML Privacy Meter's code save it, bool or
//!   0/1 integers, models in the order they are given;
//! - CSV with a header naming each reference model's file and one row per audit record,
//!   values `0`/`1`/`true`/`false`; the header fixes which column is which model. With an
//!   `id` column, rows are matched to audit records by id, in any order, and a mask written
//!   for other records is refused with how many and which ids do not match (the mistake
//!   peers' users made: references trained before the audit set changed).
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
    #[error(
        "{file} describes other records than the audit set: {unknown} of its rows name records not in it (e.g. {unknown_ids}) and {missing} audit records have no row (e.g. {missing_ids})"
    )]
    OtherRecords {
        file: String,
        unknown: usize,
        unknown_ids: String,
        missing: usize,
        missing_ids: String,
    },
    #[error("{file}: record '{id}' has two rows")]
    RepeatedRecord { file: String, id: String },
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
/// columns in `model_names` order and the rows in the order of the audit records' `ids`
/// (matched by its `id` column when it has one, else taken in order).
pub fn from_csv(
    file: &str,
    bytes: &[u8],
    model_names: &[String],
    ids: &[String],
) -> Result<Array2<bool>, KeepMaskError> {
    let records = ids.len();
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
    let id_column = header.iter().position(|c| c == "id");
    if let Some(column) = header
        .iter()
        .find(|c| *c != "id" && !model_names.contains(c))
    {
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
    let mut row_ids = Vec::new();
    let mut rows = 0;
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(csv_error)?;
        if let Some(c) = id_column {
            row_ids.push(record.get(c).unwrap_or("").to_string());
        }
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
    if id_column.is_some() {
        return by_id(file, &keep, &row_ids, model_names.len(), ids);
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

/// The rows of `keep` (one per entry of `row_ids`) placed in the order of the audit `ids`.
fn by_id(
    file: &str,
    keep: &[bool],
    row_ids: &[String],
    models: usize,
    ids: &[String],
) -> Result<Array2<bool>, KeepMaskError> {
    let at: std::collections::HashMap<&str, usize> = row_ids
        .iter()
        .enumerate()
        .map(|(row, id)| (id.as_str(), row))
        .collect();
    if at.len() < row_ids.len() {
        let mut seen = std::collections::HashSet::new();
        let id = row_ids.iter().find(|id| !seen.insert(id.as_str()));
        return Err(KeepMaskError::RepeatedRecord {
            file: file.to_string(),
            id: id.cloned().unwrap_or_default(),
        });
    }
    let audit: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let unknown: Vec<&str> = row_ids
        .iter()
        .map(String::as_str)
        .filter(|id| !audit.contains(id))
        .collect();
    let missing: Vec<&str> = ids
        .iter()
        .map(String::as_str)
        .filter(|id| !at.contains_key(id))
        .collect();
    if !unknown.is_empty() || !missing.is_empty() {
        let some = |v: &[&str]| match v.len() {
            0 => "none".to_string(),
            n => v[..n.min(3)].join(", "),
        };
        return Err(KeepMaskError::OtherRecords {
            file: file.to_string(),
            unknown: unknown.len(),
            unknown_ids: some(&unknown),
            missing: missing.len(),
            missing_ids: some(&missing),
        });
    }
    let mut out = Array2::from_elem((ids.len(), models), false);
    for (i, id) in ids.iter().enumerate() {
        let row = at[id.as_str()];
        for m in 0..models {
            out[[i, m]] = keep[row * models + m];
        }
    }
    Ok(out)
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

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("r{i}")).collect()
    }

    #[test]
    fn an_id_column_matches_rows_to_records_and_refuses_other_records() {
        let names = vec!["a.onnx".to_string(), "b.onnx".to_string()];
        let shuffled = b"id,a.onnx,b.onnx\nr1,0,1\nr0,1,0\nr2,1,1\n";
        assert_eq!(
            from_csv("k.csv", shuffled, &names, &ids(3)).unwrap(),
            array![[true, false], [false, true], [true, true]]
        );
        let other = b"id,a.onnx,b.onnx\nr0,1,0\nx9,0,1\nx8,1,1\n";
        let err = from_csv("k.csv", other, &names, &ids(3)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "k.csv describes other records than the audit set: 2 of its rows name records not in it (e.g. x9, x8) and 2 audit records have no row (e.g. r1, r2)"
        );
        let twice = b"id,a.onnx,b.onnx\nr0,1,0\nr0,0,1\nr1,1,1\n";
        let err = from_csv("k.csv", twice, &names, &ids(3)).unwrap_err();
        assert!(err.to_string().contains("'r0' has two rows"), "{err}");
    }

    #[test]
    fn records_without_ids_are_matched_by_content() {
        use crate::records::{RecordSchema, Records};
        let schema = RecordSchema::default();
        let read = |text: &str| Records::from_csv(text.as_bytes(), "a.csv", &schema).unwrap();
        let first = read("x,label\n0.5,0\n1.5,1\n2.5,1\n");
        let names = vec!["m.onnx".to_string()];
        let mask = format!(
            "id,m.onnx\n{},1\n{},0\n{},1\n",
            first.ids[0], first.ids[1], first.ids[2]
        );
        // The same records in another order: each keeps its row of the mask.
        let reordered = read("x,label\n2.5,1\n0.5,0\n1.5,1\n");
        assert_eq!(
            from_csv("k.csv", mask.as_bytes(), &names, &reordered.ids).unwrap(),
            array![[true], [true], [false]]
        );
        // One record changed since the mask was written: named by its new id.
        let changed = read("x,label\n0.5,0\n1.75,1\n2.5,1\n");
        let err = from_csv("k.csv", mask.as_bytes(), &names, &changed.ids).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&changed.ids[1]) && text.contains(&first.ids[1]),
            "{text}"
        );
    }

    #[test]
    fn csv_columns_are_matched_to_models_by_name() {
        let names = vec!["a.onnx".to_string(), "b.onnx".to_string()];
        let text = b"b.onnx,a.onnx\n1,0\n0,true\n";
        assert_eq!(
            from_csv("k.csv", text, &names, &ids(2)).unwrap(),
            array![[false, true], [true, false]]
        );
        let err = from_csv("k.csv", text, &names, &ids(3)).unwrap_err();
        assert!(err.to_string().contains("3 audit records"), "{err}");
        let err = from_csv("k.csv", b"a.onnx\n1\n", &names, &ids(1)).unwrap_err();
        assert!(err.to_string().contains("'b.onnx'"), "{err}");
        let err = from_csv("k.csv", b"a.onnx,b.onnx,c\n1,0,1\n", &names, &ids(1)).unwrap_err();
        assert!(err.to_string().contains("'c'"), "{err}");
        let err = from_csv("k.csv", b"a.onnx,b.onnx\n1,yes\n", &names, &ids(1)).unwrap_err();
        assert!(err.to_string().contains("'yes'"), "{err}");
    }
}
