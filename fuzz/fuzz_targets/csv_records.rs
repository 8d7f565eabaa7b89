//! Records from CSV with a schema, as `--records`, `--population` and the page's CSV upload
//! read them. The input is `schema JSON, 0x00, CSV bytes`; without a 0x00 (or with a schema
//! that does not parse) the whole input is CSV under the default schema. The file is also
//! read in chunks (the page's and the CLI's way) of a size taken from its length: both
//! readings must give the same records, or the same error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mialab::records::{CsvStream, RecordSchema, Records};

fn in_chunks(csv: &[u8], size: usize, schema: &RecordSchema) -> Result<Records, String> {
    let mut stream = CsvStream::new("fuzz.csv", schema).map_err(|e| e.to_string())?;
    for chunk in csv.chunks(size) {
        stream.push(chunk).map_err(|e| e.to_string())?;
    }
    stream.finish().map(|(r, _)| r).map_err(|e| e.to_string())
}

fuzz_target!(|data: &[u8]| {
    let (schema, csv) = match data.iter().position(|&b| b == 0) {
        Some(at) => {
            let schema = std::str::from_utf8(&data[..at])
                .ok()
                .and_then(|text| RecordSchema::from_json(text).ok());
            (schema.unwrap_or_default(), &data[at + 1..])
        }
        None => (RecordSchema::default(), data),
    };
    let whole = Records::from_csv(csv, "fuzz.csv", &schema).map_err(|e| e.to_string());
    let chunked = in_chunks(csv, csv.len() % 7 + 1, &schema);
    assert_eq!(whole, chunked, "reading in chunks changed the result");
});
