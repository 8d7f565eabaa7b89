//! Each layer's training pass: forward over a batch (keeping what its gradient needs) and
//! backward (the gradient of its parameters, accumulated, and of its input). Records are
//! stored one after another, NCHW for images, as in the inference kernels.

use crate::gpu::twin::{activate, activate_all};
use crate::gpu::{Activation, PoolKind, Window};
use crate::kernels::{unroll, window_range};
use crate::matmul::{Mat, matmul};

/// Records a convolution unrolls and multiplies at once (as the inference kernels do).
const RECORDS_PER_BLOCK: usize = 8;

/// `out = x·W + b` for `n` records.
pub(super) fn dense_forward(
    x: &[f32],
    n: usize,
    inputs: usize,
    outputs: usize,
    params: &[f32],
) -> Vec<f32> {
    let (w, b) = params.split_at(inputs * outputs);
    let mut out = vec![0.0; n * outputs];
    matmul(
        &mut out,
        Mat::new(x, n, inputs),
        Mat::new(w, inputs, outputs),
        false,
    );
    for row in out.chunks_exact_mut(outputs) {
        row.iter_mut().zip(b).for_each(|(v, b)| *v += b);
    }
    out
}

/// Writes `dW = xᵀ·dy`, `db = Σ dy` into `grads`; returns `dx = dy·Wᵀ` when asked.
#[allow(clippy::too_many_arguments)]
pub(super) fn dense_backward(
    x: &[f32],
    dy: &[f32],
    n: usize,
    inputs: usize,
    outputs: usize,
    params: &[f32],
    grads: &mut [f32],
    want_dx: bool,
) -> Option<Vec<f32>> {
    let (dw, db) = grads.split_at_mut(inputs * outputs);
    matmul(
        dw,
        Mat::new(x, n, inputs).t(),
        Mat::new(dy, n, outputs),
        false,
    );
    db.fill(0.0);
    for row in dy.chunks_exact(outputs) {
        db.iter_mut().zip(row).for_each(|(g, d)| *g += d);
    }
    want_dx.then(|| {
        let mut dx = vec![0.0; n * inputs];
        let w = &params[..inputs * outputs];
        matmul(
            &mut dx,
            Mat::new(dy, n, outputs),
            Mat::new(w, inputs, outputs).t(),
            false,
        );
        dx
    })
}

/// A convolution (weights `[out, in·kh·kw]` then one bias per output channel) over `n`
/// records, a block of records per GEMM.
pub(super) fn conv_forward(
    x: &[f32],
    n: usize,
    window: &Window,
    channels_out: usize,
    params: &[f32],
) -> Vec<f32> {
    let (depth, pixels) = (window.patch_len(), window.out_h * window.out_w);
    let (in_len, out_len) = (
        window.channels_in * window.in_h * window.in_w,
        channels_out * pixels,
    );
    let (w, bias) = params.split_at(channels_out * depth);
    let mut out = vec![0.0; n * out_len];
    let mut columns = Vec::new();
    let mut product = Vec::new();
    for first in (0..n).step_by(RECORDS_PER_BLOCK) {
        let count = RECORDS_PER_BLOCK.min(n - first);
        let width = count * pixels;
        unroll_block(window, &x[first * in_len..], count, &mut columns);
        product.resize(channels_out * width, 0.0);
        matmul(
            &mut product,
            Mat::new(w, channels_out, depth),
            Mat::new(&columns, depth, width),
            false,
        );
        for r in 0..count {
            let record = &mut out[(first + r) * out_len..][..out_len];
            for (c, plane) in record.chunks_exact_mut(pixels).enumerate() {
                let from = &product[c * width + r * pixels..][..pixels];
                plane
                    .iter_mut()
                    .zip(from)
                    .for_each(|(v, p)| *v = p + bias[c]);
            }
        }
    }
    out
}

