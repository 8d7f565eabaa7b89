//! Provided outputs ("bring your own outputs"), as `mialab audit --outputs` and the page read
//! them: the first byte picks the reader (even: CSV, odd: `.npz`), the rest is the file; what
//! reads is then turned into signals.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mialab::model::OutputKindChoice;
use mialab::provenance::Provenance;
use mialab::provided::{ProvidedOutputs, from_csv, from_npz};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else {
        return;
    };
    let provided = if kind % 2 == 0 {
        from_csv("fuzz.csv", bytes)
            .map(|set| ProvidedOutputs::new(Provenance::of_bytes("fuzz.csv", bytes), set))
    } else {
        from_npz("fuzz.npz", bytes)
    };
    if let Ok(provided) = provided {
        let _ = provided.into_signals_file(OutputKindChoice::Auto);
    }
});
