//! A lowered model: the sequence of layers the GPU kernels (and their CPU twins in
//! [`super::twin`]) execute, each over a batch of records stored contiguously, one record
//! after another (NCHW for images). Flatten, Reshape to `[N, -1]`, Identity and Dropout
//! need no layer: they do not move a record's values.

/// Which pooling a [`Layer::Pool2d`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    /// Average; `count_include_pad` divides by the whole window, padding included.
    Average {
        count_include_pad: bool,
    },
}

impl PoolKind {
    /// The kind as the WGSL kernels read it: 0 max, 1 average over the cells a window covers,
    /// 2 average over the whole window.
    pub fn kernel_code(self) -> u32 {
        match self {
            PoolKind::Max => 0,
            PoolKind::Average {
                count_include_pad: false,
            } => 1,
            PoolKind::Average {
                count_include_pad: true,
            } => 2,
        }
    }
}

/// An element-wise activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Relu,
    Sigmoid,
    Tanh,
    LeakyRelu(f32),
}

/// Spatial geometry of a convolution or pooling window over `[C, H, W]` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub channels_in: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub kernel: (usize, usize),
    pub stride: (usize, usize),
    /// Padding before the first row and column (ONNX's pads begin values).
    pub pad: (usize, usize),
    pub out_h: usize,
    pub out_w: usize,
}

impl Window {
    /// Values one window covers: `channels_in · kh · kw` (a convolution's dot-product length).
    pub fn patch_len(&self) -> usize {
        self.channels_in * self.kernel.0 * self.kernel.1
    }

    /// The window as the WGSL kernels read it: `[channels in, in_h, in_w, kh, kw, stride y,
    /// stride x, pad y, pad x, out_h, out_w]`.
    pub fn kernel_parameters(&self) -> [u32; 11] {
        [
            self.channels_in,
            self.in_h,
            self.in_w,
            self.kernel.0,
            self.kernel.1,
            self.stride.0,
            self.stride.1,
            self.pad.0,
            self.pad.1,
            self.out_h,
            self.out_w,
        ]
        .map(|v| v as u32)
    }
}

/// One kernel's worth of work.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// `out[j] = bias[j] + Σ_k in[k] · weight[k, j]`, weight stored `[inputs, outputs]`.
    Dense {
        inputs: usize,
        outputs: usize,
        weight: Vec<f32>,
        bias: Vec<f32>,
    },
    /// Convolution, weight `[out channels, in channels, kh, kw]`, zero padding.
    Conv2d {
        window: Window,
        channels_out: usize,
        weight: Vec<f32>,
        bias: Vec<f32>,
    },
    /// Max or average pooling, channel by channel.
    Pool2d {
        window: Window,
        kind: PoolKind,
    },
    /// `out = in · scale[c] + shift[c]` where c is the value's channel (BatchNormalization,
    /// Add/Mul/Sub with a constant); `inner` values per channel per record.
    ChannelAffine {
        channels: usize,
        inner: usize,
        scale: Vec<f32>,
        shift: Vec<f32>,
    },
    Activation {
        kind: Activation,
        len: usize,
    },
    /// Softmax (or log-softmax) of each record's `classes` values.
    Softmax {
        classes: usize,
        log: bool,
    },
}

/// Loop iterations a kernel makes beside its main loop (stores of a 4 × 4 tile, window
/// offsets worked out in advance).
const LOOP_OVERHEAD: usize = 64;

impl Window {
    /// Loop iterations one invocation makes over a window: every cell, plus each row and
    /// channel loop's own.
    pub fn loop_iterations(&self) -> usize {
        self.patch_len() + self.channels_in * self.kernel.0 + self.channels_in
    }
}

impl Layer {
    /// The most loop iterations one invocation of this layer's kernels makes (see
    /// [`crate::gpu::device::Gpu::check_loops`]).
    pub fn loop_iterations(&self) -> usize {
        LOOP_OVERHEAD
            + match self {
                Layer::Dense { inputs, .. } => *inputs,
                Layer::Conv2d { window, .. } | Layer::Pool2d { window, .. } => {
                    window.loop_iterations()
                }
                Layer::ChannelAffine { .. } | Layer::Activation { .. } => 0,
                // Softmax and the signal reduction pass over a record's values a few times.
                Layer::Softmax { classes, .. } => 3 * classes,
            }
    }

