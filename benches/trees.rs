//! Benchmark of tree ensembles against onnxruntime, in the same run: the committed forest and
//! gradient-boosting exports (skl2onnx's RandomForest, GradientBoosting, HistGradientBoosting;
//! onnxmltools' XGBoost and LightGBM; every option at its default) over 100,000 records
//! (the wine features repeated), on mialab's tree walker and on onnxruntime's CPU provider
//! with one thread (`benches/peer_onnxruntime.py`, ZipMap cut off on both sides), best of
//! three runs each, printing rows per second and the ratio at one thread each; then mialab on
//! every core.
//!
//! Run: `cargo bench --bench trees` (needs `pip install onnxruntime==1.32.0 onnx`; without
//! them the peer column says so).

mod common;

use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use ndarray::{Array2, ArrayD, Axis};
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use std::path::PathBuf;
use std::process::Command;

const ROWS: usize = 100_000;
const REPEATS: usize = 3;
const MODELS: [&str; 6] = [
    "wine_forest",
    "wine_boosting",
    "wine_binary_boosting",
    "wine_hist_boosting",
    "wine_xgboost",
    "wine_lightgbm",
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models/fixtures/exporters")
        .join(name)
}

fn main() {
    let wine = Array2::<f32>::read_npy(std::fs::File::open(fixture("wine_features.npy")).unwrap())
        .expect("wine features");
    let picks: Vec<usize> = (0..ROWS).map(|i| i % wine.nrows()).collect();
    let features: ArrayD<f32> = wine.select(Axis(0), &picks).into_dyn();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let npy = dir.path().join("features.npy");
    features
        .write_npy(std::fs::File::create(&npy).unwrap())
        .expect("write the records");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{ROWS} records × {} features, best of {REPEATS}; the ratio is at one thread each",
        wine.ncols()
    );
    println!(
        "{:<22} {:>14} {:>18} {:>8} {:>18}",
        "model",
        "mialab rows/s",
        "onnxruntime rows/s",
        "ratio",
        format!("mialab, {cores} threads")
    );
    for name in MODELS {
        let path = fixture(&format!("{name}.onnx"));
        let model = Model::from_bytes(&std::fs::read(&path).unwrap(), &ModelOptions::default())
            .expect("the fixture loads");
        let rows_per_second = |threads: usize| {
            common::best_rate(threads, REPEATS, ROWS, || {
                model
                    .predict(&features, 4096, &mut NoProgress)
                    .expect("the model runs");
            })
        };
        let ours = rows_per_second(1);
        let all = rows_per_second(cores);
        let peer = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/benches/peer_onnxruntime.py"
            ))
            .arg(&path)
            .arg(&npy)
            .arg(REPEATS.to_string())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .trim()
                    .parse::<f64>()
                    .ok()
            });
        match peer {
            Some(theirs) => println!(
                "{name:<22} {ours:>14.0} {theirs:>18.0} {:>7.2}× {all:>18.0}",
                ours / theirs
            ),
            None => println!(
                "{name:<22} {ours:>14.0} {:>18} {:>8} {all:>18.0}",
                "(no onnxruntime)", "-"
            ),
        }
    }
}
