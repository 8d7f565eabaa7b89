//! Model outputs computed before an audit by an engine the audit cannot call itself: in the
//! browser WebGPU can only be awaited, while the audit runs synchronously, so the page runs the
//! target and its references on WebGPU first and hands their outputs here. They are kept by
//! model (its load-unique id) and records (a fingerprint of their values), so that the audit's
//! own calls for exactly those models on exactly those records find them, and any other call
//! (augmented copies, noisy queries, other records) runs as usual.

use super::BackendUsed;
use ndarray::{Array2, ArrayD};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard};

/// A fingerprint of a batch of records: their shape and every value's bits, in logical order.
pub fn fingerprint(features: &ArrayD<f32>) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    features.shape().hash(&mut hasher);
    for value in features.iter() {
        value.to_bits().hash(&mut hasher);
    }
    hasher.finish()
}

#[derive(Default)]
struct Kept {
    outputs: HashMap<(u64, u64), (Array2<f32>, BackendUsed)>,
    /// Why the other engine was not used, for the runs that fall back to the CPU.
    note: Option<String>,
}

/// The outputs handed over, and the other engine's note.
#[derive(Default)]
pub(super) struct Remembered {
    kept: Mutex<Kept>,
}

impl Remembered {
    fn lock(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn keep(&self, model_id: u64, records: u64, output: Array2<f32>, used: BackendUsed) {
        self.lock()
            .outputs
            .insert((model_id, records), (output, used));
    }

    pub(super) fn set_note(&self, note: Option<String>) {
        self.lock().note = note;
    }

    pub(super) fn note(&self) -> Option<String> {
        self.lock().note.clone()
    }

    pub(super) fn clear(&self) {
        *self.lock() = Kept::default();
    }

    /// Whether outputs of every one of `model_ids` on records of fingerprint `records` are kept.
    pub(super) fn has_all(&self, model_ids: &[u64], records: u64) -> bool {
        let kept = self.lock();
        model_ids
            .iter()
            .all(|id| kept.outputs.contains_key(&(*id, records)))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.lock().outputs.is_empty()
    }

    /// The outputs kept for each of `model_ids` on `features`; `None` unless every one is
    /// kept (nothing is fingerprinted while nothing is kept).
    pub(super) fn find(
        &self,
        model_ids: &[u64],
        features: &ArrayD<f32>,
    ) -> Option<Vec<(Array2<f32>, BackendUsed)>> {
        if self.is_empty() {
            return None;
        }
        let records = fingerprint(features);
        let kept = self.lock();
        model_ids
            .iter()
            .map(|id| kept.outputs.get(&(*id, records)).cloned())
            .collect()
    }
}
