//! mialab's CPU kernels: a lowered [`Plan`] (the GPU path's layers) run on the CPU with a
//! SIMD matrix multiply, for the graphs where tract is slow. On the zoo's Fashion-MNIST CNN
//! tract spends most of its time in im2col and a scalar-ish max-pool and reaches a tenth of
//! one core's peak; here every convolution and dense layer is one packed GEMM over a block
//! of records (`rten-gemm`: AVX-512 or AVX2+FMA natively, chosen at run time, and `simd128`
//! in the browser), and the layers between are single passes over contiguous memory.
//!
//! Outputs agree with tract (and onnxruntime) to float32 rounding, not bit for bit: the sums
//! run in another order. Every record's values depend only on that record and the batch it
//! was given in, never on the thread count, so results stay the same whatever the threads.

mod conv;
mod layers;

use crate::gpu::{Layer, Plan};
use rten_gemm::{BiasVector, GemmExecutor, GemmInputA, GemmInputB, GemmOptions, PackedBMatrix};
use rten_tensor::NdTensorView;

thread_local! {
    /// The GEMM kernel this CPU has (chosen at run time; the same on every thread, so weights
    /// packed on one thread fit the kernel on another). Per thread: the executor is not `Sync`.
    static GEMM: GemmExecutor<f32> = GemmExecutor::default();
}

/// A plan ready to run on the CPU: each layer's weights packed once for the GEMM kernel.
pub struct CpuPlan {
    input_len: usize,
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
    Dense {
        inputs: usize,
        outputs: usize,
        weight: PackedBMatrix<f32>,
        bias: Vec<f32>,
    },
    Conv(conv::Conv),
    /// A layer that needs no GEMM (pooling, affine, activation, softmax).
    Other(Layer),
}

impl CpuPlan {
    /// Packs `plan`'s weights for this CPU's kernel.
    pub fn new(plan: &Plan) -> CpuPlan {
        GEMM.with(|gemm| CpuPlan::packed_by(gemm, plan))
    }

    fn packed_by(gemm: &GemmExecutor<f32>, plan: &Plan) -> CpuPlan {
        let steps = plan
            .layers
            .iter()
            .map(|layer| match layer {
                Layer::Dense {
                    inputs,
                    outputs,
                    weight,
                    bias,
                } => Step::Dense {
                    inputs: *inputs,
                    outputs: *outputs,
                    weight: gemm
                        .prepack_b(NdTensorView::from_data([*inputs, *outputs], &weight[..])),
                    bias: bias.clone(),
                },
                Layer::Conv2d {
                    window,
                    channels_out,
                    weight,
                    bias,
                } => Step::Conv(conv::Conv::new(&gemm, *window, *channels_out, weight, bias)),
                other => Step::Other(other.clone()),
            })
            .collect();
        CpuPlan {
            input_len: plan.input_len,
            steps,
            kernel: gemm.kernel_name().to_string(),
        }
    }

    /// The GEMM kernel this CPU uses ("x86_64-f32-avx512", "wasm32", ...), for the report.
    pub fn kernel_name(&self) -> &str {
        &self.kernel
    }

    /// Values per record in.
    pub fn input_len(&self) -> usize {
        self.input_len
    }

    /// Runs the plan over `n` records stored one after another in `input`; the outputs of
    /// every record, one after another.
    pub fn run(&self, input: &[f32], n: usize) -> Result<Vec<f32>, String> {
        GEMM.with(|gemm| self.run_with(gemm, input, n))
    }

    fn run_with(
        &self,
        gemm: &GemmExecutor<f32>,
        input: &[f32],
        n: usize,
    ) -> Result<Vec<f32>, String> {
        if input.len() != n * self.input_len {
            return Err(format!(
                "{} values given for {n} records of {} values",
                input.len(),
                self.input_len
            ));
        }
        let mut current = input.to_vec();
        let mut len = self.input_len;
        for step in &self.steps {
            let (next, next_len) = match step {
                Step::Dense {
                    inputs,
                    outputs,
                    weight,
                    bias,
                } => (
                    dense(gemm, &current, n, *inputs, *outputs, weight, bias)?,
                    *outputs,
                ),
                Step::Conv(conv) => (conv.run(gemm, &current, n)?, conv.output_len()),
                Step::Other(layer) => {
                    let out_len = layer.output_len();
                    (layers::run(layer, current, n, len), out_len)
                }
            };
            current = next;
            len = next_len;
        }
        Ok(current)
    }
}

fn dense(
    gemm: &GemmExecutor<f32>,
    input: &[f32],
    n: usize,
    inputs: usize,
    outputs: usize,
    weight: &PackedBMatrix<f32>,
    bias: &[f32],
) -> Result<Vec<f32>, String> {
    let mut out = vec![0.0f32; n * outputs];
    if n == 0 {
        return Ok(out);
    }
    gemm.gemm(
        &mut out,
        GemmInputA::Unpacked(NdTensorView::from_data([n, inputs], input)),
        GemmInputB::Packed(weight),
        GemmOptions {
            bias: Some(BiasVector::Row(bias)),
            ..Default::default()
        },
    )
    .map_err(|e| format!("dense layer: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests;
