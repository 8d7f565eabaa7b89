//! A dense layer over a batch of records on the direct convolution's register tiles: the
//! batch, records one after another, is one row of pixels of a 1×1 convolution
//! ([`DirectConv::dense`]), so a tile of neighbouring records × a block of outputs keeps its
//! sums in registers while each input adds one broadcast value times a vector of weights.
//! Nothing is packed per batch (the GEMM packed the records' block every call), the bias
//! is added after the products, and a ReLU after the layer is applied as the tiles store
//! their sums natively (other activations, and ReLU in wasm, in one pass over the outputs).

use super::direct::DirectConv;
use super::grow;
use super::isa::Isa;
use crate::gpu::Activation;
use crate::gpu::twin::activate_all;

pub(super) struct Dense {
    direct: DirectConv,
    inputs: usize,
    outputs: usize,
    activation: Option<Activation>,
}

impl Dense {
    /// `weight` as the plan stores it: `[inputs, outputs]`; `activation` is the layer fused
    /// after it, if any.
    pub(super) fn new(
        weight: &[f32],
        bias: &[f32],
        (inputs, outputs): (usize, usize),
        activation: Option<Activation>,
    ) -> Dense {
        let direct = DirectConv::dense(weight, bias, inputs, outputs);
        // ReLU is applied as the tiles store their sums where that pays; other activations
        // in a pass after.
        let (direct, activation) = match activation {
            Some(Activation::Relu) if direct.isa().stores_relu() => (direct.rectified(), None),
            other => (direct, other),
        };
        Dense {
            direct,
            inputs,
            outputs,
            activation,
        }
    }

    pub(super) fn outputs(&self) -> usize {
        self.outputs
    }

    /// `target` = the layer's (activated) outputs for the `n` records in `source`.
    pub(super) fn run(&self, source: &[f32], n: usize, scratch: &mut Vec<f32>, target: &mut [f32]) {
        debug_assert_eq!(source.len(), n * self.inputs);
        let padded = self.direct.channels_padded();
        if padded == self.outputs {
            self.direct.run_row(source, n, target);
        } else {
            let wide = grow(scratch, n * padded);
            self.direct.run_row(source, n, wide);
            for (dst, row) in target
                .chunks_exact_mut(self.outputs)
                .zip(wide.chunks_exact(padded))
            {
                dst.copy_from_slice(&row[..self.outputs]);
            }
        }
        if let Some(kind) = self.activation {
            self.isa().vectorised(
                #[inline(always)]
                || activate_all(kind, target),
            );
        }
    }

    fn isa(&self) -> Isa {
        self.direct.isa()
    }
}
