//! A 2-D convolution as one GEMM per block of records: the block's patches unrolled into
//! columns (`[C·kh·kw, records·pixels]`), multiplied by the packed weights
//! (`[out channels, C·kh·kw]`), and the `[out channels, records·pixels]` result laid back
//! out record by record (NCHW). Blocks of a few records keep the unrolled patches in the
//! L2 cache and give the kernel wide enough matrices.

use crate::gpu::Window;
use rten_gemm::{BiasVector, GemmExecutor, GemmInputA, GemmInputB, GemmOptions, PackedAMatrix};
use rten_tensor::NdTensorView;

/// Records unrolled and multiplied at once (measured on the zoo CNN's second convolution:
/// 8 beat 4, 16 and 32).
const RECORDS_PER_BLOCK: usize = 8;

pub(super) struct Conv {
    window: Window,
    channels_out: usize,
    weight: PackedAMatrix<f32>,
    bias: Vec<f32>,
}

impl Conv {
    pub(super) fn new(
        gemm: &GemmExecutor<f32>,
        window: Window,
        channels_out: usize,
        weight: &[f32],
        bias: &[f32],
    ) -> Conv {
        let depth = window.channels_in * window.kernel.0 * window.kernel.1;
        Conv {
            window,
            channels_out,
            weight: gemm.prepack_a(NdTensorView::from_data([channels_out, depth], weight)),
            bias: bias.to_vec(),
        }
    }

    pub(super) fn output_len(&self) -> usize {
        self.channels_out * self.pixels()
    }

    fn pixels(&self) -> usize {
        self.window.out_h * self.window.out_w
    }

    fn depth(&self) -> usize {
        self.window.channels_in * self.window.kernel.0 * self.window.kernel.1
    }

    pub(super) fn run(
        &self,
        gemm: &GemmExecutor<f32>,
        input: &[f32],
        n: usize,
    ) -> Result<Vec<f32>, String> {
        let w = &self.window;
        let in_len = w.channels_in * w.in_h * w.in_w;
        let (pixels, depth) = (self.pixels(), self.depth());
        let mut out = vec![0.0f32; n * self.output_len()];
        let block = RECORDS_PER_BLOCK.min(n.max(1));
        let mut columns = vec![0.0f32; depth * block * pixels];
        let mut product = vec![0.0f32; self.channels_out * block * pixels];
        for first in (0..n).step_by(block) {
            let count = block.min(n - first);
            let width = count * pixels;
            for r in 0..count {
                let record = &input[(first + r) * in_len..(first + r + 1) * in_len];
                unroll(w, record, &mut columns[..depth * width], width, r * pixels);
            }
            gemm.gemm(
                &mut product[..self.channels_out * width],
                GemmInputA::Packed(&self.weight),
                GemmInputB::Unpacked(NdTensorView::from_data(
                    [depth, width],
                    &columns[..depth * width],
                )),
                GemmOptions {
                    bias: Some(BiasVector::Column(&self.bias)),
                    ..Default::default()
                },
            )
            .map_err(|e| format!("convolution: {e}"))?;
            for r in 0..count {
                let record = &mut out[(first + r) * self.output_len()..][..self.output_len()];
                for (c, plane) in record.chunks_exact_mut(pixels).enumerate() {
                    plane.copy_from_slice(&product[c * width + r * pixels..][..pixels]);
                }
            }
        }
        Ok(out)
    }
}

/// Writes one record's patches into columns `offset..offset + out_h·out_w` of `columns`
/// (`[C·kh·kw, width]`, row-major); padding reads as zero.
fn unroll(w: &Window, record: &[f32], columns: &mut [f32], width: usize, offset: usize) {
    let (kh, kw) = w.kernel;
    for c in 0..w.channels_in {
        let plane = &record[c * w.in_h * w.in_w..(c + 1) * w.in_h * w.in_w];
        for ky in 0..kh {
            for kx in 0..kw {
                let row = ((c * kh + ky) * kw + kx) * width + offset;
                let dst = &mut columns[row..row + w.out_h * w.out_w];
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
