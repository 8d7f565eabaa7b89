use super::CpuPlan;
use crate::gpu::twin::run_plan;
use crate::gpu::{Activation, Layer, Plan, PoolKind, Window};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

fn values(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn window(c: usize, h: usize, w: usize, k: usize, stride: usize, pad: usize) -> Window {
    Window {
        channels_in: c,
        in_h: h,
        in_w: w,
        kernel: (k, k),
        stride: (stride, stride),
        pad: (pad, pad),
        out_h: (h + 2 * pad - k) / stride + 1,
        out_w: (w + 2 * pad - k) / stride + 1,
    }
}

fn conv(rng: &mut ChaCha8Rng, window: Window, channels_out: usize) -> Layer {
    Layer::Conv2d {
        window,
        channels_out,
        weight: values(rng, channels_out * window.patch_len()),
        bias: values(rng, channels_out),
    }
}

fn dense(rng: &mut ChaCha8Rng, inputs: usize, outputs: usize) -> Layer {
    Layer::Dense {
        inputs,
        outputs,
        weight: values(rng, inputs * outputs),
        bias: values(rng, outputs),
    }
}

/// The kernels against the GPU kernels' CPU twins (the definition of each layer), for
/// batches that do and do not fill the convolution's record blocks.
fn assert_matches_twins(plan: &Plan, what: &str) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cpu = CpuPlan::new(plan);
    for n in [1, 3, 8, 19] {
        let input = values(&mut rng, n * plan.input_len);
        let want = run_plan(plan, &input, n);
        let got = cpu.run(&input, n).unwrap();
        let c = crate::engine::compare(&want, &got);
        assert!(c.within(2e-5), "{what}, {n} records: {c:?}");
    }
}

#[test]
fn a_cnn_like_the_zoos_matches_the_twins() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let plan = Plan {
        input_len: 28 * 28,
        layers: vec![
            conv(&mut rng, window(1, 28, 28, 3, 1, 1), 16),
            Layer::Activation {
                kind: Activation::Relu,
                len: 16 * 28 * 28,
            },
            Layer::Pool2d {
                window: window(16, 28, 28, 2, 2, 0),
                kind: PoolKind::Max,
            },
            conv(&mut rng, window(16, 14, 14, 3, 1, 1), 32),
            Layer::ChannelAffine {
                channels: 32,
                inner: 14 * 14,
                scale: values(&mut rng, 32),
                shift: values(&mut rng, 32),
            },
            Layer::Activation {
                kind: Activation::LeakyRelu(0.1),
                len: 32 * 14 * 14,
            },
            Layer::Pool2d {
                window: window(32, 14, 14, 2, 2, 0),
                kind: PoolKind::Average {
                    count_include_pad: false,
                },
            },
            dense(&mut rng, 32 * 7 * 7, 32),
            Layer::Activation {
                kind: Activation::Tanh,
                len: 32,
            },
            dense(&mut rng, 32, 10),
            Layer::Softmax {
                classes: 10,
                log: true,
            },
        ],
    };
    assert_matches_twins(&plan, "zoo-like CNN");
}

#[test]
fn strided_and_padded_windows_match_the_twins() {
    for (k, stride, pad) in [
        (3, 2, 1),
        (5, 1, 2),
        (2, 1, 0),
        (3, 3, 0),
        (1, 1, 0),
        (4, 2, 3),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64((k * 100 + stride * 10 + pad) as u64);
        let w = window(3, 11, 9, k, stride, pad);
        let plan = Plan {
            input_len: 3 * 11 * 9,
            layers: vec![
                conv(&mut rng, w, 4),
                Layer::Pool2d {
                    window: window(4, w.out_h, w.out_w, 2, 1, 1),
                    kind: PoolKind::Average {
                        count_include_pad: true,
                    },
                },
            ],
        };
        assert_matches_twins(&plan, &format!("kernel {k}, stride {stride}, pad {pad}"));
        let max_pool = Plan {
            input_len: 3 * 11 * 9,
            layers: vec![Layer::Pool2d {
                window: w,
                kind: PoolKind::Max,
            }],
        };
        assert_matches_twins(&max_pool, &format!("max pool {k}/{stride}/{pad}"));
    }
}

