//! A 2-D convolution computed directly, without unrolling patches or packing a matrix: for
//! a tile of a few neighbouring output pixels and a block of output channels, the partial
//! sums stay in vector registers while every tap of the window adds one input value
//! (broadcast) times a vector of weights. The zoo's convolutions are small (1 or 16 input
//! channels, 3×3 windows, 16 or 32 output channels): as a GEMM the unrolling, the packing
//! and the layout copies around it cost as much as the products, which is where
//! onnxruntime's direct NCHWc kernels were 1.7× faster (docs/benchmarks.md).
//!
//! The tile's shape is chosen for the vector registers of the instruction set the CPU has
//! (AVX-512 or AVX2 with FMA natively, found at run time; 128-bit vectors in wasm), and the
//! code is plain Rust over fixed-size arrays, compiled once per shape with those features
//! enabled, so that the compiler keeps the tile in registers. Sums run over the window in
//! the same order for every pixel and record: results do not depend on batch or threads.

use super::isa::Isa;
use crate::gpu::Window;

/// How a record's values are ordered: ONNX's channel-major `[channels, h, w]`, or
/// pixel-major `[h, w, channels]`, which one convolution writes for the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    ChannelMajor,
    PixelMajor,
}

/// A convolution's weights laid out for the tiles: output channels in blocks of one or two
/// vectors, each block's weights tap by tap (`[block][c·kh·kw][block width]`), the last
/// block padded with zero channels.
pub(super) struct DirectConv {
    window: Window,
    isa: Isa,
    /// Vectors of output channels per block (1 or 2).
    vectors: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
    /// For each tap (input channel, kernel row, kernel column), its offset from a window's
    /// top-left corner in the zero-padded input record.
    taps: Vec<usize>,
    layout: Layout,
    /// Offset in the padded record from one output pixel's window to the next's.
    pixel_step: usize,
}

impl DirectConv {
    /// `weight` as ONNX stores it: `[out channels, in channels, kh, kw]`; records arrive in
    /// `layout`.
    pub(super) fn new(
        window: Window,
        channels_out: usize,
        weight: &[f32],
        bias: &[f32],
        layout: Layout,
    ) -> Self {
        DirectConv::for_isa(Isa::detect(), window, channels_out, (weight, bias), layout)
    }

    fn for_isa(
        isa: Isa,
        window: Window,
        channels_out: usize,
        (weight, bias): (&[f32], &[f32]),
        layout: Layout,
    ) -> Self {
        let lanes = isa.lanes();
        let vectors = if channels_out > lanes { 2 } else { 1 };
        let width = lanes * vectors;
        let blocks = channels_out.div_ceil(width);
        let (kh, kw) = window.kernel;
        let (ph, pw) = padded_size(&window);
        let channels_in = window.channels_in;
        // Taps in the order they lie in the padded record, each with its index in ONNX's
        // `[in channels, kh, kw]` patch.
        let taps: Vec<(usize, usize)> = match layout {
            Layout::ChannelMajor => (0..channels_in)
                .flat_map(|c| (0..kh).flat_map(move |ky| (0..kw).map(move |kx| (c, ky, kx))))
                .map(|(c, ky, kx)| (c * ph * pw + ky * pw + kx, (c * kh + ky) * kw + kx))
                .collect(),
            Layout::PixelMajor => (0..kh)
                .flat_map(|ky| {
                    (0..kw).flat_map(move |kx| (0..channels_in).map(move |c| (c, ky, kx)))
                })
                .map(|(c, ky, kx)| ((ky * pw + kx) * channels_in + c, (c * kh + ky) * kw + kx))
                .collect(),
        };
        let patch = taps.len();
        let mut weights = vec![0.0; blocks * patch * width];
        for co in 0..channels_out {
            let (block, lane) = (co / width, co % width);
            for (t, &(_, onnx)) in taps.iter().enumerate() {
                weights[(block * patch + t) * width + lane] = weight[co * patch + onnx];
            }
        }
        let mut padded_bias = bias.to_vec();
        padded_bias.resize(blocks * width, 0.0);
        let pixel_step = match layout {
            Layout::ChannelMajor => window.stride.1,
            Layout::PixelMajor => window.stride.1 * channels_in,
        };
        DirectConv {
            window,
            isa,
            vectors,
            weights,
            bias: padded_bias,
            taps: taps.into_iter().map(|(offset, _)| offset).collect(),
            layout,
            pixel_step,
        }
    }

    /// The instruction set its tiles run on.
    pub(super) fn isa(&self) -> Isa {
        self.isa
    }

    /// Output channels per pixel as [`Self::run_record`] writes them (a multiple of the block
    /// width; the channels past `channels_out` are padding).
    pub(super) fn channels_padded(&self) -> usize {
        self.bias.len()
    }

