//! A convolution step of the CPU kernels: each record zero-padded, convolved directly
//! ([`super::direct`]) into a pixel-major image, then finished by the layers fused after it
//! (an activation, a 2×2 stride-2 max-pool) as the image is written out.
//!
//! Between two convolutions records stay pixel-major (`[h, w, channels]`): the second
//! convolution reads that layout as well as the channel-major one, and pooling runs across
//! the contiguous channels of a pixel. Only the last convolution of a chain writes the
//! channel-major layout (`[channels, h, w]`, ONNX's) that the layers after it read.

use super::direct::{DirectConv, Layout};
use super::grow;
use super::layers::larger;
use crate::gpu::twin::activate_all;
use crate::gpu::{Activation, Window};

pub(super) struct Conv {
    window: Window,
    epilogue: Epilogue,
    channels_out: usize,
    direct: DirectConv,
    output: Layout,
}

impl Conv {
    /// `weight` and `bias` as ONNX stores them; records arrive in `input` layout and leave in
    /// `output` layout.
    pub(super) fn new(
        window: Window,
        channels_out: usize,
        (weight, bias): (&[f32], &[f32]),
        epilogue: Epilogue,
        (input, output): (Layout, Layout),
    ) -> Conv {
        Conv {
            window,
            epilogue,
            channels_out,
            direct: DirectConv::new(window, channels_out, weight, bias, input),
            output,
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

    /// The convolution of `n` records into `out` (`n` records of [`Self::output_len`]
    /// values), each finished by the epilogue.
    pub(super) fn run(&self, input: &[f32], n: usize, scratch: &mut Scratch, out: &mut [f32]) {
        let w = &self.window;
        let in_len = w.channels_in * w.in_h * w.in_w;
        let channels = self.direct.channels_padded();
        let image_len = w.out_h * w.out_w * channels;
        let records = input.chunks_exact(in_len).take(n);
        for (record, finished) in records.zip(out.chunks_exact_mut(self.output_len())) {
            let padded = grow(&mut scratch.padded, self.direct.padded_len());
            self.direct.pad(record, padded);
            let image = grow(&mut scratch.image, image_len);
            self.direct.run_record(padded, image);
            let pooled = &mut scratch.pooled;
            self.direct.isa().vectorised(
                #[inline(always)]
                || {
                    self.epilogue.finish(
                        image,
                        (channels, self.channels_out),
                        w.out_w,
                        pooled,
                        (self.output, finished),
                    )
                },
            );
        }
    }
}

/// What follows a convolution and is done as its output is written: an activation, then a
/// 2×2 stride-2 max-pool (computed in the other order where that gives the same values).
/// Fusing them saves writing and rereading the widest image.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Epilogue {
    pub(super) activation: Option<Activation>,
    pub(super) pool_2x2: bool,
}

impl Epilogue {
    /// Writes one record's finished output to `out` in `layout`, from its convolution
    /// `image` (`[h·w, channels_padded]`, `out_w` pixels a row). A non-decreasing activation
    /// (all but a LeakyRelu with a negative slope) commutes with the max-pool: pooling first
    /// activates a quarter of the values.
    #[inline(always)]
    fn finish(
        &self,
        image: &mut [f32],
        (channels_padded, channels): (usize, usize),
        out_w: usize,
        pooled: &mut Vec<f32>,
        (layout, out): (Layout, &mut [f32]),
    ) {
        let activation = self.activation;
        let pool_first = activation.is_none_or(non_decreasing);
        if !pool_first && let Some(kind) = activation {
            activate_all(kind, image);
        }
        let finished: &mut [f32] = if self.pool_2x2 {
            let pixels = image.len() / channels_padded;
            let (rows, half) = (pixels / out_w / 2, out_w / 2);
            let result = grow(pooled, rows * half * channels_padded);
            max_pool_2x2_pixel_major(image, result, out_w * channels_padded, channels_padded);
            result
        } else {
            image
        };
        if pool_first && let Some(kind) = activation {
            activate_all(kind, finished);
        }
        let pixels = finished.len() / channels_padded;
        match layout {
            Layout::PixelMajor if channels == channels_padded => {
                out.copy_from_slice(finished);
            }
            Layout::PixelMajor => {
                let pixels_in = finished.chunks_exact(channels_padded);
                for (dst, pixel) in out.chunks_exact_mut(channels).zip(pixels_in) {
                    dst.copy_from_slice(&pixel[..channels]);
                }
            }
            Layout::ChannelMajor => {
                for (c, plane) in out.chunks_exact_mut(pixels).enumerate() {
                    let column = finished[c..].iter().step_by(channels_padded);
                    for (v, &x) in plane.iter_mut().zip(column) {
                        *v = x;
                    }
                }
            }
        }
    }
}

/// The 2×2 stride-2 max-pool of a pixel-major image (`row` values a row), each pixel's
/// `channels` compared with its three neighbours' (an odd last row or column is dropped).
#[inline(always)]
fn max_pool_2x2_pixel_major(image: &[f32], pooled: &mut [f32], row: usize, channels: usize) {
    let half_row = (row / channels / 2) * channels;
    for (line, rows) in pooled
        .chunks_exact_mut(half_row.max(1))
        .zip(image.chunks_exact(2 * row))
    {
        let (top, bottom) = rows.split_at(row);
        for ((dst, top), bottom) in line
            .chunks_exact_mut(channels)
            .zip(top.chunks_exact(2 * channels))
            .zip(bottom.chunks_exact(2 * channels))
        {
            let (a, b) = top.split_at(channels);
            let (c, d) = bottom.split_at(channels);
            for ((((v, a), b), c), d) in dst.iter_mut().zip(a).zip(b).zip(c).zip(d) {
                *v = larger(larger(*a, *b), larger(*c, *d));
            }
        }
    }
}

fn non_decreasing(kind: Activation) -> bool {
    match kind {
        Activation::LeakyRelu(slope) => slope >= 0.0,
        Activation::Relu | Activation::Sigmoid | Activation::Tanh => true,
    }
}

/// Buffers a convolution reuses from record to record.
#[derive(Default)]
pub(super) struct Scratch {
    padded: Vec<f32>,
    image: Vec<f32>,
    pooled: Vec<f32>,
}
