//! CSV records read as they arrive: the page hands the file over in chunks (a million-record
//! export never has to sit in memory as text beside its parsed values) and the CLI reads the
//! file the same way, hashing the bytes as they pass. Built on `csv-core`'s push parser,
//! which keeps its state across chunk boundaries (a quoted field may span two chunks).

use super::csv_reader::{Columns, parse_feature, parse_label, parse_membership, resolve};
use super::fingerprint::content_ids;
use super::{Location, RecordSchema, Records, RecordsError, check_ids, sniff_delimiter};
use csv_core::{ReadRecordResult, Reader, ReaderBuilder};
use ndarray::Array2;
use sha2::{Digest, Sha256};

/// A CSV record set being read: [`CsvStream::push`] each chunk, then [`CsvStream::finish`].
pub struct CsvStream {
    file: String,
    schema: RecordSchema,
    /// Bytes seen before the header line is complete (the separator is read off it).
    head: Vec<u8>,
    parser: Option<Reader>,
    /// The fields of the record being read, and where each ends (from the record's start, as
    /// `csv-core` counts across calls).
    field_bytes: Vec<u8>,
    field_ends: Vec<usize>,
    filled: (usize, usize),
    header: Option<Vec<String>>,
    columns: Option<Columns>,
    /// Line on which the record being read starts.
    record_line: u64,
    ids: Vec<String>,
    lines: Vec<u64>,
    labels: Vec<usize>,
    membership: Option<Vec<bool>>,
    values: Vec<f32>,
    /// The first missing feature value.
    missing: Option<Location>,
    hash: Sha256,
    expected_bytes: Option<u64>,
}

impl CsvStream {
    /// Starts reading `file` (its name, for messages) with `schema`.
    pub fn new(file: &str, schema: &RecordSchema) -> Result<CsvStream, RecordsError> {
        if let Some(classes) = &schema.classes
            && classes.len() < 2
        {
            return Err(RecordsError::TooFewClasses {
                file: file.to_string(),
                found: classes.len(),
            });
        }
        Ok(CsvStream {
            file: file.to_string(),
            schema: schema.clone(),
            head: Vec::new(),
            parser: None,
            field_bytes: vec![0; 4096],
            field_ends: vec![0; 64],
            filled: (0, 0),
            header: None,
            columns: None,
            record_line: 1,
            ids: Vec::new(),
            lines: Vec::new(),
            labels: Vec::new(),
            membership: None,
            values: Vec::new(),
            missing: None,
            hash: Sha256::new(),
            expected_bytes: None,
        })
    }

    /// The file's size, when known: memory for the values is then reserved once, from the
    /// first records' width, instead of grown (and copied) as they arrive.
    pub fn expect_bytes(&mut self, total: u64) {
        self.expected_bytes = Some(total);
    }

    /// Records read so far.
    pub fn records(&self) -> usize {
        self.labels.len()
    }

