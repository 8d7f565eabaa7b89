//! Reference models trained here: `mialab train-references` writes models that `audit` reads
//! back, training is the same whatever the thread count, exported models read the same in
//! onnxruntime (stored logits, `models/fixtures/trained/build.py`), a graph outside the
//! trainable subset is refused with its operator named, and the quantile-regression attack
//! runs on what it trains.

use crate::util::{Tol, attack_in, example, mialab, read_npy_f32, repo, stderr, stdout};
use mialab::model::{CpuEngine, Model, ModelOptions};
use mialab::progress::NoProgress;
use ndarray::Array2;
use ndarray_npy::ReadNpyExt;
use std::path::Path;

fn train_example(out: &Path, extra: &[&str]) -> std::process::Output {
    let path = |f: &str| example(f).display().to_string();
    let mut args: Vec<String> = [
        "train-references",
        "--model",
        &path("model.onnx"),
        "--records",
        &path("audit.csv"),
        "--population",
        &path("population.csv"),
        "--schema",
        &path("schema.json"),
        "--k",
        "4",
        "--epochs",
        "20",
        "-q",
        "--out",
        &out.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    mialab(&args)
}

/// The report of `mialab audit` on the example with the references in `refs` and `attacks`.
fn audit_example_with(refs: &Path, attacks: &str) -> serde_json::Value {
    let report = refs.join("report.json");
    let mut args = crate::util::example_audit_args();
    args.extend(
        [
            "--references",
            &refs.display().to_string(),
            "--keep-mask",
            &refs.join("keep.npy").display().to_string(),
            "--attack",
            attacks,
            "-q",
            "--out",
            &report.display().to_string(),
        ]
        .map(String::from),
    );
    let audit = mialab(&args);
    assert!(audit.status.success(), "{}", stderr(&audit));
    serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap()
}

#[test]
fn trained_references_are_written_with_a_keep_mask_and_log_that_audit_reads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("refs");
    let run = train_example(&out, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stdout(&run).contains("audit with: --references"));
    let models: Vec<_> = (0..4)
        .map(|k| out.join(format!("ref-{k:02}.onnx")))
        .collect();
    assert!(models.iter().all(|m| m.exists()));
    let keep =
        Array2::<bool>::read_npy(std::fs::File::open(out.join("keep.npy")).unwrap()).unwrap();
    assert_eq!(keep.dim(), (4, 427));
    assert!(
        keep.columns()
            .into_iter()
            .all(|c| c.iter().filter(|&&k| k).count() == 2)
    );
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("training.json")).unwrap()).unwrap();
    assert_eq!(log["models"], 4);
    assert_eq!(log["epochs"], 20);
    assert_eq!(log["references"].as_array().unwrap().len(), 4);
    assert_eq!(log["references"][0]["losses"].as_array().unwrap().len(), 20);
    let target_members = log["recipe_match"]["target_members"].as_f64().unwrap();
    assert!(
        target_members > 0.99,
        "the example's target fits its members"
    );
    assert!(log["recipe_match"]["references_train"].as_f64().unwrap() > 0.9);

    let report = audit_example_with(&out, "lira-online,rmia-online,loss");
    let lira = attack_in(&report, "lira-online");
    assert!(lira["metrics"]["auc"].as_f64().unwrap() > 0.5);
    assert_eq!(report["references"]["models"], 4);
}

#[test]
fn a_folder_holding_other_models_is_refused_and_nothing_trains() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("someone-elses.onnx"), b"not ours").unwrap();
    let run = train_example(dir.path(), &[]);
    assert!(!run.status.success());
    assert!(
        stderr(&run).contains("someone-elses.onnx"),
        "{}",
        stderr(&run)
    );
    assert!(!dir.path().join("keep.npy").exists());
}

#[test]
fn training_is_the_same_whatever_the_thread_count_and_moves_with_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = |name: &str, threads: &str, seed: &str| {
        let out = dir.path().join(name);
        let run = train_example(&out, &["--threads", threads, "--seed", seed]);
        assert!(run.status.success(), "{}", stderr(&run));
        (0..4)
            .map(|k| std::fs::read(out.join(format!("ref-{k:02}.onnx"))).unwrap())
            .chain([std::fs::read(out.join("keep.npy")).unwrap()])
            .collect::<Vec<_>>()
    };
    let one = bytes("one", "1", "3");
    assert_eq!(one, bytes("two", "2", "3"), "1 and 2 threads");
    assert_eq!(one, bytes("eight", "8", "3"), "1 and 8 threads");
    assert_ne!(one, bytes("other", "2", "4"), "another seed");
}

