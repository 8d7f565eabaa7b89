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
use crate::gpu::twin::activate;
use crate::gpu::{Activation, Window};

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
    /// Taps (input channel, kernel row, kernel column) in the weights' order, in chunks
    /// summed separately, each as runs of consecutive offsets from a window's top-left
    /// corner in the zero-padded input record (a pixel-major kernel row is one run).
    chunks: Vec<Vec<Run>>,
    /// Taps in all.
    patch: usize,
    layout: Layout,
    /// Offset in the padded record from one output pixel's window to the next's.
    pixel_step: usize,
    /// ReLU applied to the sums as the last chunk stores them (a dense layer's fused
    /// activation), instead of in a pass over the layer's outputs after it.
    rectified: bool,
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

    /// A dense layer (`weight` `[inputs, outputs]`, as the plan stores it) as a 1×1
    /// convolution of `inputs` channels: a batch of records stored one after another is one
    /// row of pixel-major pixels ([`Self::run_row`]).
    pub(super) fn dense(weight: &[f32], bias: &[f32], inputs: usize, outputs: usize) -> Self {
        DirectConv::dense_for_isa(Isa::detect(), weight, bias, inputs, outputs)
    }

    fn dense_for_isa(
        isa: Isa,
        weight: &[f32],
        bias: &[f32],
        inputs: usize,
        outputs: usize,
    ) -> Self {
        let window = Window {
            channels_in: inputs,
            in_h: 1,
            in_w: 1,
            kernel: (1, 1),
            stride: (1, 1),
            pad: (0, 0),
            out_h: 1,
            out_w: 1,
        };
        let by_output = super::output_major(weight, outputs);
        DirectConv::for_isa(isa, window, outputs, (&by_output, bias), Layout::PixelMajor)
    }

    fn for_isa(
        isa: Isa,
        window: Window,
        channels_out: usize,
        (weight, bias): (&[f32], &[f32]),
        layout: Layout,
    ) -> Self {
        let lanes = isa.lanes();
        let vectors = isa.block_vectors(channels_out);
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
            chunks: chunks(taps.iter().map(|&(offset, _)| offset)),
            patch,
            layout,
            pixel_step,
            rectified: false,
        }
    }

    /// The same layer with ReLU applied to its outputs as they are stored, on an
    /// instruction set that does that ([`Isa::stores_relu`]).
    pub(super) fn rectified(self) -> Self {
        debug_assert!(self.isa.stores_relu());
        DirectConv {
            rectified: true,
            ..self
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
        let w = &self.window;
        debug_assert_eq!(image.len(), w.out_h * w.out_w * self.channels_padded());
        let (_, pw) = padded_size(w);
        let row_step = match self.layout {
            Layout::ChannelMajor => w.stride.0 * pw,
            Layout::PixelMajor => w.stride.0 * pw * w.channels_in,
        };
        self.dispatch(
            Rows {
                count: w.out_h,
                pixels: w.out_w,
                step: row_step,
            },
            padded,
            image,
        );
    }

    /// A 1×1 convolution over `n` pixels stored one after another (a dense layer over `n`
    /// records: see [`DirectConv::dense`]) into `image` (`[n, channels_padded]`).
    pub(super) fn run_row(&self, pixels: &[f32], n: usize, image: &mut [f32]) {
        debug_assert_eq!(pixels.len(), n * self.window.channels_in);
        debug_assert_eq!(image.len(), n * self.channels_padded());
        let row = Rows {
            count: 1,
            pixels: n,
            step: 0,
        };
        self.dispatch(row, pixels, image);
    }

    fn dispatch(&self, rows: Rows, padded: &[f32], image: &mut [f32]) {
        match (self.isa, self.vectors) {
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, 4) => {
                // SAFETY: `Isa::detect` found AVX-512F on this CPU, and AVX-512F implies FMA.
                unsafe { record_avx512::<4, 6>(self, rows, padded, image) }
            }
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, 2) => {
                // SAFETY: `Isa::detect` found AVX-512F on this CPU, and AVX-512F implies FMA.
                unsafe { record_avx512::<2, 7>(self, rows, padded, image) }
            }
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx512, _) => {
                // SAFETY: as above.
                unsafe { record_avx512::<1, 14>(self, rows, padded, image) }
            }
            // Below AVX-512, blocks are one or two vectors wide (`Isa::block_vectors`).
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2, 1) => {
                // SAFETY: `Isa::detect` found AVX2 and FMA on this CPU.
                unsafe { record_avx2::<1, 12>(self, rows, padded, image) }
            }
            #[cfg(target_arch = "x86_64")]
            (Isa::Avx2, _) => {
                // SAFETY: as above.
                unsafe { record_avx2::<2, 6>(self, rows, padded, image) }
            }
            (Isa::Portable, 1) => record::<4, 1, 12, Separate>(self, rows, padded, image),
            (Isa::Portable, _) => record::<4, 2, 6, Separate>(self, rows, padded, image),
        }
    }
}

