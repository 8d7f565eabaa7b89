//! Where an input came from: the name the user gave it and the SHA-256 of its bytes, as the
//! report and the signals file record them.

use serde::{Deserialize, Serialize};

/// An input's name and content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub source: String,
    pub sha256: String,
}

impl Provenance {
    pub fn of_bytes(source: &str, bytes: &[u8]) -> Provenance {
        Provenance {
            source: source.to_string(),
            sha256: crate::report::sha256_hex(bytes),
        }
    }
}
