//! Convolution patches unrolled into the columns of a matrix (im2col), for reference
//! training's convolutions, which multiply them with the GEMM (`crate::train::layers`).
//! Inference convolves directly ([`super::direct`]).

use crate::gpu::Window;

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
