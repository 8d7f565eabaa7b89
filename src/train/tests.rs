//! The training pass against numbers computed another way: every layer's gradient against
//! central differences of the loss, a network that learns a separable task, determinism, and
//! the exported ONNX graph read back.

use super::architecture::{Architecture, Block, Head};
use super::fit::{TrainingSet, fit};
use super::network::Network;
use super::objective::{Classification, Objective};
use super::recipe::Recipe;
use super::references::{keep_mask, predict_classes};
use crate::gpu::{Activation, PoolKind, Window};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use std::ops::ControlFlow;

fn window(channels_in: usize, side: usize, kernel: usize, stride: usize, pad: usize) -> Window {
    let out = (side + 2 * pad - kernel) / stride + 1;
    Window {
        channels_in,
        in_h: side,
        in_w: side,
        kernel: (kernel, kernel),
        stride: (stride, stride),
        pad: (pad, pad),
        out_h: out,
        out_w: out,
    }
}

/// Every kind of block, small enough to difference every parameter.
fn every_block() -> Architecture {
    Architecture {
        record_shape: vec![2, 6, 6],
        blocks: vec![
            Block::Affine {
                channels: 2,
                inner: 36,
                scale: vec![0.5, 2.0],
                shift: vec![0.1, -0.2],
            },
            Block::Conv {
                window: window(2, 6, 3, 1, 1),
                channels_out: 3,
            },
            Block::BatchNorm {
                channels: 3,
                inner: 36,
                epsilon: 1e-5,
            },
            Block::Activation {
                kind: Activation::LeakyRelu(0.1),
                len: 108,
            },
            Block::Pool {
                window: window(3, 6, 2, 2, 0),
                kind: PoolKind::Max,
            },
            Block::Conv {
                window: window(3, 3, 2, 1, 1),
                channels_out: 2,
            },
            Block::Pool {
                window: window(2, 4, 3, 1, 1),
                kind: PoolKind::Average {
                    count_include_pad: false,
                },
            },
            Block::Activation {
                kind: Activation::Tanh,
                len: 32,
            },
            Block::Dense {
                inputs: 32,
                outputs: 5,
            },
            Block::BatchNorm {
                channels: 5,
                inner: 1,
                epsilon: 1e-5,
            },
            Block::Activation {
                kind: Activation::Sigmoid,
                len: 5,
            },
            Block::Dropout { ratio: 0.2, len: 5 },
            Block::Dense {
                inputs: 5,
                outputs: 3,
            },
        ],
        head: Head::Softmax,
    }
}

fn random_records(n: usize, len: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * len).map(|_| rng.random_range(-1.0..1.0)).collect()
}

/// The training loss of `network` on the batch, with dropout drawn from `dropout_seed`.
fn loss(network: &Network, x: &[f32], n: usize, labels: &[usize], dropout_seed: u64) -> f64 {
    let tape = network.forward(x.to_vec(), n, &mut ChaCha8Rng::seed_from_u64(dropout_seed));
    let width = network.architecture.output_len();
    let mut grad = vec![0.0; tape.output.len()];
    let batch: Vec<usize> = (0..n).collect();
    Classification { labels }.loss(&tape.output, width, &batch, &mut grad)
}

/// [`every_block`] with its initial values moved by up to ±0.2, so that batch normalisation's
/// scales and shifts are not 1 and 0; and the generator, to draw from next.
fn perturbed_network(seed: u64) -> (Architecture, Network, ChaCha8Rng) {
    let architecture = every_block();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut network = Network::initialise(&architecture, &mut rng);
    for p in network.params.iter_mut() {
        *p += rng.random_range(-0.2..0.2);
    }
    (architecture, network, rng)
}

#[test]
fn every_layers_gradient_matches_central_differences() {
    let (architecture, network, _) = perturbed_network(3);
    let n = 4;
    let x = random_records(n, architecture.input_len(), 5);
    let labels = [0, 2, 1, 2];
    let dropout_seed = 11;

    let tape = network.forward(x.clone(), n, &mut ChaCha8Rng::seed_from_u64(dropout_seed));
    let width = architecture.output_len();
    let mut d_output = vec![0.0; tape.output.len()];
    let batch: Vec<usize> = (0..n).collect();
    Classification { labels: &labels }.loss(&tape.output, width, &batch, &mut d_output);
    let mut grads = vec![0.0; network.params.len()];
    let mut stepped = network.clone();
    stepped.backward(tape, d_output, &mut grads);

    let mut worst = 0.0f64;
    for (i, &analytic) in grads.iter().enumerate() {
        let h = 1e-3f32;
        let mut up = network.clone();
        up.params[i] += h;
        let mut down = network.clone();
        down.params[i] -= h;
        let numeric = (loss(&up, &x, n, &labels, dropout_seed)
            - loss(&down, &x, n, &labels, dropout_seed))
            / (2.0 * h as f64);
        let analytic = analytic as f64;
        let error = (numeric - analytic).abs() / (numeric.abs().max(analytic.abs()) + 1e-2);
        worst = worst.max(error);
        assert!(
            error < 2e-2,
            "parameter {i}: numeric {numeric:.6}, analytic {analytic:.6}"
        );
    }
    assert!(worst > 0.0);
}

/// Two Gaussian blobs per class in 8 dimensions: a dense network should fit them.
fn blobs(n: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let class = i % 3;
        for d in 0..8 {
            let centre = if d % 3 == class { 2.0 } else { 0.0 };
            x.push(centre + rng.random_range(-1.0f32..1.0));
        }
        y.push(class);
    }
    (x, y)
}

