//! Integration tests: one binary, one module per area (ripgrep's layout).

mod audit_example;
mod cli;
mod determinism;
mod encoding;
mod exporters;
mod golden;
mod gpu;
mod html_report;
mod kernels;
mod malformed;
mod model_outputs;
mod operating_points;
mod provided_outputs;
mod references;
mod session;
mod signals;
mod training;
mod util;
mod verify;
mod zoo;
