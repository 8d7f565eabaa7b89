//! CSV records: a header line, one record per line, columns assigned by a [`RecordSchema`].
//! The separator is read off the header (comma, semicolon or tab: spreadsheets in many
//! locales write semicolons), so that a European export is not refused as one wide column.

use super::csv_stream::CsvStream;
use super::{Location, RecordSchema, Records, RecordsError};

/// Column indices of each role, resolved against the header.
pub(super) struct Columns {
    pub label: usize,
    pub id: Option<usize>,
    pub member: Option<usize>,
    pub features: Vec<usize>,
}

pub(super) fn read(
    bytes: &[u8],
    file: &str,
    schema: &RecordSchema,
) -> Result<Records, RecordsError> {
    let mut stream = CsvStream::new(file, schema)?;
    stream.push(bytes)?;
    Ok(stream.finish()?.0)
}

/// The separator of the header line: whichever of comma, semicolon and tab it holds most
/// of outside double quotes (a comma when it holds none).
pub fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in header {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(c) = counts.iter_mut().find(|(d, _)| *d == b) {
            c.1 += 1;
        }
    }
    counts
        .iter()
        .fold((b',', 0), |best, &c| if c.1 > best.1 { c } else { best })
        .0
}

pub(super) fn resolve(
    header: &[String],
    file: &str,
    schema: &RecordSchema,
) -> Result<Columns, RecordsError> {
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = header.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(RecordsError::DuplicateColumn {
            file: file.to_string(),
            column: dup.clone(),
        });
    }
    let find = |name: &str| header.iter().position(|h| h == name);
    let require = |name: &str, role: &'static str| {
        find(name).ok_or_else(|| RecordsError::MissingColumn {
            file: file.to_string(),
            role,
            column: name.to_string(),
            available: header.join(", "),
        })
    };
    let label = require(&schema.label, "label")?;
    let id = match &schema.id {
        Some(name) => Some(require(name, "id")?),
        None => find("id"),
    };
    let member = match &schema.member {
        Some(name) => Some(require(name, "member")?),
        None => find("member"),
    };
    let features = match &schema.features {
        Some(names) => names
            .iter()
            .map(|n| require(n, "feature"))
            .collect::<Result<Vec<_>, _>>()?,
        None => (0..header.len())
            .filter(|c| *c != label && Some(*c) != id && Some(*c) != member)
            .collect(),
    };
    if features.is_empty() {
        return Err(RecordsError::MissingColumn {
            file: file.to_string(),
            role: "feature",
            column: "(any)".to_string(),
            available: header.join(", "),
        });
    }
    Ok(Columns {
        label,
        id,
        member,
        features,
    })
}

/// A feature cell's value: a number, or NaN for a missing value (an empty cell, or `NaN` as
/// pandas and numpy write it), which only a model that imputes may read
/// ([`Records::check_complete`](super::Records::check_complete)). `at` says where the cell
/// is, and is only called for an error (a million-row file would otherwise build a location
/// per cell).
pub(super) fn parse_feature(cell: &str, at: impl Fn() -> Location) -> Result<f32, RecordsError> {
    match cell.parse::<f32>() {
        Ok(value) if !value.is_infinite() => Ok(value),
        Ok(value) => Err(RecordsError::NonFinite {
            at: at(),
            value: value.into(),
        }),
        Err(_) if cell.is_empty() => Ok(f32::NAN),
        Err(_) => Err(RecordsError::NotNumber {
            at: at(),
            value: cell.to_string(),
        }),
    }
}

pub(super) fn parse_label(
    cell: &str,
    at: Location,
    classes: Option<&[String]>,
) -> Result<usize, RecordsError> {
    match classes {
        Some(classes) => {
            classes
                .iter()
                .position(|c| c == cell)
                .ok_or_else(|| RecordsError::UnknownClass {
                    at,
                    value: cell.to_string(),
                    classes: classes.join(", "),
                })
        }
        None => cell.parse().map_err(|_| RecordsError::BadLabel {
            at,
            value: cell.to_string(),
        }),
    }
}

pub(super) fn parse_membership(cell: &str, at: Location) -> Result<bool, RecordsError> {
    match cell {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(RecordsError::BadMembership {
            at,
            value: cell.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> RecordSchema {
        RecordSchema::from_json(r#"{"label": "y", "id": "id"}"#).unwrap()
    }

    #[test]
    fn semicolons_and_tabs_read_as_commas_do() {
        let comma = read(b"id,a,b,y\nr1,0.5,2,1\nr2,1.5,-1,0\n", "c.csv", &schema()).unwrap();
        let semicolon = read(b"id;a;b;y\nr1;0.5;2;1\nr2;1.5;-1;0\n", "s.csv", &schema()).unwrap();
        let tab = read(
            b"id\ta\tb\ty\nr1\t0.5\t2\t1\nr2\t1.5\t-1\t0\n",
            "t.csv",
            &schema(),
        )
        .unwrap();
        for other in [&semicolon, &tab] {
            assert_eq!(other.features, comma.features);
            assert_eq!(other.labels, comma.labels);
            assert_eq!(other.ids, comma.ids);
        }
    }

    #[test]
    fn a_separator_inside_quotes_does_not_count() {
        assert_eq!(sniff_delimiter(b"\"a;b;c\",d,y\n1,2,3\n"), b',');
        assert_eq!(sniff_delimiter(b"only\n1\n"), b',');
        assert_eq!(sniff_delimiter(b"a;b,c;d\n"), b';');
    }
}