/// The models `models/fixtures/trained/build.py` trained here, read by onnxruntime 1.32.0.
#[test]
fn exported_references_read_the_same_in_onnxruntime_as_in_mialab() {
    for (set, tolerance) in [("mlp", Tol::Close), ("cnn", Tol::DeepGraph)] {
        let dir = repo(&format!("models/fixtures/trained/{set}"));
        let inputs = read_npy_f32(&dir.join("inputs.npy"));
        for k in 0..2 {
            let path = dir.join(format!("ref-{k:02}.onnx"));
            let model = Model::from_bytes(&std::fs::read(&path).unwrap(), &ModelOptions::default())
                .unwrap();
            assert!(model.architecture().is_ok(), "{set}: retrainable again");
            let expected = read_npy_f32(&dir.join(format!("ref-{k:02}.expected.npy")));
            let expected: Vec<f64> = expected.iter().map(|&v| f64::from(v)).collect();
            for engine in [CpuEngine::Tract, CpuEngine::Kernels] {
                let out = model
                    .predict_with(engine, &inputs, 64, &mut NoProgress)
                    .unwrap();
                let out: Vec<f64> = out.iter().map(|&v| f64::from(v)).collect();
                tolerance.assert_all(&out, &expected, &format!("{set} ref {k} {engine:?}"));
            }
        }
    }
}

#[test]
fn a_graph_outside_the_trainable_subset_is_refused_with_its_operator_named() {
    let dir = tempfile::tempdir().unwrap();
    let wine = |f: &str| {
        repo(&format!("models/fixtures/exporters/{f}"))
            .display()
            .to_string()
    };
    for (model, named) in [
        ("wine_pytorch_style_opset17.onnx", "LayerNormalization"),
        ("wine_logreg.onnx", "LinearClassifier"),
        ("wine_forest.onnx", "tree ensemble"),
    ] {
        let run = mialab(&[
            "train-references",
            "--model",
            &wine(model),
            "--records",
            &wine("wine_features.npy"),
            "--labels",
            &wine("wine_labels.npy"),
            "--out",
            &dir.path().display().to_string(),
        ]);
        assert!(!run.status.success());
        let message = stderr(&run);
        assert!(
            message.contains("cannot be retrained here") && message.contains(named),
            "{model}: {message}"
        );
    }
}