/// The output rows a call computes: `count` rows of `pixels` pixels, each row's first window
/// `step` values after the previous row's in the input.
#[derive(Clone, Copy)]
struct Rows {
    count: usize,
    pixels: usize,
    step: usize,
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
    rows: Rows,
    padded: &[f32],
    image: &mut [f32],
) {
    record::<16, NB, R, Fused>(conv, rows, padded, image)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn record_avx2<const NB: usize, const R: usize>(
    conv: &DirectConv,
    rows: Rows,
    padded: &[f32],
    image: &mut [f32],
) {
    record::<8, NB, R, Fused>(conv, rows, padded, image)
}

/// How a tile adds `a·b` to a sum: one fused multiply-add where the CPU has it (only
/// compiled into functions with FMA enabled), else a multiply and an add (a fused one would
/// be a library call per value); and how it stores its sums (measured per target).
trait MulAdd {
    /// The sums written vector by vector from the registers (x86-64: the sums went through
    /// the stack otherwise, 10% of the MLP's time), or added in place in the sums' array
    /// and copied out (wasm: the CNN ran 16% slower in Chromium, the MLP 6%, written
    /// directly).
    const STORE_FROM_REGISTERS: bool;
    fn mul_add(a: f32, b: f32, sum: f32) -> f32;
}

#[cfg(target_arch = "x86_64")]
struct Fused;

#[cfg(target_arch = "x86_64")]
impl MulAdd for Fused {
    const STORE_FROM_REGISTERS: bool = true;
    #[inline(always)]
    fn mul_add(a: f32, b: f32, sum: f32) -> f32 {
        a.mul_add(b, sum)
    }
}

struct Separate;

impl MulAdd for Separate {
    const STORE_FROM_REGISTERS: bool = false;
    #[inline(always)]
    fn mul_add(a: f32, b: f32, sum: f32) -> f32 {
        a * b + sum
    }
}

/// One record (or a row of records), every block of output channels, row by row in tiles of
/// `R` pixels (and single pixels for what is left of a row).
#[inline(always)]
fn record<const L: usize, const NB: usize, const R: usize, M: MulAdd>(
    conv: &DirectConv,
    rows: Rows,
    padded: &[f32],
    image: &mut [f32],
) {
    let width = L * NB;
    let channels = conv.channels_padded();
    let patch = conv.patch;
    for block in 0..channels / width {
        let weights = &conv.weights[block * patch * width..][..patch * width];
        let bias: [[f32; L]; NB] =
            std::array::from_fn(|b| std::array::from_fn(|j| conv.bias[block * width + b * L + j]));
        let bias = &bias;
        for oy in 0..rows.count {
            let row = oy * rows.step;
            let first = |ox: usize| (oy * rows.pixels + ox) * channels + block * width;
            let mut ox = 0;
            while ox + R <= rows.pixels {
                let corner = row + ox * conv.pixel_step;
                tile::<L, NB, R, M>(conv, padded, (weights, bias), corner, image, first(ox));
                ox += R;
            }
            for ox in ox..rows.pixels {
                let corner = row + ox * conv.pixel_step;
                tile::<L, NB, 1, M>(conv, padded, (weights, bias), corner, image, first(ox));
            }
        }
    }
}

/// The sums of `R` neighbouring output pixels (the first's window starting at `corner` in
/// the padded record) for one block of `L·NB` output channels, written to the pixel-major
/// image from value `first` on: the first chunk of taps' sums stored with the biases added
/// (after the products, as onnxruntime adds them: a bias added first rounded a cancelling
/// sum differently), each further chunk's added.
#[inline(always)]
fn tile<const L: usize, const NB: usize, const R: usize, M: MulAdd>(
    conv: &DirectConv,
    padded: &[f32],
    (weights, bias): (&[f32], &[[f32; L]; NB]),
    corner: usize,
    image: &mut [f32],
    first: usize,
) {
    let channels = conv.channels_padded();
    let chunk_weights = weights.chunks(CHUNK * NB * L);
    for (c, (chunk, weights)) in conv.chunks.iter().zip(chunk_weights).enumerate() {
        let mut sums = chunk_sums::<L, NB, R, M>(chunk, weights, padded, corner, conv.pixel_step);
        if !M::STORE_FROM_REGISTERS {
            for (r, pixel) in sums.iter_mut().enumerate() {
                for ((b, vector), bias) in pixel.iter_mut().enumerate().zip(bias) {
                    if let Some(out) = image[first + r * channels + b * L..].first_chunk_mut::<L>()
                    {
                        let before = if c == 0 { bias } else { &*out };
                        for (v, b) in vector.iter_mut().zip(before) {
                            *v += b;
                        }
                        *out = *vector;
                    }
                }
            }
            continue;
        }
        let rectify = conv.rectified && c + 1 == conv.chunks.len();
        let finish = |v: [f32; L]| {
            if rectify {
                v.map(|x| activate(Activation::Relu, x))
            } else {
                v
            }
        };
        // Each pixel's block checked once and written vector by vector from the sums as
        // they are: indexed or changed in place, the sums went through the stack.
        for (r, pixel) in sums.iter().enumerate() {
            let at = first + r * channels;
            let (out, _) = image[at..at + NB * L].as_chunks_mut::<L>();
            if c == 0 {
                for ((out, vector), bias) in out.iter_mut().zip(pixel).zip(bias) {
                    *out = finish(std::array::from_fn(|j| vector[j] + bias[j]));
                }
            } else {
                for (out, vector) in out.iter_mut().zip(pixel) {
                    *out = finish(std::array::from_fn(|j| vector[j] + out[j]));
                }
            }
        }
    }
}

/// One chunk of taps' sums for a tile, held in registers (the caller stores them: written
/// to memory inside this loop, the compiler spilled the tile at every tap).
#[inline(always)]
fn chunk_sums<const L: usize, const NB: usize, const R: usize, M: MulAdd>(
    chunk: &[Run],
    weights: &[f32],
    padded: &[f32],
    corner: usize,
    stride: usize,
) -> [[[f32; L]; NB]; R] {
    let mut sums = [[[0.0f32; L]; NB]; R];
    let mut taps = weights.chunks_exact(NB * L);
    for run in chunk {
        let first = corner + run.start;
        // Each pixel's inputs for the run: checked once here rather than at every tap.
        let columns: [&[f32]; R] =
            std::array::from_fn(|r| &padded[first + r * stride..][..run.len]);
        for (j, tap) in taps.by_ref().take(run.len).enumerate() {
            // The weights are read into locals once per tap: left as slice reads, the
            // compiler reloaded them for every pixel, which made the tile wait on loads.
            let mut w = [[0.0f32; L]; NB];
            for (vector, weight) in w.iter_mut().zip(tap.chunks_exact(L)) {
                vector.copy_from_slice(weight);
            }
            for (pixel, column) in sums.iter_mut().zip(&columns) {
                let a = column[j];
                for (vector, weight) in pixel.iter_mut().zip(&w) {
                    for (sum, &wj) in vector.iter_mut().zip(weight) {
                        *sum = M::mul_add(a, wj, *sum);
                    }
                }
            }
        }
    }
    sums
}

/// Taps summed in one register accumulator before it is added to the total: a long dot
/// product (a dense layer after the convolutions has 1,568 inputs) summed in one running
/// value drifted 1e-5 from onnxruntime's, which sums in blocks too.
const CHUNK: usize = 128;

/// A run of taps whose offsets are consecutive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    start: usize,
    len: usize,
}