    /// Takes the next chunk of the file.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), RecordsError> {
        self.hash.update(chunk);
        if self.parser.is_some() {
            return self.parse(chunk);
        }
        self.head.extend_from_slice(chunk);
        if self.head.contains(&b'\n') {
            self.start()?;
        }
        Ok(())
    }

    /// Reads the end of the file and checks the whole set; returns the records and the
    /// SHA-256 (hex) of every byte pushed.
    pub fn finish(mut self) -> Result<(Records, String), RecordsError> {
        if self.parser.is_none() {
            if self.head.iter().all(u8::is_ascii_whitespace) {
                return Err(RecordsError::Empty { file: self.file });
            }
            self.start()?;
        }
        self.parse(&[])?;
        let sha256 = crate::report::hex(&std::mem::take(&mut self.hash).finalize());
        Ok((self.into_records()?, sha256))
    }

    fn start(&mut self) -> Result<(), RecordsError> {
        let head = std::mem::take(&mut self.head);
        let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
        self.parser = Some(
            ReaderBuilder::new()
                .delimiter(sniff_delimiter(body))
                .build(),
        );
        self.parse(body)
    }

    /// Feeds `input` to the parser; an empty `input` marks the end of the file.
    fn parse(&mut self, mut input: &[u8]) -> Result<(), RecordsError> {
        let at_end = input.is_empty();
        loop {
            let parser = self
                .parser
                .as_mut()
                .expect("parsing starts with the header");
            let (bytes_at, ends_at) = self.filled;
            let (result, read, written, ended) = parser.read_record(
                input,
                &mut self.field_bytes[bytes_at..],
                &mut self.field_ends[ends_at..],
            );
            input = &input[read..];
            self.filled = (bytes_at + written, ends_at + ended);
            match result {
                ReadRecordResult::InputEmpty => {
                    if !at_end {
                        return Ok(());
                    }
                }
                ReadRecordResult::OutputFull => {
                    let len = self.field_bytes.len();
                    self.field_bytes.resize(len * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.field_ends.len();
                    self.field_ends.resize(len * 2, 0);
                }
                ReadRecordResult::Record => {
                    self.take_record()?;
                    self.filled = (0, 0);
                    self.record_line = self.parser.as_ref().map_or(0, Reader::line);
                }
                ReadRecordResult::End => return Ok(()),
            }
        }
    }

    fn take_record(&mut self) -> Result<(), RecordsError> {
        let count = self.filled.1;
        let line = self.record_line;
        let (bytes, ends, file) = (&self.field_bytes, &self.field_ends, &self.file);
        let field = |i: usize| field(bytes, ends, i, file, line);
        let Some(header) = &self.header else {
            let header = (0..count)
                .map(|i| field(i).map(str::to_string))
                .collect::<Result<Vec<_>, _>>()?;
            self.columns = Some(resolve(&header, &self.file, &self.schema)?);
            if self.columns.as_ref().is_some_and(|c| c.member.is_some()) {
                self.membership = Some(Vec::new());
            }
            self.header = Some(header);
            return Ok(());
        };
        if count != header.len() {
            return Err(RecordsError::RaggedRow {
                at: Location::line(&self.file, line),
                expected: header.len(),
                found: count,
            });
        }
        let columns = self.columns.as_ref().expect("resolved with the header");
        let at = |col: usize| Location::line(file, line).column(col, &header[col]);
        for &col in &columns.features {
            let value = parse_feature(field(col)?, || at(col))?;
            if value.is_nan() && self.missing.is_none() {
                self.missing = Some(at(col));
            }
            self.values.push(value);
        }
        let label = parse_label(
            field(columns.label)?,
            at(columns.label),
            self.schema.classes.as_deref(),
        )?;
        let member = match columns.member {
            Some(col) => Some(parse_membership(field(col)?, at(col))?),
            None => None,
        };
        if let Some(col) = columns.id {
            self.ids.push(field(col)?.to_string());
        }
        self.labels.push(label);
        if let (Some(m), Some(member)) = (self.membership.as_mut(), member) {
            m.push(member);
        }
        self.lines.push(line);
        if self.labels.len() == 1 {
            self.reserve();
        }
        Ok(())
    }

    /// Reserves room for every record's values once the first record shows how wide rows are.
    fn reserve(&mut self) {
        let (Some(total), Some(columns)) = (self.expected_bytes, &self.columns) else {
            return;
        };
        let fields = self.filled.1;
        let row_bytes = (self.field_ends[fields.saturating_sub(1)] + fields).max(1) as u64;
        let rows = (total / row_bytes + total / row_bytes / 8 + 16) as usize;
        self.values
            .reserve(rows.saturating_mul(columns.features.len()));
        self.labels.reserve(rows);
        if columns.id.is_some() {
            self.ids.reserve(rows);
        }
        self.lines.reserve(rows);
    }

    fn into_records(self) -> Result<Records, RecordsError> {
        let file = self.file;
        let (Some(header), Some(columns)) = (self.header, self.columns) else {
            return Err(RecordsError::NoRecords { file });
        };
        if self.labels.is_empty() {
            return Err(RecordsError::NoRecords { file });
        }
        let lines = self.lines;
        let values = self.values;
        let features = Array2::from_shape_vec((self.labels.len(), columns.features.len()), values)
            .expect("one value per record and feature column")
            .into_dyn();
        let ids = match columns.id {
            Some(_) => self.ids,
            None => content_ids(&features, &self.labels),
        };
        check_ids(&ids, |i| Location::line(&file, lines[i]))?;
        Ok(Records {
            source: file,
            ids,
            features,
            feature_names: columns
                .features
                .iter()
                .map(|&c| header[c].clone())
                .collect(),
            labels: self.labels,
            membership: self.membership,
            classes: self.schema.classes,
            missing: self.missing,
        })
    }
}

