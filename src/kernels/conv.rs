//! A 2-D convolution as one GEMM per block of records: the block's patches unrolled into
//! columns (`[C·kh·kw, records·pixels]`), multiplied by the packed weights
//! (`[out channels, C·kh·kw]`), and the `[out channels, records·pixels]` result laid back
//! out record by record (NCHW). Blocks of a few records keep the unrolled patches in the
//! L2 cache and give the kernel wide enough matrices.

use super::layers::max_pool_2x2;
use crate::gpu::twin::activate_all;
use crate::gpu::{Activation, Window};
use crate::matmul::Weights;

/// Records unrolled and multiplied at once (measured on the zoo CNN's second convolution:
/// 8 beat 4, 16 and 32).
pub(super) const RECORDS_PER_BLOCK: usize = 8;

pub(super) struct Conv {
    window: Window,
    epilogue: Epilogue,
    channels_out: usize,
    weight: Weights,
    bias: Vec<f32>,
}

impl Conv {
    pub(super) fn new(
        window: Window,
        channels_out: usize,
        weight: &[f32],
        bias: &[f32],
        epilogue: Epilogue,
    ) -> Conv {
        Conv {
            window,
            epilogue,
            channels_out,
            weight: Weights::left(weight, channels_out, window.patch_len()),
            bias: bias.to_vec(),
        }
    }

    /// Values per record written: the convolution's, or its pooled planes when a 2×2 pool
    /// is fused.
    pub(super) fn output_len(&self) -> usize {
        let (h, w) = self.plane_out();
        self.channels_out * h * w
    }

    fn plane_out(&self) -> (usize, usize) {
        if self.epilogue.pool_2x2 {
            (self.window.out_h / 2, self.window.out_w / 2)
        } else {
            (self.window.out_h, self.window.out_w)
        }
    }

    fn pixels(&self) -> usize {
        self.window.out_h * self.window.out_w
    }

    /// The convolution of `n` records (a block at most [`RECORDS_PER_BLOCK`] wide is one
    /// GEMM), its epilogue applied as each plane is laid out.
    pub(super) fn run(
        &self,
        input: &[f32],
        n: usize,
        scratch: &mut Scratch,
    ) -> Result<Vec<f32>, String> {
        let w = &self.window;
        let in_len = w.channels_in * w.in_h * w.in_w;
        let (pixels, depth) = (self.pixels(), w.patch_len());
        let mut out = Vec::with_capacity(n * self.output_len());
        let block = RECORDS_PER_BLOCK.min(n.max(1));
        for first in (0..n).step_by(block) {
            let count = block.min(n - first);
            let width = count * pixels;
            let columns = scratch.columns(depth * width);
            for r in 0..count {
                let record = &input[(first + r) * in_len..(first + r + 1) * in_len];
                unroll(w, record, columns, width, r * pixels);
            }
            let (columns, product) = scratch.both(depth * width, self.channels_out * width);
            self.weight
                .product(columns, depth, width, &self.bias, product)
                .map_err(|e| format!("convolution: {e}"))?;
            for r in 0..count {
                for c in 0..self.channels_out {
                    let plane = &mut product[c * width + r * pixels..][..pixels];
                    self.epilogue.finish(plane, w.out_w, &mut out);
                }
            }
        }
        Ok(out)
    }
}

/// What follows a convolution and is done as its output is laid out: an activation, then
/// a 2×2 stride-2 max-pool (computed in the other order where that gives the same values).
/// Fusing them saves writing and rereading the widest image.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Epilogue {
    pub(super) activation: Option<Activation>,
    pub(super) pool_2x2: bool,
}

impl Epilogue {
    /// Appends one output plane (`out_w` wide) to `out`, finished. A non-decreasing
    /// activation (all but a LeakyRelu with a negative slope) commutes with the max-pool:
    /// pooling first activates a quarter of the values.
    fn finish(&self, plane: &mut [f32], out_w: usize, out: &mut Vec<f32>) {
        let activation = self.activation;
        let pool_first = activation.is_none_or(non_decreasing);
        if !pool_first && let Some(kind) = activation {
            activate_all(kind, plane);
        }
        let first = out.len();
        if self.pool_2x2 {
            let (rows, half) = (plane.len() / out_w / 2, out_w / 2);
            out.resize(first + rows * half, 0.0);
            max_pool_2x2(plane, &mut out[first..], out_w, half);
        } else {
            out.extend_from_slice(plane);
        }
        if pool_first && let Some(kind) = activation {
            activate_all(kind, &mut out[first..]);
        }
    }
}

