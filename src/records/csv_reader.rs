//! CSV records: a header line, one record per line, columns assigned by a [`RecordSchema`].
//! The separator is read off the header (comma, semicolon or tab: spreadsheets in many
//! locales write semicolons), so that a European export is not refused as one wide column.

use super::{Location, RecordSchema, Records, RecordsError, check_ids};
use ndarray::{Array2, ArrayD};

/// Column indices of each role, resolved against the header.
struct Columns {
    label: usize,
    id: Option<usize>,
    member: Option<usize>,
    features: Vec<usize>,
}

pub(super) fn read(
    bytes: &[u8],
    file: &str,
    schema: &RecordSchema,
) -> Result<Records, RecordsError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(RecordsError::Empty {
            file: file.to_string(),
        });
    }
    if let Some(classes) = &schema.classes
        && classes.len() < 2
    {
        return Err(RecordsError::TooFewClasses {
            file: file.to_string(),
            found: classes.len(),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .delimiter(sniff_delimiter(bytes))
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(file, &e))?
        .iter()
        .map(str::to_string)
        .collect();
    let columns = resolve(&header, file, schema)?;

    let mut ids = Vec::new();
    let mut lines = Vec::new();
    let mut labels = Vec::new();
    let mut membership = columns.member.map(|_| Vec::new());
    let mut values = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(file, &e))?;
        let line = row.position().map_or(0, |p| p.line());
        let at = |col: usize| Location::line(file, line).column(col, &header[col]);
        for &col in &columns.features {
            values.push(parse_feature(&row[col], at(col))?);
        }
        labels.push(parse_label(
            &row[columns.label],
            at(columns.label),
            schema.classes.as_deref(),
        )?);
        if let (Some(col), Some(m)) = (columns.member, membership.as_mut()) {
            m.push(parse_membership(&row[col], at(col))?);
        }
        ids.push(match columns.id {
            Some(col) => row[col].to_string(),
            None => labels.len().to_string(),
        });
        lines.push(line);
    }
    if labels.is_empty() {
        return Err(RecordsError::NoRecords {
            file: file.to_string(),
        });
    }
    check_ids(&ids, |i| Location::line(file, lines[i]))?;

    let n = labels.len();
    let features = Array2::from_shape_vec((n, columns.features.len()), values)
        .expect("one value per record and feature column")
        .into_dyn();
    Ok(Records {
        source: file.to_string(),
        ids,
        features: ArrayD::from(features),
        feature_names: columns
            .features
            .iter()
            .map(|&c| header[c].clone())
            .collect(),
        labels,
        membership,
        classes: schema.classes.clone(),
    })
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

fn resolve(header: &[String], file: &str, schema: &RecordSchema) -> Result<Columns, RecordsError> {
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

fn parse_feature(cell: &str, at: Location) -> Result<f32, RecordsError> {
    if cell.is_empty() {
        return Err(RecordsError::MissingValue { at });
    }
    let value: f32 = cell.parse().map_err(|_| RecordsError::NotNumber {
        at: at.clone(),
        value: cell.to_string(),
    })?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(RecordsError::NonFinite {
            at,
            value: value.into(),
        })
    }
}

fn parse_label(
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

fn parse_membership(cell: &str, at: Location) -> Result<bool, RecordsError> {
    match cell {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(RecordsError::BadMembership {
            at,
            value: cell.to_string(),
        }),
    }
}

fn csv_error(file: &str, error: &csv::Error) -> RecordsError {
    let line = error.position().map_or(0, |p| p.line());
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => RecordsError::RaggedRow {
            at: Location::line(file, line),
            expected: *expected_len as usize,
            found: *len as usize,
        },
        _ => RecordsError::Csv {
            at: Location::line(file, line),
            message: error.to_string(),
        },
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