    /// Values of one zero-padded input record.
    pub(super) fn padded_len(&self) -> usize {
        let (ph, pw) = padded_size(&self.window);
        self.window.channels_in * ph * pw
    }

    /// Copies one record (in the layout given at construction) into `padded` with the
    /// window's zero border (and the bottom and right rows a stride may need).
    pub(super) fn pad(&self, record: &[f32], padded: &mut [f32]) {
        let w = &self.window;
        let (ph, pw) = padded_size(w);
        padded.fill(0.0);
        match self.layout {
            Layout::ChannelMajor => {
                for c in 0..w.channels_in {
                    for y in 0..w.in_h {
                        let src = &record[(c * w.in_h + y) * w.in_w..][..w.in_w];
                        let row = (c * ph + y + w.pad.0) * pw + w.pad.1;
                        padded[row..row + w.in_w].copy_from_slice(src);
                    }
                }
            }
            Layout::PixelMajor => {
                let line = w.in_w * w.channels_in;
                for y in 0..w.in_h {
                    let src = &record[y * line..][..line];
                    let row = ((y + w.pad.0) * pw + w.pad.1) * w.channels_in;
                    padded[row..row + line].copy_from_slice(src);
                }
            }
        }
    }

    /// The convolution of one padded record into `image`, pixel-major
    /// (`[out_h·out_w, channels_padded]`), biases added.
    pub(super) fn run_record(&self, padded: &[f32], image: &mut [f32]) {
        debug_assert_eq!(padded.len(), self.padded_len());
        debug_assert_eq!(
            image.len(),
            self.window.out_h * self.window.out_w * self.channels_padded()
        );
        match (self.isa, self.vectors) {
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, 2) => {
                // SAFETY: `Isa::detect` found AVX-512F on this CPU, and AVX-512F implies FMA.
                unsafe { record_avx512::<2, 7>(self, padded, image) }
            }
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, _) => {
                // SAFETY: as above.
                unsafe { record_avx512::<1, 14>(self, padded, image) }
            }
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2, 2) => {
                // SAFETY: `Isa::detect` found AVX2 and FMA on this CPU.
                unsafe { record_avx2::<2, 6>(self, padded, image) }
            }
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2, _) => {
                // SAFETY: as above.
                unsafe { record_avx2::<1, 12>(self, padded, image) }
            }
            (Isa::Portable, 2) => record::<4, 2, 6, Separate>(self, padded, image),
            (Isa::Portable, _) => record::<4, 1, 12, Separate>(self, padded, image),
        }
    }
}

/// The padded input's height and width: the window's padding on every side, and enough
/// rows and columns past it that every tap of every output pixel lands inside.
fn padded_size(w: &Window) -> (usize, usize) {
    let h = (w.out_h - 1) * w.stride.0 + w.kernel.0;
    let wd = (w.out_w - 1) * w.stride.1 + w.kernel.1;
    (h.max(w.in_h + w.pad.0), wd.max(w.in_w + w.pad.1))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn record_avx512<const NB: usize, const R: usize>(
    conv: &DirectConv,
    padded: &[f32],
    image: &mut [f32],
) {
    record::<16, NB, R, Fused>(conv, padded, image)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn record_avx2<const NB: usize, const R: usize>(
    conv: &DirectConv,
    padded: &[f32],
    image: &mut [f32],
) {
    record::<8, NB, R, Fused>(conv, padded, image)
}

/// How a tile adds `a·b` to a sum: one fused multiply-add where the CPU has it (only
/// compiled into functions with FMA enabled), else a multiply and an add (a fused one would
/// be a library call per value).
trait MulAdd {
    fn mul_add(a: f32, b: f32, sum: f32) -> f32;
}

#[cfg(target_arch = "x86_64")]
struct Fused;

#[cfg(target_arch = "x86_64")]
impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, sum: f32) -> f32 {
        a.mul_add(b, sum)
    }
}

struct Separate;

impl MulAdd for Separate {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, sum: f32) -> f32 {
        a * b + sum
    }
}

/// One record, every block of output channels, row by row in tiles of `R` pixels (and
/// single pixels for what is left of a row).
#[inline(always)]
fn record<const L: usize, const NB: usize, const R: usize, M: MulAdd>(
    conv: &DirectConv,
    padded: &[f32],
    image: &mut [f32],
) {
    let w = &conv.window;
    let (_, pw) = padded_size(w);
    let row_step = match conv.layout {
        Layout::ChannelMajor => w.stride.0 * pw,
        Layout::PixelMajor => w.stride.0 * pw * w.channels_in,
    };
    let width = L * NB;
    let channels = conv.channels_padded();
    let patch = conv.taps.len();
    for block in 0..channels / width {
        let weights = &conv.weights[block * patch * width..][..patch * width];
        let bias = &conv.bias[block * width..][..width];
        for oy in 0..w.out_h {
            let row = oy * row_step;
            let first = |ox: usize| (oy * w.out_w + ox) * channels + block * width;
            let mut ox = 0;
            while ox + R <= w.out_w {
                let sums =
                    tile::<L, NB, R, M>(conv, padded, weights, bias, row + ox * conv.pixel_step);
                store(&sums, image, first(ox), channels);
                ox += R;
            }
            for ox in ox..w.out_w {
                let sums =
                    tile::<L, NB, 1, M>(conv, padded, weights, bias, row + ox * conv.pixel_step);
                store(&sums, image, first(ox), channels);
            }
        }
    }
}

