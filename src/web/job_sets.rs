//! The record sets an audit runs its models over (the audit records, then the population's),
//! copied out for an engine that runs outside the synchronous audit (WebGPU, a pool of Web
//! Workers). The session's engine finds their outputs again by each set's fingerprint.

use crate::engine::fingerprint;
use crate::session::Session;

/// One record set: its values, one record after another.
pub(super) struct JobSet {
    pub features: Vec<f32>,
    pub records: usize,
    /// The records' shape, records first.
    pub shape: Vec<usize>,
    pub fingerprint: u64,
    /// Each record's label.
    pub labels: Vec<u32>,
}

/// The session's audit records, then its population records if any; the error says what is
/// missing.
pub(super) fn job_sets(session: &Session) -> Result<Vec<JobSet>, &'static str> {
    let audit = session
        .records()
        .map_err(|_| "no audit records are loaded")?;
    Ok(std::iter::once(audit)
        .chain(session.population())
        .map(|records| JobSet {
            features: records
                .features
                .as_standard_layout()
                .iter()
                .copied()
                .collect(),
            records: records.len(),
            shape: records.features.shape().to_vec(),
            fingerprint: fingerprint(&records.features),
            labels: records.labels.iter().map(|&l| l as u32).collect(),
        })
        .collect())
}
