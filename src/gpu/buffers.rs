//! Device buffers that give their memory back when dropped, and the scratch buffers one run
//! reuses batch after batch.
//!
//! On the browser's WebGPU backend, wgpu's `Drop` for a buffer does nothing: the memory is
//! freed when the page's garbage collector collects the JavaScript `GPUBuffer`, and during
//! a long awaited job it may not for minutes. A page audit of thousands of batches that made
//! fresh buffers for each grew the GPU process past several GiB until the device was lost
//! and a read-back failed. So every buffer mialab makes is an [`OwnedBuffer`], destroyed when
//! dropped (natively that is what wgpu's drop does anyway), and a run makes its large
//! buffers once ([`Scratch`]).

use std::ops::Deref;
use wgpu::util::DeviceExt;

/// A buffer destroyed when dropped.
pub struct OwnedBuffer(wgpu::Buffer);

impl Deref for OwnedBuffer {
    type Target = wgpu::Buffer;

    fn deref(&self) -> &wgpu::Buffer {
        &self.0
    }
}

impl Drop for OwnedBuffer {
    fn drop(&mut self) {
        self.0.destroy();
    }
}

/// A storage buffer holding `values` (one unused zero if empty: a binding may not be empty),
/// with `usage` besides `STORAGE`.
pub fn storage_init<T: bytemuck::Pod + Default>(
    device: &wgpu::Device,
    label: &str,
    values: &[T],
    usage: wgpu::BufferUsages,
) -> OwnedBuffer {
    let zero = [T::default()];
    let values = if values.is_empty() { &zero[..] } else { values };
    OwnedBuffer(
        device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(values),
            usage: wgpu::BufferUsages::STORAGE | usage,
        }),
    )
}

/// An uninitialised buffer of `floats` 32-bit values (at least one).
pub fn with_capacity(
    device: &wgpu::Device,
    label: &str,
    floats: usize,
    usage: wgpu::BufferUsages,
) -> OwnedBuffer {
    OwnedBuffer(device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (floats.max(1) * 4) as u64,
        usage,
        mapped_at_creation: false,
    }))
}

/// The buffers of one run, sized for its largest batch: the records, the two activation
/// buffers the layers ping-pong between and the staging buffer the results come back
/// through.
pub struct Scratch {
    pub records: OwnedBuffer,
    pub activations: [OwnedBuffer; 2],
    pub staging: OwnedBuffer,
}

impl Scratch {
    /// Buffers for batches of up to `batch` records of `input_len` values, whose widest
    /// layer over all `models` has `widest` values per record, and whose results have
    /// `result_len` values per record and model.
    pub fn new(
        device: &wgpu::Device,
        batch: usize,
        input_len: usize,
        widest: usize,
        models: usize,
        result_len: usize,
    ) -> Scratch {
        use wgpu::BufferUsages as U;
        let activations = ["activations", "activations"].map(|label| {
            with_capacity(
                device,
                label,
                widest * batch * models,
                U::STORAGE | U::COPY_SRC,
            )
        });
        Scratch {
            records: with_capacity(
                device,
                "records",
                batch * input_len,
                U::STORAGE | U::COPY_DST,
            ),
            activations,
            staging: with_capacity(
                device,
                "read-back",
                batch * models * result_len,
                U::MAP_READ | U::COPY_DST,
            ),
        }
    }
}