/// The convolution's gradients, written into `grads`: `dW = dy·colsᵀ`, `db = Σ dy` per
/// channel, and (when asked) `dx`, the columns' gradient `Wᵀ·dy` folded back onto the image.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv_backward(
    x: &[f32],
    dy: &[f32],
    n: usize,
    window: &Window,
    channels_out: usize,
    params: &[f32],
    grads: &mut [f32],
    want_dx: bool,
) -> Option<Vec<f32>> {
    let (depth, pixels) = (window.patch_len(), window.out_h * window.out_w);
    let (in_len, out_len) = (
        window.channels_in * window.in_h * window.in_w,
        channels_out * pixels,
    );
    let w = &params[..channels_out * depth];
    let (dw, db) = grads.split_at_mut(channels_out * depth);
    db.fill(0.0);
    let mut dx = want_dx.then(|| vec![0.0; n * in_len]);
    let mut columns = Vec::new();
    let mut dy_block = Vec::new();
    let mut d_columns = Vec::new();
    for first in (0..n).step_by(RECORDS_PER_BLOCK) {
        let count = RECORDS_PER_BLOCK.min(n - first);
        let width = count * pixels;
        unroll_block(window, &x[first * in_len..], count, &mut columns);
        dy_block.resize(channels_out * width, 0.0);
        for r in 0..count {
            let record = &dy[(first + r) * out_len..][..out_len];
            for (c, plane) in record.chunks_exact(pixels).enumerate() {
                dy_block[c * width + r * pixels..][..pixels].copy_from_slice(plane);
                db[c] += plane.iter().sum::<f32>();
            }
        }
        matmul(
            dw,
            Mat::new(&dy_block, channels_out, width),
            Mat::new(&columns, depth, width).t(),
            first > 0,
        );
        if let Some(dx) = &mut dx {
            d_columns.resize(depth * width, 0.0);
            matmul(
                &mut d_columns,
                Mat::new(w, channels_out, depth).t(),
                Mat::new(&dy_block, channels_out, width),
                false,
            );
            for r in 0..count {
                let record = &mut dx[(first + r) * in_len..][..in_len];
                fold(window, &d_columns, width, r * pixels, record);
            }
        }
    }
    dx
}

/// Unrolls `count` records into `columns` (`[C·kh·kw, count·pixels]`).
fn unroll_block(window: &Window, x: &[f32], count: usize, columns: &mut Vec<f32>) {
    let in_len = window.channels_in * window.in_h * window.in_w;
    let pixels = window.out_h * window.out_w;
    let width = count * pixels;
    columns.resize(window.patch_len() * width, 0.0);
    for r in 0..count {
        unroll(
            window,
            &x[r * in_len..][..in_len],
            columns,
            width,
            r * pixels,
        );
    }
}

/// The inverse of unrolling: adds each patch value's gradient back onto the input cell it
/// was read from (padding cells are dropped).
fn fold(w: &Window, d_columns: &[f32], width: usize, offset: usize, dx: &mut [f32]) {
    let (kh, kw) = w.kernel;
    for c in 0..w.channels_in {
        let plane = &mut dx[c * w.in_h * w.in_w..][..w.in_h * w.in_w];
        for ky in 0..kh {
            for kx in 0..kw {
                let row = &d_columns[((c * kh + ky) * kw + kx) * width + offset..];
                for oy in 0..w.out_h {
                    let Some(iy) = (oy * w.stride.0 + ky)
                        .checked_sub(w.pad.0)
                        .filter(|&iy| iy < w.in_h)
                    else {
                        continue;
                    };
                    let line = &row[oy * w.out_w..][..w.out_w];
                    for (ox, g) in line.iter().enumerate() {
                        if let Some(ix) = (ox * w.stride.1 + kx)
                            .checked_sub(w.pad.1)
                            .filter(|&ix| ix < w.in_w)
                        {
                            plane[iy * w.in_w + ix] += g;
                        }
                    }
                }
            }
        }
    }
}

/// Batch statistics of one batch normalisation, kept for its backward pass.
pub(super) struct BatchStats {
    pub mean: Vec<f32>,
    /// Biased variance (divided by the count), as the running estimate takes it.
    pub var: Vec<f32>,
    pub inv_std: Vec<f32>,
    /// The normalised input.
    pub normalised: Vec<f32>,
}

