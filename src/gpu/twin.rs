//! CPU twins of the GPU kernels: each computes, over a batch of records, exactly what its
//! WGSL kernel computes, in the same order of float32 operations, so that the kernels can be
//! tested value by value and a lowered plan can be checked against tract without a GPU.

use super::plan::{Activation, Layer, Plan, PoolKind, Window};

/// Runs `plan` over `n` records stored one after another in `input`.
pub fn run_plan(plan: &Plan, input: &[f32], n: usize) -> Vec<f32> {
    let mut current = input.to_vec();
    let mut len = plan.input_len;
    for layer in &plan.layers {
        current = run_layer(layer, &current, n, len);
        len = layer.output_len();
    }
    current
}

/// One layer over `n` records of `len` values each.
pub fn run_layer(layer: &Layer, input: &[f32], n: usize, len: usize) -> Vec<f32> {
    let out_len = layer.output_len();
    let mut out = vec![0.0f32; n * out_len];
    for r in 0..n {
        let x = &input[r * len..(r + 1) * len];
        let y = &mut out[r * out_len..(r + 1) * out_len];
        for (o, value) in y.iter_mut().enumerate() {
            *value = element(layer, x, o);
        }
        if let Layer::Softmax { log, .. } = layer {
            softmax_in_place(y, *log);
        }
    }
    out
}

/// Output value `o` of one record (the per-invocation work of the kernel); softmax rows are
/// finished by [`softmax_in_place`].
fn element(layer: &Layer, x: &[f32], o: usize) -> f32 {
    match layer {
        Layer::Dense {
            inputs,
            outputs,
            weight,
            bias,
        } => {
            let mut acc = bias[o];
            for k in 0..*inputs {
                acc += x[k] * weight[k * outputs + o];
            }
            acc
        }
        Layer::Conv2d {
            window,
            weight,
            bias,
            ..
        } => {
            let (c_out, oy, ox) = split(o, window.out_h, window.out_w);
            let mut acc = bias[c_out];
            let (kh, kw) = window.kernel;
            for c in 0..window.channels_in {
                for ky in 0..kh {
                    for kx in 0..kw {
                        if let Some(i) = source(window, c, oy, ox, ky, kx) {
                            let w = weight[((c_out * window.channels_in + c) * kh + ky) * kw + kx];
                            acc += x[i] * w;
                        }
                    }
                }
            }
            acc
        }
        Layer::Pool2d { window, kind } => {
            let (c, oy, ox) = split(o, window.out_h, window.out_w);
            let (kh, kw) = window.kernel;
            let mut best = f32::MIN;
            let mut sum = 0.0f32;
            let mut count = 0u32;
            for ky in 0..kh {
                for kx in 0..kw {
                    if let Some(i) = source(window, c, oy, ox, ky, kx) {
                        best = best.max(x[i]);
                        sum += x[i];
                        count += 1;
                    }
                }
            }
            match kind {
                PoolKind::Max => best,
                PoolKind::Average {
                    count_include_pad: true,
                } => sum / (kh * kw) as f32,
                PoolKind::Average { .. } => sum / count.max(1) as f32,
            }
        }
        Layer::ChannelAffine {
            inner,
            scale,
            shift,
            ..
        } => {
            let c = o / inner;
            x[o] * scale[c] + shift[c]
        }
        Layer::Activation { kind, .. } => activate(*kind, x[o]),
        Layer::Softmax { .. } => x[o],
    }
}

/// `(channel, row, column)` of flat index `o` in `[C, h, w]`.
fn split(o: usize, h: usize, w: usize) -> (usize, usize, usize) {
    (o / (h * w), (o / w) % h, o % w)
}

/// The input index the window at output `(oy, ox)` reads at kernel offset `(ky, kx)` in
/// channel `c`, or `None` where it falls on padding.
fn source(w: &Window, c: usize, oy: usize, ox: usize, ky: usize, kx: usize) -> Option<usize> {
    let iy = (oy * w.stride.0 + ky).checked_sub(w.pad.0)?;
    let ix = (ox * w.stride.1 + kx).checked_sub(w.pad.1)?;
    (iy < w.in_h && ix < w.in_w).then(|| (c * w.in_h + iy) * w.in_w + ix)
}

/// `activate` over every value, one loop per kind (not a `match` per value), so that
/// ReLU's and LeakyReLU's loops vectorise.
pub fn activate_all(kind: Activation, values: &mut [f32]) {
    match kind {
        Activation::Relu => values
            .iter_mut()
            .for_each(|v| *v = activate(Activation::Relu, *v)),
        Activation::LeakyRelu(alpha) => values
            .iter_mut()
            .for_each(|v| *v = activate(Activation::LeakyRelu(alpha), *v)),
        Activation::Sigmoid | Activation::Tanh => {
            values.iter_mut().for_each(|v| *v = activate(kind, *v))
        }
    }
}

pub fn activate(kind: Activation, v: f32) -> f32 {
    match kind {
        // A comparison, not `f32::max`: in wasm `max` is a call to libm's fmaxf per value
        // (its NaN rule differs from wasm's f32.max); the comparison vectorises. NaN gives 0
        // either way.
        Activation::Relu => {
            if v > 0.0 {
                v
            } else {
                0.0
            }
        }
        Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        Activation::Tanh => v.tanh(),
        Activation::LeakyRelu(alpha) => {
            if v >= 0.0 {
                v
            } else {
                alpha * v
            }
        }
    }
}

/// Softmax (or log-softmax) of one row, the maximum subtracted first.
pub fn softmax_in_place(row: &mut [f32], log: bool) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
    for v in row.iter_mut() {
        *v = if log {
            *v - max - sum.ln()
        } else {
            (*v - max).exp() / sum
        };
    }
}

/// The per-record signals the GPU reduces logits to (so that only N × 2 floats come back
/// instead of N × C): `p_y` and LiRA's `logit_scaled`, from logits and labels.
pub fn reduce_signals(logits: &[f32], classes: usize, labels: &[u32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(labels.len() * 2);
    for (row, &y) in logits.chunks_exact(classes).zip(labels) {
        let y = y as usize;
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
        let max_other = row
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != y)
            .map(|(_, v)| *v)
            .fold(f32::NEG_INFINITY, f32::max);
        let sum_other: f32 = row
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != y)
            .map(|(_, v)| (v - max_other).exp())
            .sum();
        out.push((row[y] - max).exp() / sum);
        out.push(row[y] - (max_other + sum_other.ln()));
    }
    out
}
