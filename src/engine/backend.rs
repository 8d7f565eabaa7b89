//! Which engine runs a model: tract on the CPU or the GPU kernels, chosen per model by the
//! user's [`BackendChoice`], and what ran, with why, for the report.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The user's choice of engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum BackendChoice {
    /// The GPU where a hardware adapter with compute shaders exists and the graph lowers,
    /// else tract (software adapters such as lavapipe are slower than tract).
    #[default]
    Auto,
    /// tract on the CPU.
    Cpu,
    /// The GPU, or an error saying why not.
    Gpu,
}

impl FromStr for BackendChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "cpu" => Ok(BackendChoice::Cpu),
            "gpu" => Ok(BackendChoice::Gpu),
            other => Err(format!("backend '{other}' is not auto, cpu or gpu")),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Gpu => "gpu",
        })
    }
}

/// What ran a model, and why that one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendUsed {
    /// "cpu" or "gpu".
    pub engine: String,
    /// The device or library, and for `auto` falling back to tract, the reason.
    pub detail: String,
}

impl BackendUsed {
    pub fn cpu(reason: Option<String>) -> BackendUsed {
        BackendUsed {
            engine: "cpu".to_string(),
            detail: match reason {
                Some(r) => format!("tract on the CPU, because {r}"),
                None => "tract on the CPU".to_string(),
            },
        }
    }
}

impl fmt::Display for BackendUsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.detail)
    }
}