/// Batch normalisation with the batch's own statistics; parameters `[γ; C]` then `[β; C]`.
pub(super) fn batch_norm_forward(
    x: &[f32],
    channels: usize,
    inner: usize,
    epsilon: f32,
    params: &[f32],
) -> (Vec<f32>, BatchStats) {
    let (gamma, beta) = params.split_at(channels);
    let len = channels * inner;
    let count = (x.len() / len * inner).max(1) as f64;
    let mut mean = vec![0.0f32; channels];
    let mut var = vec![0.0f32; channels];
    for c in 0..channels {
        let mut sum = 0.0f64;
        for record in x.chunks_exact(len) {
            sum += record[c * inner..][..inner]
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>();
        }
        let m = sum / count;
        let mut sq = 0.0f64;
        for record in x.chunks_exact(len) {
            sq += record[c * inner..][..inner]
                .iter()
                .map(|&v| (v as f64 - m).powi(2))
                .sum::<f64>();
        }
        mean[c] = m as f32;
        var[c] = (sq / count) as f32;
    }
    let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    let mut normalised = x.to_vec();
    let mut out = x.to_vec();
    for (record, normal) in out
        .chunks_exact_mut(len)
        .zip(normalised.chunks_exact_mut(len))
    {
        for c in 0..channels {
            let (m, s, g, b) = (mean[c], inv_std[c], gamma[c], beta[c]);
            for (o, z) in record[c * inner..][..inner]
                .iter_mut()
                .zip(&mut normal[c * inner..][..inner])
            {
                *z = (*z - m) * s;
                *o = *z * g + b;
            }
        }
    }
    let stats = BatchStats {
        mean,
        var,
        inv_std,
        normalised,
    };
    (out, stats)
}

/// `dγ`, `dβ` written into `grads`; returns `dx` through the batch statistics.
pub(super) fn batch_norm_backward(
    dy: &[f32],
    stats: &BatchStats,
    channels: usize,
    inner: usize,
    params: &[f32],
    grads: &mut [f32],
) -> Vec<f32> {
    let gamma = &params[..channels];
    let len = channels * inner;
    let count = (dy.len() / len * inner).max(1) as f32;
    let mut dx = vec![0.0f32; dy.len()];
    for c in 0..channels {
        let (mut sum_dy, mut sum_dy_z) = (0.0f64, 0.0f64);
        for (d, z) in dy.chunks_exact(len).zip(stats.normalised.chunks_exact(len)) {
            for (d, z) in d[c * inner..][..inner].iter().zip(&z[c * inner..][..inner]) {
                sum_dy += *d as f64;
                sum_dy_z += (*d * *z) as f64;
            }
        }
        grads[c] = sum_dy_z as f32;
        grads[channels + c] = sum_dy as f32;
        let scale = gamma[c] * stats.inv_std[c] / count;
        let (sum_dy, sum_dy_z) = (sum_dy as f32, sum_dy_z as f32);
        for ((out, d), z) in dx
            .chunks_exact_mut(len)
            .zip(dy.chunks_exact(len))
            .zip(stats.normalised.chunks_exact(len))
        {
            for ((o, d), z) in out[c * inner..][..inner]
                .iter_mut()
                .zip(&d[c * inner..][..inner])
                .zip(&z[c * inner..][..inner])
            {
                *o = scale * (count * d - sum_dy - z * sum_dy_z);
            }
        }
    }
    dx
}

/// `out = x · scale[c] + shift[c]`, or its input gradient `dy · scale[c]`.
pub(super) fn affine(values: &mut [f32], inner: usize, scale: &[f32], shift: Option<&[f32]>) {
    let len = scale.len() * inner;
    for record in values.chunks_exact_mut(len) {
        for (c, channel) in record.chunks_exact_mut(inner).enumerate() {
            let b = shift.map_or(0.0, |s| s[c]);
            channel.iter_mut().for_each(|v| *v = *v * scale[c] + b);
        }
    }
}

pub(super) fn activation_forward(kind: Activation, x: &[f32]) -> Vec<f32> {
    let mut out = x.to_vec();
    activate_all(kind, &mut out);
    out
}

