//! The GPU path: every zoo model lowers to GPU kernels, the lowered plan (run by the kernels'
//! CPU twins) gives tract's outputs, and a graph with an operator the GPU path lacks is
//! named and left to tract.

use crate::util::{Tol, repo};
use crate::zoo::{audit_records, load_zoo_model, manifest};
use mialab::gpu::twin;
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use ndarray::{ArrayD, Axis};

const RECORDS: usize = 37;

fn first_records(features: &ArrayD<f32>) -> ArrayD<f32> {
    features
        .slice_axis(Axis(0), (0..RECORDS).into())
        .as_standard_layout()
        .into_owned()
}

fn flat(values: impl Iterator<Item = f32>) -> Vec<f64> {
    values.map(f64::from).collect()
}

#[test]
fn every_zoo_model_lowers_and_its_plan_gives_tracts_outputs() {
    for d in &manifest().datasets {
        let records = first_records(&audit_records(d).features);
        let models = d.targets.iter().map(|t| &t.model).chain(
            d.reference_sets
                .iter()
                .flat_map(|r| r.models.iter().map(|m| &m.model))
                .take(2),
        );
        for path in models {
            let model = load_zoo_model(path);
            let plan = model
                .gpu_plan()
                .unwrap_or_else(|e| panic!("{path} does not lower: {e}"));
            let want = model.predict(&records, 64, &mut NoProgress).unwrap();
            let got = twin::run_plan(plan, records.as_slice().unwrap(), RECORDS);
            Tol::DeepGraph.assert_all(&flat(got.into_iter()), &flat(want.iter().copied()), path);
        }
    }
}

#[test]
fn the_example_model_lowers_with_its_single_logit() {
    let bytes = std::fs::read(repo("models/breast_cancer/model.onnx")).unwrap();
    let model = Model::from_bytes(&bytes, &ModelOptions::default()).unwrap();
    let plan = model.gpu_plan().unwrap();
    assert_eq!(
        plan.describe(),
        "dense, activation, dense, activation, dense"
    );
    assert_eq!(plan.output_len(), 1);
}

#[test]
fn an_operator_without_a_kernel_is_named_and_stays_on_tract() {
    let bytes = std::fs::read(repo("models/fixtures/unsupported_op.onnx")).unwrap();
    let err = match Model::from_bytes(&bytes, &ModelOptions::default()) {
        Ok(model) => model.gpu_plan().unwrap_err().to_string(),
        Err(load) => {
            // tract itself lacks the operator: the GPU path is never asked.
            assert!(load.to_string().contains("Det"), "{load}");
            return;
        }
    };
    assert!(err.contains("Det"), "{err}");
}

/// The GPU, or `None` where the caller said there is none (`MIALAB_NO_GPU=1`); otherwise a
/// missing adapter fails the test: CI runs these on lavapipe (Debian's mesa-vulkan-drivers).
fn gpu() -> Option<&'static mialab::gpu::Gpu> {
    match mialab::gpu::device::shared() {
        Ok(gpu) => Some(gpu),
        Err(e) if std::env::var("MIALAB_NO_GPU").is_ok_and(|v| v == "1") => {
            eprintln!("GPU tests skipped (MIALAB_NO_GPU=1): {e}");
            None
        }
        Err(e) => panic!("{e} (install mesa-vulkan-drivers, or set MIALAB_NO_GPU=1 to skip)"),
    }
}

/// Seeded values spread over `[-scale, scale]`.
fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-scale..=scale)).collect()
}

/// GPU and CPU twin agree on `layer` for every batch size in `batches` (0 and 1 included by
/// the callers); `tol` bounds the absolute difference relative to the values' size.
fn check_layer(layer: &Layer, input_len: usize, batches: &[usize], scale: f32, tol: f32) {
    let Some(gpu) = gpu() else { return };
    for &n in batches {
        let input = values(n * input_len, n as u64 + 7, scale);
        let want = twin::run_layer(layer, &input, n, input_len);
        let got = gpu.run_layer(layer, &input, n).unwrap();
        assert_eq!(got.len(), want.len(), "{} batch {n}", layer.name());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let bound = tol * (1.0 + w.abs().max(scale));
            assert!(
                (g - w).abs() <= bound || (g.is_nan() && w.is_nan()),
                "{} batch {n} value {i}: GPU {g} vs twin {w}",
                layer.name()
            );
        }
    }
}

use mialab::gpu::{Activation, Layer, PoolKind, Window};

const BATCHES: [usize; 4] = [0, 1, 3, 70];

#[test]
fn dense_kernel_matches_its_twin() {
    let (inputs, outputs) = (37, 13);
    let layer = Layer::Dense {
        inputs,
        outputs,
        weight: values(inputs * outputs, 1, 1.0),
        bias: values(outputs, 2, 5.0),
    };
    check_layer(&layer, inputs, &BATCHES, 1.0, 1e-5);
    check_layer(&layer, inputs, &[2], 1e4, 1e-4);
}

