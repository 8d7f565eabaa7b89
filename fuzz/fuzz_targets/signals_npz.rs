//! A signals file (`.npz`), as `mialab audit --signals` reads it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mialab::signals_file::read("fuzz.npz", data);
});