fn mlp() -> Architecture {
    Architecture {
        record_shape: vec![8],
        blocks: vec![
            Block::Dense {
                inputs: 8,
                outputs: 16,
            },
            Block::Activation {
                kind: Activation::Relu,
                len: 16,
            },
            Block::Dense {
                inputs: 16,
                outputs: 3,
            },
        ],
        head: Head::Logits,
    }
}

/// Fits [`mlp`], initialised from `seed`, to the records `x` (8 values each) and classes `y`.
fn fit_mlp(
    x: &[f32],
    y: &[usize],
    recipe: &Recipe,
    seed: u64,
    on_epoch: &mut dyn FnMut(super::EpochEnd, &Network) -> ControlFlow<()>,
) -> (Network, Result<(), super::TrainError>) {
    let records: Vec<usize> = (0..y.len()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut network = Network::initialise(&mlp(), &mut rng);
    let data = TrainingSet {
        features: x,
        record_len: 8,
        records: &records,
    };
    let labels = Classification { labels: y };
    let result = fit(&mut network, &labels, data, recipe, &mut rng, on_epoch);
    (network, result)
}

fn train_mlp(seed: u64) -> (Network, Vec<f64>) {
    let (x, y) = blobs(300, 1);
    let recipe = Recipe {
        epochs: Some(20),
        batch_size: 32,
        learning_rate: 1e-2,
        ..Recipe::default()
    };
    let mut losses = Vec::new();
    let (network, result) = fit_mlp(&x, &y, &recipe, seed, &mut |end, _| {
        losses.push(end.loss);
        ControlFlow::Continue(())
    });
    result.unwrap();
    (network, losses)
}

#[test]
fn a_dense_network_learns_separable_classes_and_the_loss_falls() {
    let (network, losses) = train_mlp(7);
    assert_eq!(losses.len(), 20);
    assert!(losses[19] < 0.5 * losses[0], "{losses:?}");
    let (x, y) = blobs(300, 2);
    let predicted = predict_classes(&network, &x, 300).unwrap();
    let right = predicted.iter().zip(&y).filter(|(p, y)| p == y).count();
    assert!(right > 270, "{right} of 300 held-out records right");
}

#[test]
fn training_is_deterministic_for_a_seed_and_differs_across_seeds() {
    let (a, _) = train_mlp(7);
    let (b, _) = train_mlp(7);
    assert_eq!(a.params, b.params);
    let (c, _) = train_mlp(8);
    assert_ne!(a.params, c.params);
}

#[test]
fn cancelling_stops_training_with_cancelled() {
    let (x, y) = blobs(60, 1);
    let mut seen = 0;
    let (_, result) = fit_mlp(&x, &y, &Recipe::default(), 1, &mut |end, _| {
        seen = end.epoch;
        if end.epoch == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!(result, Err(super::TrainError::Cancelled));
    assert_eq!(seen, 2);
}

#[test]
fn a_learning_rate_that_diverges_is_reported_not_returned() {
    let (x, y) = blobs(60, 1);
    let x: Vec<f32> = x.iter().map(|v| v * 1e18).collect();
    let recipe = Recipe {
        learning_rate: 10.0,
        optimizer: super::OptimizerKind::Sgd,
        epochs: Some(50),
        ..Recipe::default()
    };
    let (_, result) = fit_mlp(&x, &y, &recipe, 1, &mut |_, _| ControlFlow::Continue(()));
    assert!(
        matches!(result, Err(super::TrainError::Diverged { .. })),
        "{result:?}"
    );
}

#[test]
fn the_keep_mask_puts_every_record_in_exactly_half_the_models() {
    let keep = keep_mask(500, 16, 9);
    assert_eq!(keep.dim(), (16, 500));
    for column in keep.columns() {
        assert_eq!(column.iter().filter(|&&k| k).count(), 8);
    }
    for row in keep.rows() {
        let inside = row.iter().filter(|&&k| k).count();
        assert!((200..300).contains(&inside), "{inside}");
    }
    assert_eq!(keep, keep_mask(500, 16, 9));
    assert_ne!(keep, keep_mask(500, 16, 10));
}

#[test]
fn an_exported_network_reloads_with_the_same_architecture_and_logits() {
    let (architecture, mut network, mut rng) = perturbed_network(4);
    // One training step so that the running statistics are not the initial ones.
    let n = 6;
    let x = random_records(n, architecture.input_len(), 8);
    let tape = network.forward(x.clone(), n, &mut rng);
    let d = vec![0.01; tape.output.len()];
    let mut grads = vec![0.0; network.params.len()];
    network.backward(tape, d, &mut grads);

    let bytes = super::to_onnx(&network, "pixels", "probabilities", "test");
    let model = crate::model::Model::from_bytes(&bytes, &Default::default()).unwrap();
    let mut read_back = (**model.architecture().unwrap()).clone();
    let expected = {
        let mut without_dropout = architecture.clone();
        without_dropout
            .blocks
            .retain(|b| !matches!(b, Block::Dropout { .. }));
        without_dropout
    };
    read_back
        .blocks
        .retain(|b| !matches!(b, Block::Dropout { .. }));
    assert_eq!(read_back, expected);

    let features = ndarray::ArrayD::from_shape_vec(vec![n, 2, 6, 6], x.clone()).unwrap();
    let probabilities = model
        .predict_with(
            crate::model::CpuEngine::Tract,
            &features,
            n,
            &mut crate::progress::NoProgress,
        )
        .unwrap();
    let logits = network.logits(&x, n).unwrap();
    for (row, z) in probabilities.rows().into_iter().zip(logits.chunks_exact(3)) {
        let mut softmax = z.to_vec();
        crate::gpu::twin::softmax_in_place(&mut softmax, false);
        for (p, q) in row.iter().zip(&softmax) {
            assert!((p - q).abs() < 1e-5, "{p} vs {q}");
        }
    }
}