/// The sums of `R` neighbouring output pixels (the first's window starting at `corner` in
/// the padded record) for one block of `L·NB` output channels.
#[inline(always)]
fn tile<const L: usize, const NB: usize, const R: usize, M: MulAdd>(
    conv: &DirectConv,
    padded: &[f32],
    weights: &[f32],
    bias: &[f32],
    corner: usize,
) -> [[[f32; L]; NB]; R] {
    let stride = conv.pixel_step;
    let mut sums = [[[0.0f32; L]; NB]; R];
    for pixel in sums.iter_mut() {
        for (b, vector) in pixel.iter_mut().enumerate() {
            vector.copy_from_slice(&bias[b * L..(b + 1) * L]);
        }
    }
    let span = (R - 1) * stride + 1;
    for (t, &tap) in conv.taps.iter().enumerate() {
        // The weights are read into locals once per tap: left as slice reads, the compiler
        // reloaded them for every pixel, which made the tile wait on loads.
        let mut w = [[0.0f32; L]; NB];
        for (b, vector) in w.iter_mut().enumerate() {
            vector.copy_from_slice(&weights[(t * NB + b) * L..][..L]);
        }
        let x = &padded[corner + tap..][..span];
        for (r, pixel) in sums.iter_mut().enumerate() {
            let a = x[r * stride];
            for (vector, weight) in pixel.iter_mut().zip(&w) {
                for (sum, &wj) in vector.iter_mut().zip(weight) {
                    *sum = M::mul_add(a, wj, *sum);
                }
            }
        }
    }
    sums
}

/// Writes a tile's sums to consecutive pixels of the pixel-major image.
#[inline(always)]
fn store<const L: usize, const NB: usize, const R: usize>(
    sums: &[[[f32; L]; NB]; R],
    image: &mut [f32],
    first: usize,
    channels: usize,
) {
    for (r, pixel) in sums.iter().enumerate() {
        for (b, vector) in pixel.iter().enumerate() {
            image[first + r * channels + b * L..][..L].copy_from_slice(vector);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every instruction set this CPU has gives the portable tiles' sums (the same taps in
    /// the same order; a fused multiply-add rounds once where the portable code rounds twice).
    #[test]
    fn every_instruction_set_of_this_cpu_computes_the_portable_sums() {
        let isas = Isa::available();
        for (channels_in, channels_out, size, stride) in [
            (1, 16, 28, 1),
            (16, 32, 14, 1),
            (3, 5, 9, 2),
            (7, 40, 11, 1),
            (2, 3, 5, 3),
        ] {
            let window = Window {
                channels_in,
                in_h: size,
                in_w: size + 1,
                kernel: (3, 3),
                stride: (stride, stride),
                pad: (1, 1),
                out_h: (size + 2 - 3) / stride + 1,
                out_w: (size + 3 - 3) / stride + 1,
            };
            let count = |n: usize| (0..n).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0);
            let weight: Vec<f32> = count(channels_out * window.patch_len()).collect();
            let bias: Vec<f32> = count(channels_out).collect();
            let record: Vec<f32> = count(channels_in * size * (size + 1)).rev().collect();
            for layout in [Layout::ChannelMajor, Layout::PixelMajor] {
                let sums = |isa| {
                    let conv =
                        DirectConv::for_isa(isa, window, channels_out, (&weight, &bias), layout);
                    let mut padded = vec![f32::NAN; conv.padded_len()];
                    conv.pad(&record, &mut padded);
                    let channels = conv.channels_padded();
                    let mut image = vec![f32::NAN; window.out_h * window.out_w * channels];
                    conv.run_record(&padded, &mut image);
                    image
                        .chunks_exact(channels)
                        .flat_map(|pixel| pixel[..channels_out].to_vec())
                        .collect::<Vec<_>>()
                };
                let portable = sums(Isa::Portable);
                for &isa in &isas {
                    let got = sums(isa);
                    let worst = got
                        .iter()
                        .zip(&portable)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0f32, f32::max);
                    assert!(
                        worst < 1e-4,
                        "{isa:?}, {layout:?}, {channels_in}→{channels_out}: {worst}"
                    );
                }
            }
        }
    }
}