fn window(
    channels_in: usize,
    (in_h, in_w): (usize, usize),
    kernel: (usize, usize),
    stride: (usize, usize),
    pad: (usize, usize),
) -> Window {
    Window {
        channels_in,
        in_h,
        in_w,
        kernel,
        stride,
        pad,
        out_h: (in_h + 2 * pad.0 - kernel.0) / stride.0 + 1,
        out_w: (in_w + 2 * pad.1 - kernel.1) / stride.1 + 1,
    }
}

#[test]
fn conv2d_kernel_matches_its_twin_with_padding_and_strides() {
    let w = window(3, (9, 7), (3, 2), (2, 1), (1, 1));
    let layer = Layer::Conv2d {
        window: w,
        channels_out: 5,
        weight: values(5 * 3 * 3 * 2, 3, 1.0),
        bias: values(5, 4, 1.0),
    };
    check_layer(&layer, 3 * 9 * 7, &BATCHES, 10.0, 1e-5);
}

#[test]
fn pooling_kernels_match_their_twins() {
    let w = window(4, (7, 6), (3, 3), (2, 2), (1, 1));
    for kind in [
        PoolKind::Max,
        PoolKind::Average {
            count_include_pad: false,
        },
        PoolKind::Average {
            count_include_pad: true,
        },
    ] {
        let layer = Layer::Pool2d { window: w, kind };
        check_layer(&layer, 4 * 7 * 6, &BATCHES, 1e3, 1e-6);
    }
}

#[test]
fn channel_affine_and_activations_match_their_twins_on_large_values() {
    let affine = Layer::ChannelAffine {
        channels: 3,
        inner: 5,
        scale: vec![2.0, -0.5, 1e-3],
        shift: vec![-1.0, 0.0, 7.0],
    };
    check_layer(&affine, 15, &BATCHES, 1e6, 1e-6);
    for kind in [
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::LeakyRelu(0.1),
    ] {
        check_layer(
            &Layer::Activation { kind, len: 65 },
            65,
            &BATCHES,
            200.0,
            1e-6,
        );
    }
}

#[test]
fn softmax_kernels_stay_finite_on_huge_logits() {
    for log in [false, true] {
        let layer = Layer::Softmax { classes: 10, log };
        check_layer(&layer, 10, &BATCHES, 1e4, 1e-5);
    }
}

#[test]
fn the_signal_reduction_kernel_returns_two_floats_per_record() {
    let Some(gpu) = gpu() else { return };
    for rows in [0usize, 1, 65] {
        let logits = values(rows * 10, rows as u64, 30.0);
        let labels: Vec<u32> = (0..rows as u32).map(|i| i % 10).collect();
        let want = twin::reduce_signals(&logits, 10, &labels);
        let got = gpu.reduce_signals(&logits, 10, &labels).unwrap();
        assert_eq!(got.len(), 2 * rows);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-4 * (1.0 + w.abs()), "{g} vs {w}");
        }
    }
}

#[test]
fn every_zoo_model_gives_tracts_outputs_on_the_gpu_in_split_batches() {
    let Some(gpu) = gpu() else { return };
    for d in &manifest().datasets {
        let records = first_records(&audit_records(d).features);
        for target in &d.targets {
            let model = load_zoo_model(&target.model);
            let plan = model.gpu_plan().unwrap();
            let on_gpu = gpu.upload(plan);
            let want = model.predict(&records, 64, &mut NoProgress).unwrap();
            let got = gpu
                .run(&on_gpu, records.as_slice().unwrap(), RECORDS, 16)
                .unwrap();
            Tol::DeepGraph.assert_all(
                &flat(got.into_iter()),
                &flat(want.iter().copied()),
                &format!("{} on {}", target.model, gpu.adapter()),
            );
        }
    }
}

#[test]
fn auto_falls_back_to_tract_naming_the_operator_and_gpu_refuses() {
    use mialab::engine::{BackendChoice, Engine};
    let engine = Engine::default();
    let bytes = std::fs::read(repo("models/fixtures/gpu_unlowered.onnx")).unwrap();
    let model = Model::from_bytes(&bytes, &ModelOptions::default()).unwrap();
    let inputs = crate::util::read_npy_f32(&repo("models/fixtures/gpu_unlowered.inputs.npy"));
    let expected = crate::util::read_npy_f32(&repo("models/fixtures/gpu_unlowered.expected.npy"));
    let (out, used) = engine
        .run(&model, &inputs, BackendChoice::Auto, 4, &mut NoProgress)
        .unwrap();
    assert_eq!(used.engine, "cpu");
    assert!(used.detail.contains("ONNX operator Abs"), "{}", used.detail);
    Tol::Close.assert_all(
        &flat(out.iter().copied()),
        &flat(expected.iter().copied()),
        "gpu_unlowered on tract",
    );
    let err = engine
        .run(&model, &inputs, BackendChoice::Gpu, 4, &mut NoProgress)
        .unwrap_err()
        .to_string();
    assert!(err.contains("GPU backend") && err.contains("Abs"), "{err}");
}

