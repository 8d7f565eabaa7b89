//! Reading and writing the arrays of a signals file (NumPy `.npz`), each record set's under
//! its own prefix (`""` for the audit records, `"population_"` for the population), with
//! shape checks and errors that name the file and the array.

use ndarray::{ArrayBase, ArrayD, Data, Dimension};
use ndarray_npy::{NpzReader, NpzWriter, ReadNpzError, WritableElement, WriteNpzError};
use std::io::Cursor;
use thiserror::Error;

/// A signals file that cannot be written or read.
#[derive(Debug, Error)]
pub enum SignalsFileError {
    #[error("cannot write the signals file: {0}")]
    Write(#[from] WriteNpzError),
    #[error("{file} is not a readable .npz signals file: {message}")]
    Read { file: String, message: String },
    #[error("{file} is a '{found}' file; this mialab reads '{expected}'")]
    Format {
        file: String,
        found: String,
        expected: &'static str,
    },
    #[error("{file}: array '{name}' has shape {found:?}, expected {expected:?}")]
    Shape {
        file: String,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("{file}: {message}")]
    Content { file: String, message: String },
}

/// Where one record set's arrays are written.
pub struct NpzOut<'a> {
    npz: &'a mut NpzWriter<Cursor<Vec<u8>>>,
    prefix: &'a str,
}

impl<'a> NpzOut<'a> {
    pub fn new(npz: &'a mut NpzWriter<Cursor<Vec<u8>>>, prefix: &'a str) -> NpzOut<'a> {
        NpzOut { npz, prefix }
    }

    /// Adds `array` as `<prefix><name>`.
    pub fn add<S, D>(&mut self, name: &str, array: &ArrayBase<S, D>) -> Result<(), WriteNpzError>
    where
        S: Data,
        S::Elem: WritableElement,
        D: Dimension,
    {
        self.npz.add_array(format!("{}{name}", self.prefix), array)
    }
}

/// A signals file opened for reading.
pub struct NpzFile<'a> {
    file: &'a str,
    npz: NpzReader<Cursor<&'a [u8]>>,
    names: Vec<String>,
}

impl<'a> NpzFile<'a> {
    /// Opens `bytes`; `file` names it in messages.
    pub fn open(file: &'a str, bytes: &'a [u8]) -> Result<NpzFile<'a>, SignalsFileError> {
        let error = |e: ReadNpzError| SignalsFileError::Read {
            file: file.to_string(),
            message: e.to_string(),
        };
        let mut npz = NpzReader::new(Cursor::new(bytes)).map_err(error)?;
        let names = npz.names().map_err(error)?;
        Ok(NpzFile { file, npz, names })
    }

    pub fn name(&self) -> &'a str {
        self.file
    }

    /// The arrays of one record set.
    pub fn set<'f>(&'f mut self, prefix: &str) -> NpzIn<'f, 'a> {
        NpzIn {
            file: self,
            prefix: prefix.to_string(),
        }
    }
}

/// One record set's arrays of a file being read.
pub struct NpzIn<'f, 'a> {
    file: &'f mut NpzFile<'a>,
    prefix: String,
}

impl NpzIn<'_, '_> {
    fn full(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The file's name, as given when it was opened.
    pub fn file_name(&self) -> &str {
        self.file.file
    }

    pub fn has(&self, name: &str) -> bool {
        let full = self.full(name);
        self.file.names.contains(&full)
    }

    /// Reads `name` as an array of `D`, checking its shape when `expected` is given.
    pub fn array<T, D>(
        &mut self,
        name: &str,
        expected: Option<&[usize]>,
    ) -> Result<ndarray::Array<T, D>, SignalsFileError>
    where
        T: ndarray_npy::ReadableElement,
        D: Dimension,
    {
        let full = self.full(name);
        let file = self.file.file;
        let array: ArrayD<T> =
            self.file
                .npz
                .by_name(&full)
                .map_err(|e| SignalsFileError::Read {
                    file: file.to_string(),
                    message: format!("array '{full}': {e}"),
                })?;
        let found = array.shape().to_vec();
        let shape_error = |expected: Vec<usize>| SignalsFileError::Shape {
            file: file.to_string(),
            name: full.clone(),
            expected,
            found: found.clone(),
        };
        if let Some(expected) = expected
            && expected != found.as_slice()
        {
            return Err(shape_error(expected.to_vec()));
        }
        array
            .into_dimensionality::<D>()
            .map_err(|_| shape_error(vec![0; D::NDIM.unwrap_or(0)]))
    }

    /// A float64 vector of `n` values.
    pub fn vector(&mut self, name: &str, n: usize) -> Result<Vec<f64>, SignalsFileError> {
        Ok(self.array::<f64, ndarray::Ix1>(name, Some(&[n]))?.to_vec())
    }

    /// Class indices below `classes`, `n` of them.
    pub fn labels(
        &mut self,
        name: &str,
        n: Option<usize>,
        classes: usize,
    ) -> Result<Vec<usize>, SignalsFileError> {
        let expected = n.map(|n| [n]);
        let values: ndarray::Array1<i64> = self.array(name, expected.as_ref().map(|e| &e[..]))?;
        values
            .iter()
            .map(|&y| usize::try_from(y).ok().filter(|&y| y < classes).ok_or(y))
            .collect::<Result<Vec<usize>, i64>>()
            .map_err(|y| {
                self.content(format!(
                    "{} holds label {y}, outside 0..{classes}",
                    self.full(name)
                ))
            })
    }

    /// An error about this file's content.
    pub fn content(&self, message: impl Into<String>) -> SignalsFileError {
        SignalsFileError::Content {
            file: self.file.file.to_string(),
            message: message.into(),
        }
    }
}