fn non_decreasing(kind: Activation) -> bool {
    match kind {
        Activation::LeakyRelu(slope) => slope >= 0.0,
        Activation::Relu | Activation::Sigmoid | Activation::Tanh => true,
    }
}

/// Buffers a convolution reuses from block to block: the unrolled patches and the product.
#[derive(Default)]
pub(super) struct Scratch {
    columns: Vec<f32>,
    product: Vec<f32>,
}

impl Scratch {
    fn columns(&mut self, len: usize) -> &mut [f32] {
        grow(&mut self.columns, len)
    }

    fn both(&mut self, columns: usize, product: usize) -> (&mut [f32], &mut [f32]) {
        grow(&mut self.product, product);
        (&mut self.columns[..columns], &mut self.product[..product])
    }
}

/// `buffer`'s first `len` values, grown if needed (contents are overwritten by the caller).
fn grow(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

/// Writes one record's patches into columns `offset..offset + out_h·out_w` of `columns`
/// (`[C·kh·kw, width]`, row-major); padding reads as zero.
pub(crate) fn unroll(w: &Window, record: &[f32], columns: &mut [f32], width: usize, offset: usize) {
    let (kh, kw) = w.kernel;
    let same_size = w.stride == (1, 1) && w.out_h == w.in_h && w.out_w == w.in_w;
    for c in 0..w.channels_in {
        let plane = &record[c * w.in_h * w.in_w..(c + 1) * w.in_h * w.in_w];
        for ky in 0..kh {
            for kx in 0..kw {
                let row = ((c * kh + ky) * kw + kx) * width + offset;
                let dst = &mut columns[row..row + w.out_h * w.out_w];
                if same_size {
                    unroll_shifted(w, plane, dst, ky, kx);
                    continue;
                }
                for oy in 0..w.out_h {
                    let line = &mut dst[oy * w.out_w..(oy + 1) * w.out_w];
                    let iy = (oy * w.stride.0 + ky).checked_sub(w.pad.0);
                    match iy.filter(|&iy| iy < w.in_h) {
                        None => line.fill(0.0),
                        Some(iy) => {
                            let src = &plane[iy * w.in_w..(iy + 1) * w.in_w];
                            unroll_line(line, src, w.stride.1, kx, w.pad.1);
                        }
                    }
                }
            }
        }
    }
}

/// A stride-1 convolution that keeps the image's size: at kernel offset `(ky, kx)` the
/// patch values are the plane shifted by `(ky − pad, kx − pad)`, so one copy of the plane,
/// then zeros where the shift crosses an edge.
fn unroll_shifted(w: &Window, plane: &[f32], dst: &mut [f32], ky: usize, kx: usize) {
    let (dy, dx) = (
        ky as isize - w.pad.0 as isize,
        kx as isize - w.pad.1 as isize,
    );
    let shift = dy * w.in_w as isize + dx;
    let len = plane.len() as isize;
    let start = (-shift).clamp(0, len) as usize;
    let end = (len - shift).clamp(0, len) as usize;
    dst[..start].fill(0.0);
    if start < end {
        let from = (start as isize + shift) as usize;
        dst[start..end].copy_from_slice(&plane[from..from + end - start]);
    }
    dst[end.max(start)..].fill(0.0);
    // Columns whose source wrapped onto the neighbouring row.
    let (left, right) = (
        (-dx).clamp(0, w.out_w as isize) as usize,
        (w.out_w as isize - dx).clamp(0, w.out_w as isize) as usize,
    );
    if left > 0 || right < w.out_w {
        for line in dst.chunks_exact_mut(w.out_w) {
            line[..left].fill(0.0);
            line[right.max(left)..].fill(0.0);
        }
    }
}

/// One output row's inputs at kernel column `kx`: `line[ox] = src[ox·stride + kx − pad]`,
/// zero outside `src`.
fn unroll_line(line: &mut [f32], src: &[f32], stride: usize, kx: usize, pad: usize) {
    if stride == 1 {
        // Contiguous: the columns that fall inside `src` are one copy.
        let first = pad.saturating_sub(kx).min(line.len());
        let start = first + kx - pad;
        let end = line.len().min((src.len() + pad).saturating_sub(kx));
        if first < end {
            line[..first].fill(0.0);
            line[first..end].copy_from_slice(&src[start..start + end - first]);
            line[end..].fill(0.0);
            return;
        }
    }
    for (ox, v) in line.iter_mut().enumerate() {
        *v = (ox * stride + kx)
            .checked_sub(pad)
            .and_then(|ix| src.get(ix))
            .copied()
            .unwrap_or(0.0);
    }
}