#[test]
fn a_skl2onnx_mlp_pipeline_retrains_with_its_scaler_kept() {
    let dir = tempfile::tempdir().unwrap();
    let wine = |f: &str| {
        repo(&format!("models/fixtures/exporters/{f}"))
            .display()
            .to_string()
    };
    let out = dir.path().join("refs");
    let run = mialab(&[
        "train-references",
        "--model",
        &wine("wine_mlp.onnx"),
        "--records",
        &wine("wine_features.npy"),
        "--labels",
        &wine("wine_labels.npy"),
        "--membership",
        &wine("wine_members.npy"),
        "--k",
        "2",
        "--epochs",
        "100",
        "-q",
        "--out",
        &out.display().to_string(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("training.json")).unwrap()).unwrap();
    assert!(log["recipe_match"]["references_held_out"].as_f64().unwrap() > 0.85);
    let model = Model::from_bytes(
        &std::fs::read(out.join("ref-00.onnx")).unwrap(),
        &ModelOptions::default(),
    )
    .unwrap();
    let architecture = model.architecture().unwrap().describe();
    assert!(
        architecture.starts_with("affine-dense-relu-dense"),
        "{architecture}"
    );
}

#[test]
fn the_quantile_regression_attack_runs_when_asked_and_survives_a_signals_file() {
    let dir = tempfile::tempdir().unwrap();
    let signals = dir.path().join("signals.npz");
    let mut args = crate::util::example_audit_args();
    args[0] = "signals".to_string();
    args.extend(
        [
            "--attack",
            "quantile-regression",
            "-q",
            "--out",
            &signals.display().to_string(),
        ]
        .map(String::from),
    );
    let run = mialab(&args);
    assert!(run.status.success(), "{}", stderr(&run));

    let auc = |args: Vec<String>, report: &Path| {
        let run = mialab(&args);
        assert!(run.status.success(), "{}", stderr(&run));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
        let attack = attack_in(&report, "quantile-regression");
        assert!(attack["detail"].as_str().unwrap().contains("regressor"));
        assert!(
            attack["operating_points"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["method"] == "cross-fit")
        );
        attack["metrics"]["auc"].as_f64().unwrap()
    };
    let direct = dir.path().join("direct.json");
    let mut audit = crate::util::example_audit_args();
    audit.extend(
        [
            "--attack",
            "quantile-regression,loss",
            "-q",
            "--out",
            &direct.display().to_string(),
        ]
        .map(String::from),
    );
    let from_models = auc(audit, &direct);
    let stored = dir.path().join("stored.json");
    let from_file = auc(
        [
            "audit",
            "--signals",
            &signals.display().to_string(),
            "--attack",
            "quantile-regression",
            "-q",
            "--out",
            &stored.display().to_string(),
        ]
        .map(String::from)
        .to_vec(),
        &stored,
    );
    assert_eq!(from_models, from_file);
    assert!(from_models > 0.5, "{from_models}");

    // Not run by an audit that names no attacks: it trains a network.
    let report = dir.path().join("default.json");
    let mut plain = crate::util::example_audit_args();
    plain.extend(["-q", "--out", &report.display().to_string()].map(String::from));
    assert!(mialab(&plain).status.success());
    let text = std::fs::read_to_string(report).unwrap();
    assert!(!text.contains("\"id\": \"quantile-regression\""));
}

#[test]
fn the_gpu_trains_references_as_the_cpu_does_and_says_where_they_trained() {
    let dir = tempfile::tempdir().unwrap();
    let trained = |device: &str| {
        let out = dir.path().join(device);
        let run = train_example(&out, &["--device", device]);
        assert!(run.status.success(), "{device}: {}", stderr(&run));
        let log: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("training.json")).unwrap()).unwrap();
        (out, log["device"].as_str().unwrap().to_string())
    };
    let (cpu, cpu_device) = trained("cpu");
    let (gpu, gpu_device) = trained("gpu");
    assert_eq!(cpu_device, "the CPU");
    assert!(
        gpu_device.starts_with("the GPU's training kernels on "),
        "{gpu_device}"
    );
    assert_eq!(
        std::fs::read(cpu.join("keep.npy")).unwrap(),
        std::fs::read(gpu.join("keep.npy")).unwrap()
    );
    let lira_auc = |refs: &Path| {
        attack_in(&audit_example_with(refs, "lira-online"), "lira-online")["metrics"]["auc"]
            .as_f64()
            .unwrap()
    };
    let (on_cpu, on_gpu) = (lira_auc(&cpu), lira_auc(&gpu));
    assert!(on_cpu > 0.5, "the references see the leak: AUC {on_cpu}");
    assert!(
        (on_cpu - on_gpu).abs() < 1e-4,
        "LiRA online AUC with CPU-trained references {on_cpu}, GPU-trained {on_gpu}"
    );

    // Auto trains on the CPU next to a software adapter, and says so.
    let (_, auto_device) = trained("auto");
    if mialab::gpu::device::shared().is_ok_and(|g| g.is_software()) {
        assert!(
            auto_device.starts_with("the CPU, because the only GPU adapter, "),
            "{auto_device}"
        );
    }

    // A convolutional target (the zoo's Fashion-MNIST CNN, with batch normalisation and
    // max pooling) trains on the GPU too, epoch by epoch as on the CPU. 400 of its records
    // keep it short on a software adapter; batches of 100 put 78,400 values in each
    // channel's batch statistics, past the 65,535 loop iterations llvmpipe lets one
    // invocation make (a kernel that summed them in one invocation failed here).
    let pixels = ndarray::ArrayD::<u8>::read_npy(
        std::fs::File::open(repo("models/fashion_mnist/audit_features.npy")).unwrap(),
    )
    .unwrap();
    let features = pixels.mapv(|p| p as f32 / 255.0);
    let labels = ndarray::Array1::<i64>::read_npy(
        std::fs::File::open(repo("models/fashion_mnist/audit_labels.npy")).unwrap(),
    )
    .unwrap();
    let subset = dir.path().join("subset.npy");
    let subset_labels = dir.path().join("subset_labels.npy");
    ndarray_npy::write_npy(
        &subset,
        &features.slice(ndarray::s![..400, .., .., ..]).to_owned(),
    )
    .unwrap();
    ndarray_npy::write_npy(&subset_labels, &labels.slice(ndarray::s![..400]).to_owned()).unwrap();
    let cnn = |device: &str| {
        let out = dir.path().join(format!("cnn-{device}"));
        let run = mialab(&[
            "train-references",
            "--model",
            &repo("models/fashion_mnist/targets/overfit.onnx")
                .display()
                .to_string(),
            "--records",
            &subset.display().to_string(),
            "--labels",
            &subset_labels.display().to_string(),
            "--k",
            "2",
            "--epochs",
            "3",
            "--batch-size",
            "100",
            "--device",
            device,
            "--out",
            &out.display().to_string(),
        ]);
        assert!(run.status.success(), "{device}: {}", stderr(&run));
        let log: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("training.json")).unwrap()).unwrap();
        log
    };
    let (cpu_cnn, gpu_cnn) = (cnn("cpu"), cnn("gpu"));
    assert!(
        gpu_cnn["device"]
            .as_str()
            .unwrap()
            .starts_with("the GPU's training kernels on "),
        "{}",
        gpu_cnn["device"]
    );
    for k in 0..2 {
        let losses = |log: &serde_json::Value| -> Vec<f64> {
            log["references"][k]["losses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_f64().unwrap())
                .collect()
        };
        let (on_cpu, on_gpu) = (losses(&cpu_cnn), losses(&gpu_cnn));
        assert_eq!(on_cpu.len(), 3);
        for (a, b) in on_cpu.iter().zip(&on_gpu) {
            assert!(
                (a - b).abs() < 1e-4 * a.abs().max(1.0),
                "CNN reference {k}: losses {on_cpu:?} on the CPU, {on_gpu:?} on the GPU"
            );
        }
    }
}
