//! A dense layer with few outputs (a classifier's last layer over 2 to 4 classes) as one dot
//! product per record and output. The packed GEMM fills tiles 32 outputs wide natively, so a
//! 3-output layer cost as much as a 32-output one: 7% of the zoo MLP's inference for 1% of
//! its arithmetic.

use super::isa::Isa;

/// Outputs up to which a dense layer is computed here rather than by the GEMM.
pub(super) const MOST_OUTPUTS: usize = 4;

/// Values summed side by side in a dot product (one AVX-512 vector).
const PARTIAL_SUMS: usize = 16;

pub(super) struct NarrowDense {
    inputs: usize,
    /// The weights output by output: `[outputs, inputs]`.
    rows: Vec<f32>,
    bias: Vec<f32>,
    isa: Isa,
}

impl NarrowDense {
    /// `weight` as the plan stores it: `[inputs, outputs]`.
    pub(super) fn new(weight: &[f32], inputs: usize, outputs: usize, bias: &[f32]) -> Self {
        let rows = super::output_major(weight, outputs);
        NarrowDense {
            inputs,
            rows,
            bias: bias.to_vec(),
            isa: Isa::detect(),
        }
    }

    pub(super) fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// `target` = the layer's outputs for the records stored one after another in `source`.
    pub(super) fn run(&self, source: &[f32], target: &mut [f32]) {
        let outputs = self.bias.len();
        self.isa.vectorised(
            #[inline(always)]
            || {
                let records = source.chunks_exact(self.inputs);
                for (x, out) in records.zip(target.chunks_exact_mut(outputs)) {
                    let rows = self.rows.chunks_exact(self.inputs);
                    for ((o, row), b) in out.iter_mut().zip(rows).zip(&self.bias) {
                        *o = b + dot(x, row);
                    }
                }
            },
        );
    }
}

/// `a · b`, summed in [`PARTIAL_SUMS`] interleaved partial sums (vectorisable), then those in
/// order, then the tail: the same order whatever the machine.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut partial = [0.0f32; PARTIAL_SUMS];
    let (chunks_a, chunks_b) = (a.chunks_exact(PARTIAL_SUMS), b.chunks_exact(PARTIAL_SUMS));
    let tail: f32 = (chunks_a.remainder().iter())
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for ((p, x), y) in partial.iter_mut().zip(x).zip(y) {
            *p += x * y;
        }
    }
    partial.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_the_textbook_sums() {
        for (inputs, outputs) in [(128, 3), (7, 2), (33, 4), (16, 1)] {
            let weight: Vec<f32> = (0..inputs * outputs)
                .map(|i| ((i * 29 % 17) as f32 - 8.0) / 8.0)
                .collect();
            let bias: Vec<f32> = (0..outputs).map(|o| o as f32 - 1.5).collect();
            let source: Vec<f32> = (0..5 * inputs).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut target = vec![f32::NAN; 5 * outputs];
            NarrowDense::new(&weight, inputs, outputs, &bias).run(&source, &mut target);
            for (r, out) in target.chunks_exact(outputs).enumerate() {
                for (o, &got) in out.iter().enumerate() {
                    let want: f32 = bias[o]
                        + (0..inputs)
                            .map(|i| source[r * inputs + i] * weight[i * outputs + o])
                            .sum::<f32>();
                    assert!(
                        (got - want).abs() < 1e-4,
                        "{inputs}→{outputs}: {got} vs {want}"
                    );
                }
            }
        }
    }
}