#[test]
fn the_cli_says_which_flag_falls_back_when_the_gpu_cannot_run_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = repo("models/fixtures/gpu_unlowered.inputs.npy");
    let labels = dir.path().join("labels.npy");
    let n = crate::util::read_npy_f32(&inputs).shape()[0];
    ndarray_npy::write_npy(&labels, &ndarray::Array1::<i64>::zeros(n)).unwrap();
    let model = repo("models/fixtures/gpu_unlowered.onnx");
    let out = crate::util::mialab(&[
        "audit",
        "--model",
        model.to_str().unwrap(),
        "--records",
        inputs.to_str().unwrap(),
        "--labels",
        labels.to_str().unwrap(),
        "--attack",
        "loss",
        "--backend",
        "gpu",
        "-q",
    ]);
    assert!(!out.status.success());
    let err = crate::util::stderr(&out);
    assert!(
        err.contains("Abs") && err.contains("hint: --backend gpu"),
        "{err}"
    );
}

#[test]
fn an_audit_on_the_gpu_reports_its_engine_and_tracts_numbers() {
    if gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let zoo = repo("models");
    let report = |backend: &str| {
        let out = dir.path().join(format!("{backend}.json"));
        let args = [
            "audit",
            "--zoo",
            "support2/overfit",
            "--zoo-dir",
            zoo.to_str().unwrap(),
            "--attack",
            "loss,lira-online",
            "--bootstrap",
            "200",
            "-q",
            "--backend",
            backend,
            "--out",
            out.to_str().unwrap(),
        ];
        let run = crate::util::mialab(&args);
        assert!(run.status.success(), "{}", crate::util::stderr(&run));
        assert!(crate::util::stdout(&run).contains("the target ran on: "));
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(out).unwrap()).unwrap()
    };
    let (cpu, gpu) = (report("cpu"), report("gpu"));
    assert_eq!(cpu["model"]["backend"]["engine"], "cpu");
    assert_eq!(gpu["model"]["backend"]["engine"], "gpu");
    assert!(
        gpu["model"]["backend"]["detail"]
            .as_str()
            .unwrap()
            .contains("dense")
    );
    for i in 0..2 {
        let auc = |r: &serde_json::Value| r["attacks"][i]["metrics"]["auc"].as_f64().unwrap();
        assert!(
            (auc(&cpu) - auc(&gpu)).abs() < 1e-4,
            "{} vs {}",
            auc(&cpu),
            auc(&gpu)
        );
    }
}

/// A network whose products span several tiles in every direction (outputs, records and
/// channels past one tile, dot products past one staged slice, ragged edges), with each
/// activation after a product (fused by the tiled kernels) and pooling between (a max-pool
/// is fused into the convolution, an average pool is not).
fn multi_tile_plan(seed: u64, pool_kind: PoolKind) -> mialab::gpu::Plan {
    let conv = window(3, (9, 11), (3, 3), (1, 1), (1, 1));
    let pool = window(40, (9, 11), (2, 2), (2, 2), (0, 0));
    let flat = 40 * pool.out_h * pool.out_w;
    mialab::gpu::Plan {
        input_len: 3 * 9 * 11,
        layers: vec![
            Layer::Conv2d {
                window: conv,
                channels_out: 40,
                weight: values(40 * 27, seed, 0.5),
                bias: values(40, seed + 1, 0.5),
            },
            Layer::Activation {
                kind: Activation::LeakyRelu(0.1),
                len: 40 * 99,
            },
            Layer::Pool2d {
                window: pool,
                kind: pool_kind,
            },
            Layer::Dense {
                inputs: flat,
                outputs: 130,
                weight: values(flat * 130, seed + 2, 0.1),
                bias: values(130, seed + 3, 0.5),
            },
            Layer::Activation {
                kind: Activation::Tanh,
                len: 130,
            },
            Layer::Dense {
                inputs: 130,
                outputs: 5,
                weight: values(130 * 5, seed + 4, 0.3),
                bias: values(5, seed + 5, 0.5),
            },
        ],
    }
}