/// `dx = dy · f'(x)`, from the activation's input `x`.
pub(super) fn activation_backward(kind: Activation, x: &[f32], mut dy: Vec<f32>) -> Vec<f32> {
    match kind {
        Activation::Relu => {
            let n = dy.len().min(x.len());
            let (d, x) = (&mut dy[..n], &x[..n]);
            for i in 0..n {
                d[i] *= (x[i] > 0.0) as u8 as f32;
            }
        }
        Activation::Sigmoid => {
            for (d, &v) in dy.iter_mut().zip(x) {
                let s = activate(kind, v);
                *d *= s * (1.0 - s);
            }
        }
        Activation::Tanh => {
            for (d, &v) in dy.iter_mut().zip(x) {
                *d *= 1.0 - v.tanh().powi(2);
            }
        }
        Activation::LeakyRelu(alpha) => {
            for (d, &v) in dy.iter_mut().zip(x) {
                *d *= if v >= 0.0 { 1.0 } else { alpha };
            }
        }
    }
    dy
}

/// Pooling over `n` records; for max pooling, the input index each output took its value
/// from (within its record), for the backward pass.
pub(super) fn pool_forward(
    x: &[f32],
    n: usize,
    w: &Window,
    kind: PoolKind,
) -> (Vec<f32>, Vec<u32>) {
    let (in_plane, out_plane) = (w.in_h * w.in_w, w.out_h * w.out_w);
    let planes = n * w.channels_in;
    let mut out = vec![0.0f32; planes * out_plane];
    let mut argmax = Vec::with_capacity(if kind == PoolKind::Max { out.len() } else { 0 });
    for (p, dst) in out.chunks_exact_mut(out_plane).enumerate() {
        let src = &x[p * in_plane..][..in_plane];
        for oy in 0..w.out_h {
            let rows = window_range(oy, w.stride.0, w.pad.0, w.kernel.0, w.in_h);
            for ox in 0..w.out_w {
                let cols = window_range(ox, w.stride.1, w.pad.1, w.kernel.1, w.in_w);
                let (mut best, mut at, mut sum) = (f32::MIN, 0usize, 0.0f32);
                for iy in rows.clone() {
                    for ix in cols.clone() {
                        let v = src[iy * w.in_w + ix];
                        if v > best {
                            best = v;
                            at = iy * w.in_w + ix;
                        }
                        sum += v;
                    }
                }
                dst[oy * w.out_w + ox] = match kind {
                    PoolKind::Max => {
                        argmax.push((p % w.channels_in * in_plane + at) as u32);
                        best
                    }
                    PoolKind::Average { .. } => sum / pool_divisor(w, kind, &rows, &cols),
                };
            }
        }
    }
    (out, argmax)
}

fn pool_divisor(
    w: &Window,
    kind: PoolKind,
    rows: &std::ops::Range<usize>,
    cols: &std::ops::Range<usize>,
) -> f32 {
    match kind {
        PoolKind::Average {
            count_include_pad: true,
        } => (w.kernel.0 * w.kernel.1) as f32,
        _ => (rows.len() * cols.len()).max(1) as f32,
    }
}

/// The pooling's input gradient: to the maximum's cell, or spread over the window.
pub(super) fn pool_backward(
    dy: &[f32],
    n: usize,
    w: &Window,
    kind: PoolKind,
    argmax: &[u32],
) -> Vec<f32> {
    let (in_plane, out_plane) = (w.in_h * w.in_w, w.out_h * w.out_w);
    let in_len = w.channels_in * in_plane;
    let out_len = w.channels_in * out_plane;
    let mut dx = vec![0.0f32; n * in_len];
    if kind == PoolKind::Max {
        for (r, (d, at)) in dy
            .chunks_exact(out_len)
            .zip(argmax.chunks_exact(out_len))
            .enumerate()
        {
            let record = &mut dx[r * in_len..][..in_len];
            d.iter().zip(at).for_each(|(g, &i)| record[i as usize] += g);
        }
        return dx;
    }
    for (p, d) in dy.chunks_exact(out_plane).enumerate() {
        let plane = &mut dx[p * in_plane..][..in_plane];
        for oy in 0..w.out_h {
            let rows = window_range(oy, w.stride.0, w.pad.0, w.kernel.0, w.in_h);
            for ox in 0..w.out_w {
                let cols = window_range(ox, w.stride.1, w.pad.1, w.kernel.1, w.in_w);
                let g = d[oy * w.out_w + ox] / pool_divisor(w, kind, &rows, &cols);
                for iy in rows.clone() {
                    plane[iy * w.in_w + cols.start..iy * w.in_w + cols.end]
                        .iter_mut()
                        .for_each(|v| *v += g);
                }
            }
        }
    }
    dx
}
