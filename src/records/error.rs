//! Errors raised while reading records; each names the file and where in it.

use std::fmt;
use thiserror::Error;

/// Where in an input a problem is: file, line (CSV) or entry (NPY), and column. Boxed so
/// that errors carrying it stay small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location(Box<Place>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Place {
    file: String,
    line: Option<u64>,
    entry: Option<usize>,
    column: Option<(usize, String)>,
}

impl Location {
    pub fn file(file: &str) -> Location {
        Location(Box::new(Place {
            file: file.to_string(),
            line: None,
            entry: None,
            column: None,
        }))
    }

    pub fn line(file: &str, line: u64) -> Location {
        let mut at = Location::file(file);
        at.0.line = Some(line);
        at
    }

    pub fn entry(file: &str, entry: usize) -> Location {
        let mut at = Location::file(file);
        at.0.entry = Some(entry);
        at
    }

    /// Adds a column (0-based index, header name); shown 1-based as a person counts.
    pub fn column(mut self, index: usize, name: &str) -> Location {
        self.0.column = Some((index, name.to_string()));
        self
    }

    /// "line N" or "entry N", without the file.
    pub fn position(&self) -> String {
        match (self.0.line, self.0.entry) {
            (Some(line), _) => format!("line {line}"),
            (None, Some(entry)) => format!("entry {entry}"),
            (None, None) => "the start".to_string(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = &self.0;
        write!(f, "{}", place.file)?;
        if let Some(line) = place.line {
            write!(f, ", line {line}")?;
        }
        if let Some(entry) = place.entry {
            write!(f, ", entry {entry}")?;
        }
        if let Some((index, name)) = &place.column {
            write!(f, ", column {} ('{name}')", index + 1)?;
        }
        Ok(())
    }
}

/// A problem with an audit or population set.
#[derive(Debug, Error)]
pub enum RecordsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{file} is empty: expected a header line and at least one record")]
    Empty { file: String },
    #[error("{file} has a header but no records")]
    NoRecords { file: String },
    #[error("{at}: {message}")]
    Csv { at: Location, message: String },
    #[error("{file}: {message}")]
    Archive { file: String, message: String },
    #[error("{at}: the row has {found} cells but the header has {expected}")]
    RaggedRow {
        at: Location,
        expected: usize,
        found: usize,
    },
    #[error("{file} has no {role} column '{column}'; its columns are: {available}")]
    MissingColumn {
        file: String,
        role: &'static str,
        column: String,
        available: String,
    },
    #[error("{file} names column '{column}' twice in its header")]
    DuplicateColumn { file: String, column: String },
    #[error("{at}: '{value}' is not a number")]
    NotNumber { at: Location, value: String },
    #[error(
        "{at}: a feature value is missing (an empty cell or NaN) and the model does not impute missing values (it has no Imputer and is not a tree ensemble); remove or impute them first, or export the pipeline with its SimpleImputer"
    )]
    MissingValue { at: Location },
    #[error("{at}: feature value {value} is not finite; remove or replace it first")]
    NonFinite { at: Location, value: f64 },
    #[error("{at}: label '{value}' is not in the class list [{classes}]")]
    UnknownClass {
        at: Location,
        value: String,
        classes: String,
    },
    #[error(
        "{at}: label '{value}' is not a class index (a whole number from 0); give a class list to map names"
    )]
    BadLabel { at: Location, value: String },
    #[error("{at}: membership '{value}' must be 0 or 1")]
    BadMembership { at: Location, value: String },
    #[error("{at}: id '{id}' was already used on {first}; ids must be unique")]
    DuplicateId {
        at: Location,
        id: String,
        first: String,
    },
    #[error("{at}: id is empty")]
    EmptyId { at: Location },
    #[error(
        "record '{id}' ({file}) has label {label}, but the model has only {classes} classes (0..{classes})"
    )]
    LabelOutOfRange {
        file: String,
        id: String,
        label: usize,
        classes: usize,
    },
    #[error("the class list of {file} has {names} names but the model has {classes} classes")]
    ClassListMismatch {
        file: String,
        names: usize,
        classes: usize,
    },
    #[error("{file}: {message}")]
    Npy { file: String, message: String },
    #[error("{what} has {found} entries but the features have {expected} records")]
    CountMismatch {
        what: String,
        expected: usize,
        found: usize,
    },
    #[error(
        "{file} is the population (known non-members), but {count} of its records are marked as members"
    )]
    PopulationHasMembers { file: String, count: usize },
    #[error("the schema is not valid JSON: {0}")]
    Schema(String),
    #[error("{file} has {found} classes in its class list; a class list needs at least 2")]
    TooFewClasses { file: String, found: usize },
}
