//! mialab's CPU kernels: a lowered [`Plan`] (the GPU path's layers) run on the CPU, for the
//! graphs where tract is slow. On the zoo's Fashion-MNIST CNN tract spends most of its time
//! in im2col and a scalar-ish max-pool and reaches a tenth of one core's peak; here each
//! convolution is computed directly with its partial sums in vector registers
//! ([`direct`]: AVX-512 or AVX2+FMA natively, chosen at run time, `simd128` in the browser),
//! each dense layer runs on the same register tiles with the batch's records as a row of
//! pixels ([`dense`]; `rten-gemm`'s packed GEMM, used before, repacked the records every
//! call), and the layers between are single passes over
//! contiguous memory, fused into the convolution or dense layer before them where they
//! follow one.
//!
//! Outputs agree with tract (and onnxruntime) to float32 rounding, not bit for bit: the sums
//! run in another order. Every record's values depend only on that record and the batch it
//! was given in, never on the thread count, so results stay the same whatever the threads.

mod conv;
mod dense;
mod direct;
mod isa;
mod layers;
mod narrow;
mod unroll;

pub(crate) use layers::window_range;
pub(crate) use unroll::unroll;

use crate::gpu::{Layer, Plan};
use direct::Layout;

/// Records a network with convolutions takes through all its layers at once: few enough
/// that their images stay in cache.
const RECORDS_PER_PASS: usize = 8;

/// A plan ready to run on the CPU: each layer's weights packed once for the GEMM kernel.
pub struct CpuPlan {
    input_len: usize,
    output_len: usize,
    steps: Vec<Step>,
    kernel: String,
}

impl std::fmt::Debug for CpuPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CpuPlan")
            .field("input_len", &self.input_len)
            .field("kernel", &self.kernel)
            .finish_non_exhaustive()
    }
}

/// One layer as it runs here.
enum Step {
    /// A dense layer on the direct tiles, its activation fused.
    Dense(dense::Dense),
    /// A dense layer of at most [`narrow::MOST_OUTPUTS`] outputs.
    NarrowDense(narrow::NarrowDense),
    Conv(conv::Conv),
    /// A layer that needs no GEMM (pooling, affine, activation, softmax).
    Other(Layer),
}

impl CpuPlan {
    /// Packs `plan`'s weights for this CPU's kernel.
    pub fn new(plan: &Plan) -> CpuPlan {
        let mut steps = Vec::new();
        let mut layers = plan.layers.iter().peekable();
        let mut layout = Layout::ChannelMajor;
        let mut image_channels = 0;
        while let Some(layer) = layers.next() {
            steps.push(match layer {
                Layer::Dense {
                    inputs,
                    outputs,
                    weight,
                    bias,
                } => {
                    // A convolution before it wrote its records pixel-major: the weights'
                    // rows are put in that order instead of transposing every record.
                    let weight = match std::mem::replace(&mut layout, Layout::ChannelMajor) {
                        Layout::PixelMajor => pixel_major_rows(weight, image_channels, *outputs),
                        Layout::ChannelMajor => weight.clone(),
                    };
                    if *outputs <= narrow::MOST_OUTPUTS {
                        Step::NarrowDense(narrow::NarrowDense::new(
                            &weight, *inputs, *outputs, bias,
                        ))
                    } else {
                        Step::Dense(dense::Dense::new(
                            &weight,
                            bias,
                            (*inputs, *outputs),
                            next_activation(&mut layers),
                        ))
                    }
                }
                Layer::Conv2d {
                    window,
                    channels_out,
                    weight,
                    bias,
                } => {
                    let mut epilogue = conv::Epilogue {
                        activation: next_activation(&mut layers),
                        ..Default::default()
                    };
                    if let Some(Layer::Pool2d { window: pool, kind }) = layers.peek()
                        && layers::is_max_pool_2x2(pool, *kind)
                    {
                        epilogue.pool_2x2 = true;
                        layers.next();
                    }
                    let input = layout;
                    image_channels = *channels_out;
                    layout = if matches!(
                        layers.peek(),
                        Some(Layer::Conv2d { .. } | Layer::Dense { .. })
                    ) {
                        Layout::PixelMajor
                    } else {
                        Layout::ChannelMajor
                    };
                    Step::Conv(conv::Conv::new(
                        *window,
                        *channels_out,
                        (weight, bias),
                        epilogue,
                        (input, layout),
                    ))
                }
                other => {
                    layout = Layout::ChannelMajor;
                    Step::Other(other.clone())
                }
            });
        }
        CpuPlan {
            input_len: plan.input_len,
            output_len: plan.output_len(),
            steps,
            kernel: isa::Isa::detect().name().to_string(),
        }
    }

    /// The instruction set the kernels run on ("x86_64 AVX-512", "wasm32 simd128", ...), for
    /// the report.
    pub fn kernel_name(&self) -> &str {
        &self.kernel
    }

