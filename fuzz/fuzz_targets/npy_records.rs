//! NumPy records: the bytes as a feature array, and as the labels and the membership of
//! valid features, as `--features/--labels/--membership` and the page's NumPy upload read them.
#![no_main]
use libfuzzer_sys::fuzz_target;
use mialab::records::{NpyInputs, Records};

/// A valid `.npy` of `n` float32 records with 2 features each.
fn features(n: usize) -> Vec<u8> {
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, 2), }}");
    let mut header = header.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend(std::iter::repeat_n(0u8, n * 2 * 4));
    out
}

fuzz_target!(|data: &[u8]| {
    let _ = Records::features_from_npy("fuzz.npy", data);
    let valid = features(4);
    let _ = Records::from_npy(&NpyInputs {
        features: ("features.npy", &valid),
        labels: ("fuzz.npy", data),
        membership: None,
        ids: None,
        classes: None,
    });
    let _ = Records::from_npy(&NpyInputs {
        features: ("features.npy", &valid),
        labels: ("labels.npy", &valid),
        membership: Some(("fuzz.npy", data)),
        ids: Some(("ids.txt", data)),
        classes: None,
    });
});
