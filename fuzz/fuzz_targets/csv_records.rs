//! Records from CSV with a schema, as `--records`, `--population` and the page's CSV upload
//! read them. The input is `schema JSON, 0x00, CSV bytes`; without a 0x00 (or with a schema
//! that does not parse) the whole input is CSV under the default schema.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mialab::records::{RecordSchema, Records};

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
    let _ = Records::from_csv(csv, "fuzz.csv", &schema);
});