/// Field `i` of the record in `bytes` (its fields end at `ends`), trimmed, as text.
fn field<'a>(
    bytes: &'a [u8],
    ends: &[usize],
    i: usize,
    file: &str,
    line: u64,
) -> Result<&'a str, RecordsError> {
    let start = if i == 0 { 0 } else { ends[i - 1] };
    std::str::from_utf8(&bytes[start..ends[i]])
        .map(str::trim)
        .map_err(|_| RecordsError::Csv {
            at: Location::line(file, line),
            message: format!("column {} is not UTF-8 text", i + 1),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &[u8] = b"\xEF\xBB\xBFid,a,\"b\",y,member\n\"r,1\", 0.5,2,1,1\r\nr2,1.5,-1,0,0\n\nr3,\"2.5\",3e-3,2,1";

    fn schema() -> RecordSchema {
        RecordSchema::from_json(r#"{"label": "y"}"#).unwrap()
    }

    fn read_in_chunks(bytes: &[u8], size: usize) -> (Records, String) {
        let mut stream = CsvStream::new("x.csv", &schema()).unwrap();
        stream.expect_bytes(bytes.len() as u64);
        for chunk in bytes.chunks(size) {
            stream.push(chunk).unwrap();
        }
        stream.finish().unwrap()
    }

    #[test]
    fn every_chunking_reads_the_same_records_and_hash() {
        let (whole, hash) = read_in_chunks(CSV, CSV.len());
        assert_eq!(whole.ids, ["r,1", "r2", "r3"]);
        assert_eq!(whole.labels, [1, 0, 2]);
        assert_eq!(whole.membership, Some(vec![true, false, true]));
        assert_eq!(whole.feature_names, ["a", "b"]);
        assert_eq!(
            whole.features.iter().copied().collect::<Vec<f32>>(),
            [0.5, 2.0, 1.5, -1.0, 2.5, 3e-3]
        );
        assert_eq!(hash, crate::report::sha256_hex(CSV));
        for size in 1..CSV.len() {
            assert_eq!(
                read_in_chunks(CSV, size),
                (whole.clone(), hash.clone()),
                "{size}"
            );
        }
    }

    #[test]
    fn errors_name_the_line_across_chunks() {
        let bytes = b"id,a,y\nr1,1,0\nr2,x,1\n";
        let mut stream = CsvStream::new("x.csv", &schema()).unwrap();
        let mut error = None;
        for chunk in bytes.chunks(3) {
            if let Err(e) = stream.push(chunk) {
                error = Some(e);
                break;
            }
        }
        let message = error
            .unwrap_or_else(|| stream.finish().unwrap_err())
            .to_string();
        assert!(message.contains("line 3"), "{message}");
        assert!(message.contains("'x'"), "{message}");
    }

    #[test]
    fn a_header_alone_or_nothing_is_refused() {
        let stream = CsvStream::new("x.csv", &schema()).unwrap();
        assert!(matches!(stream.finish(), Err(RecordsError::Empty { .. })));
        let mut stream = CsvStream::new("x.csv", &schema()).unwrap();
        stream.push(b"a,y\n").unwrap();
        assert!(matches!(
            stream.finish(),
            Err(RecordsError::NoRecords { .. })
        ));
    }
}
