//! A keep-mask, NPY `[models, records]` or CSV by model file, as `--keep-mask` and the page
//! read it. The first byte picks the format and the model count (1..=16), the second the
//! record count (1..=64); the rest is the file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [format, records, file @ ..] = data else {
        return;
    };
    let models = usize::from(format & 0x0f) + 1;
    let records = usize::from(records % 64) + 1;
    if format & 0x80 == 0 {
        let _ = mialab::keep_mask::from_npy("fuzz.npy", file, models, records);
    } else {
        let names: Vec<String> = (0..models).map(|k| format!("ref_{k:02}.onnx")).collect();
        let ids: Vec<String> = (0..records).map(|i| i.to_string()).collect();
        let _ = mialab::keep_mask::from_csv("fuzz.csv", file, &names, &ids);
    }
});