#[test]
fn every_kernel_set_gives_the_twins_outputs_across_tiles_and_models() {
    use mialab::gpu::KernelSet;
    let Some(gpu) = gpu() else { return };
    for pool in [
        PoolKind::Max,
        PoolKind::Average {
            count_include_pad: false,
        },
    ] {
        let plans: Vec<mialab::gpu::Plan> = (0..3).map(|m| multi_tile_plan(10 * m, pool)).collect();
        let refs: Vec<&mialab::gpu::Plan> = plans.iter().collect();
        let n = 67;
        let input = values(n * plans[0].input_len, 99, 1.0);
        let width = plans[0].output_len();
        for kernels in [
            KernelSet::Tiled,
            KernelSet::Staged,
            KernelSet::StagedConvolutions,
            KernelSet::Direct,
        ] {
            let set = gpu.upload_set_with(&refs, kernels).unwrap();
            assert_eq!(set.kernels(), kernels);
            let dispatches = match (kernels, pool) {
                (KernelSet::Direct, PoolKind::Max) => {
                    "conv2d, activation, max_pool, dense, activation, dense"
                }
                (KernelSet::Direct, PoolKind::Average { .. }) => {
                    "conv2d, activation, average_pool, dense, activation, dense"
                }
                (_, PoolKind::Max) => "conv2d+activation+max_pool, dense+activation, dense",
                (_, PoolKind::Average { .. }) => {
                    "conv2d+activation, average_pool, dense+activation, dense"
                }
            };
            assert_eq!(set.describe_dispatches(), dispatches);
            for batch in [n, 30] {
                let out = gpu.run(&set, &input, n, batch).unwrap();
                assert_eq!(out.len(), 3 * n * width);
                for (m, plan) in plans.iter().enumerate() {
                    let want = twin::run_plan(plan, &input, n);
                    let got = &out[m * n * width..(m + 1) * n * width];
                    Tol::DeepGraph.assert_all(
                        &flat(got.iter().copied()),
                        &flat(want.iter().copied()),
                        &format!("{kernels:?} kernels, {pool:?}, model {m}, batches of {batch}"),
                    );
                }
            }
        }
    }
}

#[test]
fn many_models_of_one_architecture_run_in_the_same_dispatches() {
    let Some(gpu) = gpu() else { return };
    for d in &manifest().datasets {
        let records = first_records(&audit_records(d).features);
        let paths: Vec<&String> = d.reference_sets[0]
            .models
            .iter()
            .map(|m| &m.model)
            .take(5)
            .collect();
        let models: Vec<Model> = paths.iter().map(|p| load_zoo_model(p)).collect();
        let plans: Vec<&mialab::gpu::Plan> = models
            .iter()
            .map(|m| m.gpu_plan().unwrap().as_ref())
            .collect();
        let set = gpu.upload_set(&plans).expect("one architecture");
        assert_eq!(set.models(), 5);
        let out = gpu
            .run(&set, records.as_slice().unwrap(), RECORDS, 16)
            .unwrap();
        let width = plans[0].output_len();
        assert_eq!(out.len(), 5 * RECORDS * width);
        for (k, model) in models.iter().enumerate() {
            let want = model.predict(&records, 64, &mut NoProgress).unwrap();
            let got = &out[k * RECORDS * width..(k + 1) * RECORDS * width];
            Tol::DeepGraph.assert_all(
                &flat(got.iter().copied()),
                &flat(want.iter().copied()),
                paths[k],
            );
        }
    }
    let m = manifest();
    let mlp = load_zoo_model(&m.datasets[0].targets[0].model);
    let cnn = load_zoo_model(&m.datasets[1].targets[0].model);
    let plans = [
        mlp.gpu_plan().unwrap().as_ref(),
        cnn.gpu_plan().unwrap().as_ref(),
    ];
    assert!(
        gpu.upload_set(&plans).is_none(),
        "two architectures cannot share dispatches"
    );
}

#[test]
fn reference_models_reduced_on_the_gpu_give_tracts_signals() {
    use mialab::engine::{BackendChoice, Engine};
    use mialab::model::{ModelOutput, OutputKindChoice};
    use mialab::signal::Signals;
    if gpu().is_none() {
        return;
    }
    let d = &manifest().datasets[1];
    let records = audit_records(d);
    let features = first_records(&records.features);
    let labels = &records.labels[..RECORDS];
    let models: Vec<Model> = d.reference_sets[0]
        .models
        .iter()
        .take(3)
        .map(|m| load_zoo_model(&m.model))
        .collect();
    let (pairs, used) = Engine::default()
        .run_set_reduced(
            &models,
            &features,
            labels,
            BackendChoice::Gpu,
            16,
            &mut NoProgress,
        )
        .expect("the reduced GPU path applies to logit models of one architecture");
    assert!(
        used.detail.contains("3 models per dispatch") && used.detail.contains("reduced"),
        "{}",
        used.detail
    );
    for (model, reduced) in models.iter().zip(&pairs) {
        let raw = model.predict(&features, 64, &mut NoProgress).unwrap();
        let output = ModelOutput::interpret(&raw, OutputKindChoice::Auto).unwrap();
        let want = Signals::compute(&output, labels, 1.0);
        for (i, (p_y, phi)) in reduced.iter().enumerate() {
            assert!(
                (f64::from(*p_y) - want.confidence[i]).abs() < 1e-5,
                "p_y {p_y} vs {}",
                want.confidence[i]
            );
            assert!(
                (f64::from(*phi) - want.logit_scaled[i]).abs()
                    < 1e-3 * (1.0 + want.logit_scaled[i].abs()),
                "φ {phi} vs {}",
                want.logit_scaled[i]
            );
        }
    }
}