    /// Values per record this layer writes.
    pub fn output_len(&self) -> usize {
        match self {
            Layer::Dense { outputs, .. } => *outputs,
            Layer::Conv2d {
                window,
                channels_out,
                ..
            } => channels_out * window.out_h * window.out_w,
            Layer::Pool2d { window, .. } => window.channels_in * window.out_h * window.out_w,
            Layer::ChannelAffine {
                channels, inner, ..
            } => channels * inner,
            Layer::Activation { len, .. } => *len,
            Layer::Softmax { classes, .. } => *classes,
        }
    }

    /// The layer without its constants: what must match for two models to share dispatches.
    pub fn structure(&self) -> Layer {
        let mut bare = self.clone();
        match &mut bare {
            Layer::Dense { weight, bias, .. } | Layer::Conv2d { weight, bias, .. } => {
                weight.clear();
                bias.clear();
            }
            Layer::ChannelAffine { scale, shift, .. } => {
                scale.clear();
                shift.clear();
            }
            Layer::Pool2d { .. } | Layer::Activation { .. } | Layer::Softmax { .. } => {}
        }
        bare
    }

    /// The kernel's name, for messages and benchmarks.
    /// Floating-point operations per record, a multiply-add counted as two; only the
    /// products are counted.
    pub fn flops(&self) -> usize {
        match self {
            Layer::Dense {
                inputs, outputs, ..
            } => 2 * inputs * outputs,
            Layer::Conv2d {
                window,
                channels_out,
                ..
            } => 2 * channels_out * window.out_h * window.out_w * window.patch_len(),
            _ => 0,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Layer::Dense { .. } => "dense",
            Layer::Conv2d { .. } => "conv2d",
            Layer::Pool2d {
                kind: PoolKind::Max,
                ..
            } => "max_pool",
            Layer::Pool2d { .. } => "average_pool",
            Layer::ChannelAffine { .. } => "channel_affine",
            Layer::Activation { .. } => "activation",
            Layer::Softmax { .. } => "softmax",
        }
    }
}

/// A whole model as GPU layers: `input_len` values per record in, `output_len` out.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub input_len: usize,
    pub layers: Vec<Layer>,
}

impl Plan {
    /// The most loop iterations one invocation of its kernels makes, the signal reduction
    /// over its outputs included.
    pub fn loop_iterations(&self) -> usize {
        self.layers
            .iter()
            .map(Layer::loop_iterations)
            .chain([LOOP_OVERHEAD + 3 * self.output_len()])
            .max()
            .unwrap_or(LOOP_OVERHEAD)
    }

    pub fn output_len(&self) -> usize {
        self.layers.last().map_or(self.input_len, Layer::output_len)
    }

    /// The most values any one record occupies between two layers.
    pub fn widest(&self) -> usize {
        self.layers
            .iter()
            .map(Layer::output_len)
            .fold(self.input_len, usize::max)
    }

    /// Whether `other` has the same layers with the same shapes (constants may differ), so
    /// that both run in one dispatch.
    pub fn same_structure(&self, other: &Plan) -> bool {
        self.input_len == other.input_len
            && self.layers.len() == other.layers.len()
            && self
                .layers
                .iter()
                .zip(&other.layers)
                .all(|(a, b)| a.structure() == b.structure())
    }

    /// Floating-point operations one record costs (a multiply-add counts two; activations,
    /// pooling and softmax, a few per value, are left out): what benchmarks divide by time.
    pub fn flops_per_record(&self) -> usize {
        self.layers.iter().map(Layer::flops).sum()
    }

    /// Operators in order, for the report ("dense, activation, dense").
    pub fn describe(&self) -> String {
        self.layers
            .iter()
            .map(Layer::name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_counts_its_longest_kernel_loop() {
        let dense = |inputs, outputs| Layer::Dense {
            inputs,
            outputs,
            weight: Vec::new(),
            bias: Vec::new(),
        };
        let window = Window {
            channels_in: 16,
            in_h: 14,
            in_w: 14,
            kernel: (3, 3),
            stride: (1, 1),
            pad: (1, 1),
            out_h: 14,
            out_w: 14,
        };
        let plan = Plan {
            input_len: 3136,
            layers: vec![
                Layer::Conv2d {
                    window,
                    channels_out: 32,
                    weight: Vec::new(),
                    bias: Vec::new(),
                },
                dense(6272, 10),
            ],
        };
        // The dense layer's depth beats the convolution's 144 taps (+ 48 + 16 loops).
        assert_eq!(window.loop_iterations(), 144 + 48 + 16);
        assert_eq!(plan.loop_iterations(), 6272 + LOOP_OVERHEAD);
        let wide = Plan {
            input_len: 70_000,
            layers: vec![dense(70_000, 2)],
        };
        assert!(wide.loop_iterations() > 65_535);
    }
}
