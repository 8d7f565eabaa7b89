//! The GPU path: a model lowered to a [`Plan`] of WGSL compute kernels that `wgpu` runs on
//! Vulkan, Metal or DX12 natively and on WebGPU in the browser, batch after batch, with
//! CPU twins of every kernel that define what each must compute. Which models run here is
//! decided by [`crate::engine`]; this module knows nothing of that choice.

#[cfg(feature = "gpu")]
mod buffers;
#[cfg(feature = "gpu")]
pub mod device;
pub mod lower;
#[cfg(all(feature = "gpu", not(target_arch = "wasm32")))]
pub mod peak;
#[cfg(feature = "gpu")]
mod pipelines;
pub mod plan;
#[cfg(feature = "gpu")]
pub mod training;
pub mod twin;

#[cfg(feature = "gpu")]
pub use device::{DispatchTime, Gpu, GpuError, GpuModel, KernelSet};
pub use lower::{
    DropoutSite, LayerOrigin, LoweringError, TrainableGraph, lower, lower_for_training,
};
pub use plan::{Activation, Layer, Plan, PoolKind, Window};