mod training {
    //! The GPU trainer against the CPU training code (its twin): the same seed, recipe and
    //! records give the same losses and parameters, within float32 rounding.

    use mialab::gpu::training::{bytes_per_model, models_per_set};
    use mialab::gpu::{Activation, PoolKind, Window};
    use mialab::train::{
        Architecture, Block, Classification, EpochEnd, GpuFitJob, Head, Network, OptimizerKind,
        Recipe, TrainingSet, fit, fit_on_gpu, fit_set_on_gpu, gpu_layers,
    };
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};
    use std::ops::ControlFlow;

    /// The largest |a − b| over two sets of values.
    fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max)
    }

    /// The GPU's parameters within 1e-4 of the CPU's (`worst`), training having moved them
    /// far more than that (`moved`), the same losses epoch by epoch, and a falling loss.
    fn assert_same_training([worst, moved]: [f32; 2], cpu_losses: &[f64], gpu_losses: &[f64]) {
        assert!(worst < 1e-4, "parameters differ by {worst}");
        assert!(
            moved > 100.0 * worst,
            "training moved the parameters ({moved})"
        );
        for (a, b) in cpu_losses.iter().zip(gpu_losses) {
            assert!(
                (a - b).abs() < 1e-4 * a.abs().max(1.0),
                "losses {cpu_losses:?} vs {gpu_losses:?}"
            );
        }
        assert!(gpu_losses.last() < gpu_losses.first(), "the loss falls");
    }

    /// Every layer the GPU trains, behind a fixed standardisation, ending in `classes` logits.
    fn network_with(classes: usize) -> Architecture {
        let dense = |inputs, outputs| Block::Dense { inputs, outputs };
        let activation = |kind, len| Block::Activation { kind, len };
        Architecture {
            record_shape: vec![9],
            blocks: vec![
                Block::Affine {
                    channels: 9,
                    inner: 1,
                    scale: (0..9).map(|i| 0.5 + i as f32 * 0.1).collect(),
                    shift: (0..9).map(|i| i as f32 * -0.05).collect(),
                },
                dense(9, 70),
                activation(Activation::LeakyRelu(0.1), 70),
                Block::Dropout {
                    ratio: 0.25,
                    len: 70,
                },
                dense(70, 33),
                activation(Activation::Tanh, 33),
                dense(33, 20),
                activation(Activation::Sigmoid, 20),
                dense(20, 12),
                activation(Activation::Relu, 12),
                dense(12, classes),
            ],
            head: Head::Logits,
        }
    }

    fn records(n: usize, classes: usize) -> (Vec<f32>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let labels: Vec<usize> = (0..n).map(|i| i % classes.max(2)).collect();
        let x = labels
            .iter()
            .flat_map(|&y| (0..9).map(move |d| (d % 3 == y % 3) as u8 as f32))
            .map(|v| v + rng.random_range(-1.0f32..1.0))
            .collect();
        (x, labels)
    }

    /// Trains from seed 3 on the CPU and on the GPU; returns both networks and losses.
    fn both(classes: usize, recipe: &Recipe) -> [(Network, Vec<f64>); 2] {
        let (x, labels) = records(157, classes);
        both_on(&network_with(classes), &x, &labels, recipe)
    }

    /// [`both`] for `architecture` on the records `x` of classes `labels` (every seventh
    /// left out).
    fn both_on(
        architecture: &Architecture,
        x: &[f32],
        labels: &[usize],
        recipe: &Recipe,
    ) -> [(Network, Vec<f64>); 2] {
        let records: Vec<usize> = (0..labels.len()).filter(|i| i % 7 != 0).collect();
        let data = TrainingSet {
            features: x,
            record_len: x.len() / labels.len(),
            records: &records,
        };
        let gpu = mialab::gpu::device::shared().expect("a GPU adapter (lavapipe in CI)");
        [false, true].map(|on_gpu| {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let mut network = Network::initialise(architecture, &mut rng);
            let mut losses = Vec::new();
            let mut seen = |end: EpochEnd| {
                losses.push(end.loss);
                ControlFlow::Continue(())
            };
            if on_gpu {
                fit_on_gpu(gpu, &mut network, labels, data, recipe, &mut rng, &mut seen).unwrap();
            } else {
                let objective = Classification { labels };
                fit(
                    &mut network,
                    &objective,
                    data,
                    recipe,
                    &mut rng,
                    &mut |end, _| seen(end),
                )
                .unwrap();
            }
            (network, losses)
        })
    }

    #[test]
    fn the_gpu_trains_a_dense_network_as_the_cpu_does() {
        // Batches of 67 make every product span two tiles of 64 rows, with an edge.
        let recipes = [
            (OptimizerKind::Adam, 1e-3, 0.01, 32),
            (OptimizerKind::Adamw, 2e-3, 0.1, 67),
            (OptimizerKind::Sgd, 5e-2, 1e-3, 32),
        ];
        for classes in [4, 1] {
            for (optimizer, learning_rate, weight_decay, batch_size) in recipes {
                let recipe = Recipe {
                    optimizer,
                    learning_rate,
                    weight_decay,
                    epochs: Some(6),
                    batch_size,
                    ..Recipe::default()
                };
                let [(cpu, cpu_losses), (gpu, gpu_losses)] = both(classes, &recipe);
                let worst = largest_difference(&cpu.params, &gpu.params);
                let start =
                    Network::initialise(&network_with(classes), &mut ChaCha8Rng::seed_from_u64(3));
                let moved = largest_difference(&cpu.params, &start.params);
                println!(
                    "{classes} classes, {optimizer:?}: largest |GPU − CPU| parameter {worst:.2e} (training moved one by {moved:.2e}); losses {cpu_losses:?} vs {gpu_losses:?}"
                );
                assert_same_training([worst, moved], &cpu_losses, &gpu_losses);
            }
        }
    }

    fn window(
        channels_in: usize,
        (in_h, in_w): (usize, usize),
        kernel: usize,
        stride: usize,
        pad: usize,
        (out_h, out_w): (usize, usize),
    ) -> Window {
        Window {
            channels_in,
            in_h,
            in_w,
            kernel: (kernel, kernel),
            stride: (stride, stride),
            pad: (pad, pad),
            out_h,
            out_w,
        }
    }

    /// Every image layer the GPU trains: a padded convolution, batch normalisation over
    /// planes, max pooling that drops an odd row and column, a strided convolution, average
    /// pooling with padding (both divisors), then dense layers with a batch normalisation of
    /// features between them. Each batch normalisation follows an activation: straight after
    /// a bias, that bias's gradient is rounding noise, which Adam turns into steps of full
    /// size in a direction the two devices draw differently (the function stays the same).
    fn convolutional(include_pad: bool) -> Architecture {
        let activation = |kind, len| Block::Activation { kind, len };
        Architecture {
            record_shape: vec![2, 9, 9],
            blocks: vec![
                Block::Conv {
                    window: window(2, (9, 9), 3, 1, 1, (9, 9)),
                    channels_out: 5,
                },
                activation(Activation::Relu, 405),
                Block::BatchNorm {
                    channels: 5,
                    inner: 81,
                    epsilon: 1e-5,
                },
                Block::Pool {
                    window: window(5, (9, 9), 2, 2, 0, (4, 4)),
                    kind: PoolKind::Max,
                },
                Block::Conv {
                    window: window(5, (4, 4), 3, 2, 1, (2, 2)),
                    channels_out: 4,
                },
                activation(Activation::LeakyRelu(0.1), 16),
                Block::Pool {
                    window: window(4, (2, 2), 2, 1, 1, (3, 3)),
                    kind: PoolKind::Average {
                        count_include_pad: include_pad,
                    },
                },
                Block::Dense {
                    inputs: 36,
                    outputs: 10,
                },
                activation(Activation::Tanh, 10),
                Block::BatchNorm {
                    channels: 10,
                    inner: 1,
                    epsilon: 1e-3,
                },
                Block::Dense {
                    inputs: 10,
                    outputs: 3,
                },
            ],
            head: Head::Logits,
        }
    }

    #[test]
    fn the_gpu_trains_a_convolutional_network_as_the_cpu_does() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let labels: Vec<usize> = (0..120).map(|i| i % 3).collect();
        // Each class lights a different corner, under noise.
        let x: Vec<f32> = labels
            .iter()
            .flat_map(|&y| (0..162).map(move |i| ((i % 81) / 27 == y) as u8 as f32))
            .map(|v| v + rng.random_range(-0.8f32..0.8))
            .collect();
        for (include_pad, optimizer, batch_size) in [
            (false, OptimizerKind::Adam, 16),
            (true, OptimizerKind::Sgd, 25),
        ] {
            let architecture = convolutional(include_pad);
            let recipe = Recipe {
                optimizer,
                learning_rate: if optimizer == OptimizerKind::Sgd {
                    2e-2
                } else {
                    2e-3
                },
                weight_decay: 1e-3,
                epochs: Some(4),
                batch_size,
                ..Recipe::default()
            };
            let [(cpu, cpu_losses), (gpu, gpu_losses)] =
                both_on(&architecture, &x, &labels, &recipe);
            let worst = largest_difference(&cpu.params, &gpu.params);
            let start = Network::initialise(&architecture, &mut ChaCha8Rng::seed_from_u64(3));
            let moved = largest_difference(&cpu.params, &start.params);
            let running = largest_difference(&cpu.running_values(), &gpu.running_values());
            let running_moved = largest_difference(&cpu.running_values(), &start.running_values());
            println!(
                "{optimizer:?}, count_include_pad {include_pad}: largest |GPU − CPU| parameter {worst:.2e} (training moved one by {moved:.2e}), running statistic {running:.2e} (moved {running_moved:.2e}); losses {cpu_losses:?} vs {gpu_losses:?}"
            );
            assert_same_training([worst, moved], &cpu_losses, &gpu_losses);
            assert!(running < 1e-4, "running statistics differ by {running}");
            assert!(
                running_moved > 100.0 * running,
                "the running statistics moved ({running_moved})"
            );
        }
    }

    #[test]
    fn models_of_one_architecture_train_together_each_as_it_would_alone() {
        let (x, labels) = records(157, 4);
        let (subsets, recipe) = uneven_subsets(&labels);
        train_together_and_alone(&network_with(4), (&x, &labels), &subsets, &recipe, 10);
    }

    #[test]
    fn convolutional_models_train_together_each_as_it_would_alone() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let labels: Vec<usize> = (0..100).map(|i| i % 3).collect();
        let x: Vec<f32> = (0..100 * 162)
            .map(|_| rng.random_range(-1.0f32..1.0))
            .collect();
        let (subsets, recipe) = uneven_subsets(&labels);
        train_together_and_alone(&convolutional(false), (&x, &labels), &subsets, &recipe, 10);
    }

    #[test]
    fn a_set_too_large_for_the_device_buffers_trains_in_parts_each_as_alone() {
        // Hidden units enough that, at batches of 500, one model's widest layer takes 1/3.5
        // of the device's largest binding (19,173 on lavapipe's 128 MiB): three of the four
        // share a trainer, the fourth trains in a second one.
        let gpu = mialab::gpu::device::shared().expect("a GPU adapter (lavapipe in CI)");
        let hidden = (gpu.largest_binding() as f64 / (4.0 * 500.0 * 3.5)) as usize;
        let architecture = Architecture {
            record_shape: vec![9],
            blocks: vec![
                Block::Dense {
                    inputs: 9,
                    outputs: hidden,
                },
                Block::Activation {
                    kind: Activation::Relu,
                    len: hidden,
                },
                Block::Dense {
                    inputs: hidden,
                    outputs: 2,
                },
            ],
            head: Head::Logits,
        };
        let (x, labels) = records(1100, 2);
        let recipe = Recipe {
            optimizer: OptimizerKind::Adam,
            learning_rate: 1e-3,
            epochs: Some(1),
            batch_size: 500,
            ..Recipe::default()
        };
        let (_, layers) = gpu_layers(&architecture).unwrap();
        let per_model = bytes_per_model(&layers, 9, architecture.parameters(), 500);
        assert_eq!(models_per_set(gpu, per_model), 3);
        let subsets: Vec<Vec<usize>> = (0..4)
            .map(|k| (0..labels.len()).filter(|i| i % 11 != k).collect())
            .collect();
        train_together_and_alone(&architecture, (&x, &labels), &subsets, &recipe, 20);
    }

    #[test]
    fn a_network_whose_kernels_loop_past_llvmpipes_limit_is_refused_there() {
        // A dense layer of 70,000 inputs: its product loops 70,000 times in one invocation,
        // which llvmpipe would cut short at 65,535 without an error.
        let architecture = Architecture {
            record_shape: vec![70_000],
            blocks: vec![Block::Dense {
                inputs: 70_000,
                outputs: 2,
            }],
            head: Head::Logits,
        };
        let labels: Vec<usize> = (0..8).map(|i| i % 2).collect();
        let x: Vec<f32> = (0..8 * 70_000).map(|i| (i % 13) as f32 / 13.0).collect();
        let records: Vec<usize> = (0..8).collect();
        let gpu = mialab::gpu::device::shared().expect("a GPU adapter (lavapipe in CI)");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut network = Network::initialise(&architecture, &mut rng);
        let recipe = Recipe {
            epochs: Some(1),
            batch_size: 4,
            ..Recipe::default()
        };
        let data = TrainingSet {
            features: &x,
            record_len: 70_000,
            records: &records,
        };
        let outcome = fit_on_gpu(
            gpu,
            &mut network,
            &labels,
            data,
            &recipe,
            &mut rng,
            &mut |_| ControlFlow::Continue(()),
        );
        if gpu.adapter().contains("llvmpipe") {
            let message = outcome.unwrap_err().to_string();
            assert!(
                message.contains("70064 loop iterations in one GPU invocation")
                    && message.contains("stops any invocation after 65535"),
                "{message}"
            );
        } else {
            outcome.unwrap();
        }
    }

    /// Three subsets of different sizes, so that their models take different numbers of
    /// steps per epoch (one sits the rest of each epoch out), and their recipe.
    fn uneven_subsets(labels: &[usize]) -> (Vec<Vec<usize>>, Recipe) {
        let subsets: Vec<Vec<usize>> = (0..3)
            .map(|k| (0..labels.len()).filter(|i| i % (k + 2) != 0).collect())
            .collect();
        assert!(subsets[0].len() != subsets[1].len());
        let recipe = Recipe {
            optimizer: OptimizerKind::Adam,
            learning_rate: 2e-3,
            weight_decay: 0.01,
            epochs: Some(5),
            batch_size: 30,
            ..Recipe::default()
        };
        (subsets, recipe)
    }

    /// One model per subset (model k initialised from seed `seed + k`) trained together in
    /// shared dispatches; each must match its own CPU training, epoch losses and running
    /// statistics included (a model sitting a step out keeps them), and be heard under its
    /// own index.
    fn train_together_and_alone(
        architecture: &Architecture,
        (x, labels): (&[f32], &[usize]),
        subsets: &[Vec<usize>],
        recipe: &Recipe,
        seed: u64,
    ) {
        let record_len = x.len() / labels.len();
        let models = subsets.len();
        let gpu = mialab::gpu::device::shared().expect("a GPU adapter (lavapipe in CI)");
        let start = |k: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed + k);
            (Network::initialise(architecture, &mut rng), rng)
        };
        let mut together: Vec<(Network, ChaCha8Rng)> = (0..models as u64).map(start).collect();
        let mut heard = vec![Vec::new(); models];
        {
            let mut jobs: Vec<GpuFitJob<'_>> = together
                .iter_mut()
                .zip(subsets)
                .map(|((network, rng), records)| GpuFitJob {
                    network,
                    rng,
                    data: TrainingSet {
                        features: x,
                        record_len,
                        records,
                    },
                })
                .collect();
            fit_set_on_gpu(gpu, &mut jobs, labels, recipe, &mut |k, end| {
                heard[k].push(end.loss);
                ControlFlow::Continue(())
            })
            .unwrap();
        }
        for (k, records) in subsets.iter().enumerate() {
            let (mut alone, mut rng) = start(k as u64);
            let mut losses = Vec::new();
            let objective = Classification { labels };
            let data = TrainingSet {
                features: x,
                record_len,
                records,
            };
            fit(
                &mut alone,
                &objective,
                data,
                recipe,
                &mut rng,
                &mut |end, _| {
                    losses.push(end.loss);
                    ControlFlow::Continue(())
                },
            )
            .unwrap();
            let worst = largest_difference(&alone.params, &together[k].0.params);
            let running =
                largest_difference(&alone.running_values(), &together[k].0.running_values());
            println!(
                "model {k} ({} records): largest |set − alone| parameter {worst:.2e}, running statistic {running:.2e}",
                records.len()
            );
            assert!(worst < 1e-4, "model {k}: parameters differ by {worst}");
            assert!(
                running < 1e-4,
                "model {k}: running statistics differ by {running}"
            );
            assert_eq!(
                Some(heard[k].len()),
                recipe.epochs,
                "model {k}'s epochs heard"
            );
            for (a, b) in losses.iter().zip(&heard[k]) {
                assert!(
                    (a - b).abs() < 1e-4 * a.abs().max(1.0),
                    "model {k}: losses {losses:?} vs {:?}",
                    heard[k]
                );
            }
        }
        assert_ne!(together[0].0.params, together[1].0.params);
    }
}

