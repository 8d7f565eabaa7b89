//! Which engine runs a model: mialab's CPU kernels, tract, or the GPU kernels, chosen per
//! model by the user's [`BackendChoice`], and what ran, with why, for the report.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The user's choice of engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum BackendChoice {
    /// The GPU where a hardware adapter with compute shaders exists and the graph lowers,
    /// else the CPU as `cpu` runs it (software adapters such as lavapipe are slower).
    #[default]
    Auto,
    /// The CPU: mialab's kernels where the graph lowers to them, else tract.
    Cpu,
    /// tract on the CPU always (the reference the kernels are checked against).
    Tract,
    /// The GPU, or an error saying why not.
    Gpu,
}

impl FromStr for BackendChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "cpu" => Ok(BackendChoice::Cpu),
            "tract" => Ok(BackendChoice::Tract),
            "gpu" => Ok(BackendChoice::Gpu),
            other => Err(format!("backend '{other}' is not auto, cpu, tract or gpu")),
        }
    }
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cpu => "cpu",
            BackendChoice::Tract => "tract",
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
    /// The CPU engine `what` ran the model ("tract on the CPU"), with why the GPU did not.
    pub fn cpu(what: String, reason: Option<String>) -> BackendUsed {
        BackendUsed {
            engine: "cpu".to_string(),
            detail: match reason {
                Some(r) => format!("{what}, because {r}"),
                None => what,
            },
        }
    }
}

impl fmt::Display for BackendUsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.detail)
    }
}

impl BackendChoice {
    /// The CPU engine a choice that never uses the GPU asks for; `None` for `auto` and `gpu`.
    pub fn cpu_engine(self) -> Option<crate::model::CpuEngine> {
        match self {
            BackendChoice::Cpu => Some(crate::model::CpuEngine::Kernels),
            BackendChoice::Tract => Some(crate::model::CpuEngine::Tract),
            BackendChoice::Auto | BackendChoice::Gpu => None,
        }
    }
}
