//! mialab: membership-inference attacks against ONNX models, run where the data lives.
//!
//! The crate is split the way the field thinks about an audit (see `../shared/SPEC.md`):
//! [`records`] reads the audit set, [`model`] loads a model and runs it with tract,
//! [`engine`] decides which backend (tract or the [`gpu`] kernels) runs which models,
//! [`signal`] turns model outputs into per-record membership signals ([`set_signals`] holds
//! one record set's, [`signal_matrix`] the reference models' matrix), [`attack`] turns
//! signals into scores (higher = more likely a member), [`metrics`] turns scores and ground
//! truth into the numbers papers report, and [`report`] writes them.
//!
//! [`Session`] is the front door that the CLI and the page share: it holds what the user
//! loaded and the signals computed from it, and recomputes only what a new request
//! ([`config::AuditConfig`]) invalidates; [`audit`] does the computing and the measuring
//! for it. Nothing below the session does I/O except [`records`] and [`model`], which read
//! from bytes so that the same code runs in WebAssembly. [`zoo`] describes the bundled
//! models and data (`models/manifest.json`); [`keep_mask`] reads who trained what.

pub mod attack;
pub mod audit;
pub mod augment;
pub mod clock;
pub mod config;
pub mod defence;
pub mod encoding;
pub mod engine;
pub mod error;
pub mod gpu;
pub mod keep_mask;
pub mod kernels;
mod matmul;
pub mod metrics;
pub mod model;
pub mod npz;
pub mod parallel;
pub mod progress;
pub mod provenance;
pub mod provided;
pub mod records;
pub mod reference;
pub mod report;
pub mod session;
pub mod set_signals;
pub mod signal;
pub mod signal_matrix;
pub mod signals_file;
pub mod train;
pub mod zoo;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use config::AuditConfig;
pub use error::{Error, Result};
pub use session::Session;