#[test]
fn dispatch_times_name_every_dispatch_and_count_its_products() {
    use mialab::gpu::KernelSet;
    let Some(gpu) = gpu() else { return };
    let plans: Vec<mialab::gpu::Plan> = (0..2)
        .map(|m| multi_tile_plan(10 * m, PoolKind::Max))
        .collect();
    let refs: Vec<&mialab::gpu::Plan> = plans.iter().collect();
    let n = 9;
    let input = values(n * plans[0].input_len, 7, 1.0);
    let set = gpu.upload_set_with(&refs, KernelSet::Tiled).unwrap();
    let Some(times) = gpu.time_dispatches(&set, &input, n).unwrap() else {
        eprintln!("this adapter has no timestamp queries");
        return;
    };
    let names: Vec<&str> = times.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.join(", "), set.describe_dispatches());
    let products: Vec<usize> = plans[0]
        .layers
        .iter()
        .filter(|l| matches!(l, Layer::Dense { .. } | Layer::Conv2d { .. }))
        .map(|l| l.flops() * n * 2)
        .collect();
    let counted: Vec<usize> = times.iter().map(|t| t.flops as usize).collect();
    assert_eq!(counted, products);
    assert!(times.iter().all(|t| t.seconds >= 0.0 && t.seconds < 60.0));
}
