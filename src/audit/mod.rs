//! One audit, in three jobs: [`compute`] runs the models into signals, one part of one
//! record set at a time; [`AuditSignals`] holds them; [`measure`] scores the chosen attacks
//! over them and measures them into the report. [`crate::Session`] wires these together
//! for the CLI and the page and decides which parts to compute; nothing here does I/O.

pub mod compute;
pub mod measure;
mod signals;

pub use measure::{AuditData, AuditOutcome, REPORTED_FPRS, attack_signals};
pub use signals::AuditSignals;
