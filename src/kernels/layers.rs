//! The layers between GEMMs: pooling, per-channel affine, activations and softmax, each a
//! pass over the batch's values, in place where the layer keeps its shape. They compute what
//! the GPU kernels' CPU twins ([`crate::gpu::twin`]) compute, with the same formulas.

use crate::gpu::twin::{activate_all, softmax_in_place};
use crate::gpu::{Layer, PoolKind, Window};

/// `layer` over records of `len` values each, stored one after another in `source`, into
/// `target` (as many records of the layer's output).
pub(super) fn run(layer: &Layer, source: &[f32], len: usize, target: &mut [f32]) {
    match layer {
        Layer::Pool2d { window, kind } => pool(window, *kind, source, target),
        _ => {
            target.copy_from_slice(source);
            run_in_place(layer, target, len);
        }
    }
}

/// Whether `layer` keeps its input's shape, so that [`run_in_place`] can run it.
pub(super) fn keeps_shape(layer: &Layer) -> bool {
    matches!(
        layer,
        Layer::ChannelAffine { .. } | Layer::Activation { .. } | Layer::Softmax { .. }
    )
}

/// A layer that [`keeps_shape`] over records of `len` values, in place.
pub(super) fn run_in_place(layer: &Layer, values: &mut [f32], len: usize) {
    match layer {
        Layer::ChannelAffine {
            inner,
            scale,
            shift,
            ..
        } => {
            for record in values.chunks_exact_mut(len) {
                for ((channel, a), b) in record.chunks_exact_mut(*inner).zip(scale).zip(shift) {
                    channel.iter_mut().for_each(|v| *v = *v * a + b);
                }
            }
        }
        Layer::Activation { kind, .. } => activate_all(*kind, values),
        Layer::Softmax { log, .. } => {
            for record in values.chunks_exact_mut(len) {
                softmax_in_place(record, *log);
            }
        }
        Layer::Pool2d { .. } | Layer::Dense { .. } | Layer::Conv2d { .. } => {
            unreachable!("only layers that keep their shape run in place")
        }
    }
}

/// Max or average pooling, plane by plane; the window's padded cells are skipped (max) or
/// counted as the layer says (average).
fn pool(w: &Window, kind: PoolKind, values: &[f32], out: &mut [f32]) {
    let (kh, kw) = w.kernel;
    let (in_plane, out_plane) = (w.in_h * w.in_w, w.out_h * w.out_w);
    if is_max_pool_2x2(w, kind) {
        for (src, dst) in values
            .chunks_exact(in_plane)
            .zip(out.chunks_exact_mut(out_plane))
        {
            max_pool_2x2(src, dst, w.in_w, w.out_w);
        }
        return;
    }
    for (src, dst) in values
        .chunks_exact(in_plane)
        .zip(out.chunks_exact_mut(out_plane))
    {
        for oy in 0..w.out_h {
            let rows = window_range(oy, w.stride.0, w.pad.0, kh, w.in_h);
            for ox in 0..w.out_w {
                let cols = window_range(ox, w.stride.1, w.pad.1, kw, w.in_w);
                let mut best = f32::MIN;
                let mut sum = 0.0f32;
                for iy in rows.clone() {
                    for &v in &src[iy * w.in_w + cols.start..iy * w.in_w + cols.end] {
                        best = best.max(v);
                        sum += v;
                    }
                }
                let count = rows.len() * cols.len();
                dst[oy * w.out_w + ox] = match kind {
                    PoolKind::Max => best,
                    PoolKind::Average {
                        count_include_pad: true,
                    } => sum / (kh * kw) as f32,
                    PoolKind::Average { .. } => sum / count.max(1) as f32,
                };
            }
        }
    }
}

/// Whether a pooling is the common CNN one (max over 2×2 windows, stride 2, no padding),
/// which [`max_pool_2x2`] computes (and a convolution's epilogue fuses).
pub(super) fn is_max_pool_2x2(w: &Window, kind: PoolKind) -> bool {
    kind == PoolKind::Max && w.kernel == (2, 2) && w.stride == (2, 2) && w.pad == (0, 0)
}

/// The common CNN pooling (2×2 windows, stride 2, no padding) of one plane: the same maxima
/// as the general loop for numbers, as plain indexed loops. The browser build is optimised
/// for size, which leaves iterator adapters (`zip`, `chunks_exact`) as calls per value: they
/// made this pooling a third of the zoo CNN's inference in wasm.
pub(super) fn max_pool_2x2(src: &[f32], dst: &mut [f32], in_w: usize, out_w: usize) {
    let rows = dst.len() / out_w.max(1);
    for oy in 0..rows {
        let top = &src[2 * oy * in_w..2 * oy * in_w + 2 * out_w];
        let bottom = &src[(2 * oy + 1) * in_w..(2 * oy + 1) * in_w + 2 * out_w];
        let line = &mut dst[oy * out_w..(oy + 1) * out_w];
        for ox in 0..out_w {
            let upper = larger(top[2 * ox], top[2 * ox + 1]);
            let lower = larger(bottom[2 * ox], bottom[2 * ox + 1]);
            line[ox] = larger(upper, lower);
        }
    }
}

/// The larger of two values as one comparison and select (x86's `maxps`, wasm's
/// `f32x4.pmax`), where `f32::max` is a call per value in wasm and a NaN fix-up natively;
/// with a NaN the result may be NaN.
#[inline(always)]
pub(super) fn larger(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// The input rows (or columns) a window at output position `o` covers, padding left out.
pub(crate) fn window_range(
    o: usize,
    stride: usize,
    pad: usize,
    kernel: usize,
    size: usize,
) -> std::ops::Range<usize> {
    let start = (o * stride).saturating_sub(pad);
    let end = (o * stride + kernel).saturating_sub(pad).min(size);
    start..end.max(start)
}