/// `offsets` grouped into chunks of [`CHUNK`] taps (the last may be shorter), each as runs
/// of consecutive values, in order.
fn chunks(offsets: impl IntoIterator<Item = usize>) -> Vec<Vec<Run>> {
    let mut chunks: Vec<Vec<Run>> = Vec::new();
    for (tap, offset) in offsets.into_iter().enumerate() {
        if tap % CHUNK == 0 {
            chunks.push(Vec::new());
        }
        let Some(runs) = chunks.last_mut() else {
            continue;
        };
        match runs.last_mut() {
            Some(run) if run.start + run.len == offset => run.len += 1,
            _ => runs.push(Run {
                start: offset,
                len: 1,
            }),
        }
    }
    chunks
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

    /// A dense layer run as a row of 1×1 pixels gives the textbook sums (and their ReLU when
    /// rectified, where the instruction set stores it) on every instruction set, for output
    /// counts that fill blocks of every width and that do not.
    #[test]
    fn dense_rows_give_the_textbook_sums_on_every_instruction_set() {
        let count = |n: usize| (0..n).map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0);
        // 300 inputs are three chunks of taps: ReLU applies to the last chunk's totals only.
        let shapes = [
            (64, 192, 19),
            (7, 5, 3),
            (33, 80, 14),
            (100, 17, 1),
            (300, 40, 9),
        ];
        for ((inputs, outputs, n), rectified) in shapes
            .into_iter()
            .flat_map(|shape| [(shape, false), (shape, true)])
        {
            let weight: Vec<f32> = count(inputs * outputs).collect();
            let bias: Vec<f32> = count(outputs).rev().collect();
            let records: Vec<f32> = count(n * inputs).rev().collect();
            for isa in Isa::available() {
                if rectified && !isa.stores_relu() {
                    continue;
                }
                let conv = DirectConv::dense_for_isa(isa, &weight, &bias, inputs, outputs);
                let conv = if rectified { conv.rectified() } else { conv };
                let channels = conv.channels_padded();
                let mut image = vec![f32::NAN; n * channels];
                conv.run_row(&records, n, &mut image);
                for r in 0..n {
                    for o in 0..outputs {
                        let sum = bias[o]
                            + (0..inputs)
                                .map(|i| records[r * inputs + i] * weight[i * outputs + o])
                                .sum::<f32>();
                        let want = if rectified { sum.max(0.0) } else { sum };
                        let got = image[r * channels + o];
                        assert!(
                            (got - want).abs() < 1e-4,
                            "{isa:?}, {inputs}→{outputs}, record {r}, output {o}: {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn taps_group_into_runs_in_chunks_of_128() {
        let run = |start, len| Run { start, len };
        assert_eq!(chunks([0, 1, 2, 10, 11, 12]), [vec![run(0, 3), run(10, 3)]]);
        assert_eq!(
            chunks(0..300),
            [vec![run(0, 128)], vec![run(128, 128)], vec![run(256, 44)]]
        );
        let rows_of_100 = (0..3).flat_map(|row| row * 1000..row * 1000 + 100);
        assert_eq!(
            chunks(rows_of_100),
            [
                vec![run(0, 100), run(1000, 28)],
                vec![run(1028, 72), run(2000, 56)],
                vec![run(2056, 44)]
            ]
        );
    }
}
