//! mialab: membership-inference attacks against ONNX models, run where the data lives.
//!
//! The crate is split the way the field thinks about an audit (see `../shared/SPEC.md`):
//! [`records`] reads the audit set, [`model`] runs the target with tract, [`signal`] turns
//! model outputs into per-record membership signals, [`attack`] turns signals into scores
//! (higher = more likely a member), [`metrics`] turns scores and ground truth into the
//! numbers papers report, and [`report`] writes them. [`audit`] wires these together for the
//! CLI and, later, the browser; nothing below it does I/O except [`records`] and [`model`],
//! which read from bytes so that the same code runs in WebAssembly. [`zoo`] describes the
//! bundled models and data (`models/manifest.json`); [`reference`] runs reference models into
//! the signals matrix the calibrated attacks read, with [`keep_mask`] saying who trained what.

pub mod attack;
pub mod audit;
pub mod augment;
pub mod defence;
pub mod encoding;
pub mod error;
pub mod gpu;
pub mod keep_mask;
pub mod metrics;
pub mod model;
pub mod progress;
pub mod records;
pub mod reference;
pub mod report;
pub mod signal;
pub mod signal_matrix;
pub mod signals_file;
pub mod zoo;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{Error, Result};
