//! Training on the auditor's machine: reference models retrained from the target's own
//! graph, and the quantile-regression attack's regressor. An auditor who brings their own
//! model has no reference models, and without them only the weak population attacks run;
//! here the target's architecture is read from its ONNX graph ([`Architecture`]), its values
//! re-initialised (seeded), and K copies trained on random halves of the audit records
//! ([`references`]), natively and in the browser with the same code.
//!
//! The backward pass is written by hand for the operator subset the GPU lowering already
//! understands (dense, convolution, batch normalisation, pooling, the usual activations,
//! dropout), on the same packed GEMM as the inference kernels, with gradient checks in its
//! tests: see docs/training.md for why (a training framework measured against it) and for the
//! recipe's definition.

mod architecture;
mod export;
mod fit;
#[cfg(feature = "gpu")]
mod gpu_fit;
mod layers;
mod network;
mod objective;
mod optimizer;
mod recipe;
pub mod references;
pub mod regressor;

#[cfg(test)]
mod tests;

pub use architecture::{Architecture, ArchitectureError, Block, Head, Standardize};
pub use export::to_onnx;
pub use fit::{EpochEnd, TrainingSet, fit};
#[cfg(feature = "gpu")]
pub use gpu_fit::{GpuFitJob, fit_on_gpu_async, fit_set_on_gpu_async, gpu_layers};
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub use gpu_fit::{fit_on_gpu, fit_set_on_gpu};
pub use network::Network;
pub use objective::{Classification, GaussianScores, LOG_SCALE_BOUNDS, Objective};
pub use recipe::{OptimizerKind, Recipe, RecipeError, Schedule};

use thiserror::Error;

/// Why training could not run or finish.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum TrainError {
    #[error("the model cannot be retrained here: {0}")]
    Architecture(#[from] ArchitectureError),
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error("there are no records to train on")]
    NoRecords,
    #[error(
        "training diverged at epoch {epoch} (the loss is no longer a finite number): lower the learning rate"
    )]
    Diverged { epoch: usize },
    #[error("training was cancelled")]
    Cancelled,
    #[error("{0}")]
    Records(String),
    #[error("training on the GPU failed: {0}")]
    Gpu(String),
}