    /// Runs the plan over `n` records stored one after another in `input`; the outputs of
    /// every record, one after another.
    pub fn run(&self, input: &[f32], n: usize) -> Result<Vec<f32>, String> {
        if input.len() != n * self.input_len {
            return Err(format!(
                "{} values given for {n} records of {} values",
                input.len(),
                self.input_len
            ));
        }
        // A network with convolutions goes through every layer a few records at a time, so
        // that its wide intermediate images stay in cache; dense-only ones take the batch at
        // once, which gives the GEMM tall matrices.
        let per_pass = if self.steps.iter().any(|s| matches!(s, Step::Conv(_))) {
            RECORDS_PER_PASS
        } else {
            n.max(1)
        };
        let mut out = Vec::with_capacity(n * self.output_len);
        // Taken out of the thread's slot rather than borrowed in it: a borrow panicked when
        // the GEMM ran here on rayon, whose waiting thread started another batch's `run`
        // inside it; taken, a re-entered `run` just finds an empty slot.
        let mut buffers = BUFFERS.take();
        for first in (0..n).step_by(per_pass) {
            let count = per_pass.min(n - first);
            let records = &input[first * self.input_len..(first + count) * self.input_len];
            out.extend_from_slice(self.pass(records, count, &mut buffers));
        }
        BUFFERS.set(buffers);
        Ok(out)
    }

    /// Every layer over `n` records; the last layer's outputs, in `buffers`.
    fn pass<'b>(&self, input: &'b [f32], n: usize, buffers: &'b mut Buffers) -> &'b [f32] {
        let Buffers {
            current,
            next,
            conv: scratch,
            dense: padded_outputs,
        } = buffers;
        let mut len = self.input_len;
        let mut from_input = true;
        for step in &self.steps {
            if let Step::Other(layer) = step
                && layers::keeps_shape(layer)
                && !from_input
            {
                layers::run_in_place(layer, &mut current[..n * len], len);
                continue;
            }
            let source: &[f32] = if from_input {
                input
            } else {
                &current[..n * len]
            };
            let next_len = match step {
                Step::NarrowDense(dense) => dense.outputs(),
                Step::Dense(dense) => dense.outputs(),
                Step::Conv(conv) => conv.output_len(),
                Step::Other(layer) => layer.output_len(),
            };
            let target = grow(next, n * next_len);
            match step {
                Step::NarrowDense(dense) => dense.run(source, target),
                Step::Dense(dense) => dense.run(source, n, padded_outputs, target),
                Step::Conv(conv) => conv.run(source, n, scratch, target),
                Step::Other(layer) => layers::run(layer, source, len, target),
            }
            std::mem::swap(current, next);
            from_input = false;
            len = next_len;
        }
        if from_input {
            input
        } else {
            &current[..n * len]
        }
    }
}

/// What one thread reuses from pass to pass and from call to call: the layers' outputs (two
/// buffers, each layer reading one and writing the other), a convolution's scratch and a
/// dense layer's outputs before its padding channels are dropped.
/// Allocated afresh for every batch, a dense layer's outputs were large enough to be mapped
/// from the system and fault their pages in each time (13% of the zoo MLP's inference).
#[derive(Default)]
struct Buffers {
    current: Vec<f32>,
    next: Vec<f32>,
    conv: conv::Scratch,
    dense: Vec<f32>,
}

thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::default();
}

/// `buffer`'s first `len` values, grown if needed (the caller overwrites them all).
pub(super) fn grow(buffer: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    &mut buffer[..len]
}

/// The activation that comes next in `layers`, taken to be fused into the layer before it.
fn next_activation<'a>(
    layers: &mut std::iter::Peekable<impl Iterator<Item = &'a Layer>>,
) -> Option<crate::gpu::Activation> {
    let Some(Layer::Activation { kind, .. }) = layers.peek() else {
        return None;
    };
    let kind = *kind;
    layers.next();
    Some(kind)
}

/// A dense layer's `[inputs, outputs]` weights output by output (`[outputs, inputs]`).
fn output_major(weight: &[f32], outputs: usize) -> Vec<f32> {
    let inputs = weight.len() / outputs.max(1);
    (0..outputs)
        .flat_map(|o| (0..inputs).map(move |i| weight[i * outputs + o]))
        .collect()
}

/// A dense layer's `[inputs, outputs]` weights for inputs ordered pixel-major
/// (`[pixels, channels]`) where ONNX's flatten orders them channel-major.
fn pixel_major_rows(weight: &[f32], channels: usize, outputs: usize) -> Vec<f32> {
    let inputs = weight.len() / outputs;
    let pixels = inputs / channels;
    let mut rows = Vec::with_capacity(weight.len());
    for p in 0..pixels {
        for c in 0..channels {
            rows.extend_from_slice(&weight[(c * pixels + p) * outputs..][..outputs]);
        }
    }
    rows
}

#[cfg(test)]
mod tests;
