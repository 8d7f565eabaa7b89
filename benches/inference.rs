//! Peer benchmark of neural-network inference, in one run: the zoo's two architectures (the
//! Fashion-MNIST CNN, 2.1 MFLOP per record, and the SUPPORT2 MLP) over their 8,000 audit
//! records in batches of 256, on tract, on mialab's CPU kernels and on onnxruntime's CPU
//! provider (`benches/peer_onnxruntime.py`), at one thread and on every core, best of three
//! runs each (a run is as many passes over the records as make it last ≥ 0.3 s, the same
//! for every engine, so that the 8 ms MLP pass is not timed alone). Prints records per second, GFLOP/s (FLOPs counted from the lowered graph) and
//! the ratio to onnxruntime at equal threads; docs/benchmarks.md's table is its output.
//!
//! Run: `cargo bench --bench inference` (needs `pip install onnxruntime==1.32.0 onnx numpy`;
//! without them the peer columns say so).

mod common;

use mialab::model::{CpuEngine, Model, ModelOptions};
use mialab::progress::NoProgress;
use ndarray::ArrayD;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const REPEATS: usize = 3;
const BATCH: usize = 256;
/// The shortest timed run, in seconds (single-threaded, on the kernels).
const MIN_RUN_SECONDS: f64 = 0.3;
const MODELS: [(&str, &str); 2] = [
    ("fashion_mnist CNN", "fashion_mnist"),
    ("support2 MLP", "support2"),
];

fn zoo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(path)
}

/// onnxruntime's records per second with `threads` intra-op threads, `passes` passes over
/// the records per timed run.
fn peer(model: &Path, features: &Path, threads: usize, passes: usize) -> Option<f64> {
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/peer_onnxruntime.py"
        ))
        .arg(model)
        .arg(features)
        .arg(REPEATS.to_string())
        .arg(threads.to_string())
        .arg(BATCH.to_string())
        .arg(passes.to_string())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "8,000 audit records in batches of {BATCH}, best of {REPEATS}; records/s (GFLOP/s); ratio = mialab's kernels / onnxruntime at equal threads"
    );
    println!(
        "{:<18} {:>8} {:>16} {:>16} {:>16} {:>7}",
        "model", "threads", "tract", "mialab kernels", "onnxruntime", "ratio"
    );
    let mut kernel = String::new();
    for (label, dataset) in MODELS {
        let path = zoo(&format!("{dataset}/targets/overfit.onnx"));
        let features_path = dir.path().join(format!("{dataset}.npy"));
        let features = float_features(
            &zoo(&format!("{dataset}/audit_features.npy")),
            &features_path,
        );
        let records = features.shape()[0];
        let model = Model::from_bytes(&std::fs::read(&path).unwrap(), &ModelOptions::default())
            .expect("the zoo model loads");
        kernel = model.cpu_engine(CpuEngine::Kernels);
        let flops = model.gpu_plan().map_or(0, |p| p.flops_per_record()) as f64;
        let cell = |rate: f64| format!("{rate:.0} ({:.1})", rate * flops / 1e9);
        let pass = |cpu: CpuEngine| {
            model
                .predict_with(cpu, &features, BATCH, &mut NoProgress)
                .expect("the model runs");
        };
        let started = std::time::Instant::now();
        pass(CpuEngine::Kernels);
        let passes = (MIN_RUN_SECONDS / started.elapsed().as_secs_f64()).ceil() as usize;
        let passes = passes.clamp(1, 1000);
        for threads in [1, cores] {
            let on = |cpu: CpuEngine| {
                common::best_rate(threads, REPEATS, passes * records, || {
                    (0..passes).for_each(|_| pass(cpu));
                })
            };
            let tract = on(CpuEngine::Tract);
            let ours = on(CpuEngine::Kernels);
            let theirs = peer(&path, &features_path, threads, passes);
            let (peer_cell, ratio) = match theirs {
                Some(t) => (cell(t), format!("{:.2}×", ours / t)),
                None => ("(no onnxruntime)".to_string(), "-".to_string()),
            };
            println!(
                "{label:<18} {threads:>8} {:>16} {:>16} {peer_cell:>16} {ratio:>7}",
                cell(tract),
                cell(ours)
            );
        }
    }
    println!("kernel: {kernel}");
}

/// The records as float32, pixels (uint8) divided by 255 as mialab reads them, with a
/// float32 copy written to `copy` for onnxruntime.
fn float_features(path: &Path, copy: &Path) -> ArrayD<f32> {
    let open = || std::fs::File::open(path).expect("the audit features");
    let features = ArrayD::<f32>::read_npy(open()).unwrap_or_else(|_| {
        ArrayD::<u8>::read_npy(open())
            .expect("float32 or uint8 features")
            .mapv(|v| f32::from(v) / 255.0)
    });
    features
        .write_npy(std::fs::File::create(copy).unwrap())
        .expect("write the records");
    features
}