#[test]
fn an_mlp_matches_the_twins_and_zero_records_give_nothing() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let plan = Plan {
        input_len: 37,
        layers: vec![
            dense(&mut rng, 37, 64),
            Layer::Activation {
                kind: Activation::Sigmoid,
                len: 64,
            },
            dense(&mut rng, 64, 2),
            Layer::Softmax {
                classes: 2,
                log: false,
            },
        ],
    };
    assert_matches_twins(&plan, "MLP");
    let cpu = CpuPlan::new(&plan);
    assert!(cpu.run(&[], 0).unwrap().is_empty());
    assert!(cpu.run(&[0.0; 36], 1).unwrap_err().contains("36 values"));
}

#[test]
fn dense_layers_of_every_block_width_with_fused_activations_match_the_twins() {
    // 80 outputs pad a block; 192 fill 64-wide blocks; 5 fill no block of any width; 3 go
    // to the narrow dot products.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let plan = Plan {
        input_len: 13,
        layers: vec![
            dense(&mut rng, 13, 80),
            Layer::Activation {
                kind: Activation::LeakyRelu(-0.2),
                len: 80,
            },
            dense(&mut rng, 80, 192),
            Layer::Activation {
                kind: Activation::Tanh,
                len: 192,
            },
            dense(&mut rng, 192, 5),
            Layer::Activation {
                kind: Activation::Relu,
                len: 5,
            },
            dense(&mut rng, 5, 3),
        ],
    };
    assert_matches_twins(&plan, "dense widths");
}

#[test]
fn a_fused_activation_and_max_pool_match_the_twins_for_every_activation() {
    // Pooling before activating is only right for a non-decreasing activation: a LeakyRelu
    // of negative slope must still activate first.
    for kind in [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::LeakyRelu(0.2),
        Activation::LeakyRelu(-1.5),
    ] {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let w = window(2, 10, 10, 3, 1, 1);
        let plan = Plan {
            input_len: 2 * 10 * 10,
            layers: vec![
                conv(&mut rng, w, 5),
                Layer::Activation {
                    kind,
                    len: 5 * 10 * 10,
                },
                Layer::Pool2d {
                    window: window(5, 10, 10, 2, 2, 0),
                    kind: PoolKind::Max,
                },
            ],
        };
        assert_matches_twins(&plan, &format!("conv, {kind:?}, 2×2 max-pool"));
    }
}

#[test]
fn convolutions_feeding_convolutions_and_a_dense_layer_match_the_twins() {
    // Records pass pixel-major from a convolution to the next one and to a dense layer
    // (whose weights are reordered for it); channel counts that do not fill a vector block,
    // a stride, odd image sizes and an unfused activation in between.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let first = window(3, 13, 11, 3, 1, 1);
    let second = window(20, 6, 5, 3, 2, 1);
    let third = window(5, second.out_h, second.out_w, 2, 1, 0);
    let plan = Plan {
        input_len: 3 * 13 * 11,
        layers: vec![
            conv(&mut rng, first, 20),
            Layer::Activation {
                kind: Activation::Relu,
                len: 20 * 13 * 11,
            },
            Layer::Pool2d {
                window: window(20, 13, 11, 2, 2, 0),
                kind: PoolKind::Max,
            },
            conv(&mut rng, second, 5),
            conv(&mut rng, third, 9),
            Layer::Activation {
                kind: Activation::Tanh,
                len: 9 * third.out_h * third.out_w,
            },
            dense(&mut rng, 9 * third.out_h * third.out_w, 7),
            Layer::Softmax {
                classes: 7,
                log: false,
            },
        ],
    };
    assert_matches_twins(&plan, "convolution chain into a dense layer");
}
