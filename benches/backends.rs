//! Benchmark of the two inference engines on the zoo's image set with all its references:
//! the Fashion-MNIST target and its 16 reference models over the 8,000 audit records, on
//! tract (CPU), on the GPU kernels model by model, and on the GPU kernels with all models in
//! each dispatch, in the same run, reporting records × models per second for each and the
//! ratio. Outputs are compared with tract's (largest |difference|).
//!
//! Run: `cargo bench --bench backends` (add `-- support2/overfit` for another zoo target,
//! `-- --records 2000` to use fewer records). On a machine without a GPU, wgpu's adapter is
//! a software one (lavapipe, SwiftShader): the GPU path is then expected to be slower, and
//! the number says by how much; the same command measures a real GPU unchanged.

use mialab::engine::{BackendChoice, Engine, compare};
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use mialab::records::{NpyInputs, Records};
use mialab::zoo::Manifest;
use ndarray::{ArrayD, Axis};
use std::path::PathBuf;
use std::time::Instant;

fn read(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args
        .iter()
        .find(|a| a.contains('/'))
        .cloned()
        .unwrap_or_else(|| "fashion_mnist/overfit".to_string());
    let limit = args
        .iter()
        .position(|a| a == "--records")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<usize>().ok());
    let manifest = Manifest::from_json(&String::from_utf8(read("manifest.json")).unwrap()).unwrap();
    let (dataset, target) = manifest.target(&name).expect("a zoo target");
    let set = dataset.references_of(target).expect("a reference set");
    let files = &dataset.audit;
    let (features, labels) = (read(&files.features), read(&files.labels));
    let records = Records::from_npy(&NpyInputs {
        features: (&files.features, &features),
        labels: (&files.labels, &labels),
        membership: None,
        ids: None,
        classes: Some(dataset.classes.clone()),
    })
    .expect("zoo records");
    let n = limit.unwrap_or(records.len()).min(records.len());
    let features: ArrayD<f32> = records
        .features
        .slice_axis(Axis(0), (0..n).into())
        .as_standard_layout()
        .into_owned();
    let models: Vec<Model> = std::iter::once(&target.model)
        .chain(set.models.iter().map(|m| &m.model))
        .map(|p| Model::from_bytes(&read(p), &ModelOptions::default()).expect("zoo model"))
        .collect();
    println!(
        "{name}: {} models (target + {} references) over {n} records, batch 256",
        models.len(),
        set.models.len()
    );

    let runner = Engine::default();
    let time = |backend: BackendChoice| {
        let started = Instant::now();
        let mut outputs = Vec::with_capacity(models.len());
        let mut engine = String::new();
        for model in &models {
            let (out, used) = runner
                .run(model, &features, backend, 256, &mut NoProgress)
                .unwrap_or_else(|e| panic!("{backend}: {e}"));
            engine = used.detail;
            outputs.push(out);
        }
        (started.elapsed().as_secs_f64(), outputs, engine)
    };
    let (cpu_seconds, cpu_out, cpu_engine) = time(BackendChoice::Cpu);
    let work = (n * models.len()) as f64;
    println!(
        "cpu: {cpu_seconds:.2} s, {:.0} records×models/s ({cpu_engine})",
        work / cpu_seconds
    );
    // The first GPU call opens the device and compiles the kernels: timed apart.
    let opened = Instant::now();
    match mialab::gpu::device::shared() {
        Ok(gpu) => println!(
            "gpu: opened {} in {:.2} s",
            gpu.adapter(),
            opened.elapsed().as_secs_f64()
        ),
        Err(e) => {
            println!("gpu: not available: {e}");
            return;
        }
    }
    let (gpu_seconds, gpu_out, gpu_engine) = time(BackendChoice::Gpu);
    println!(
        "gpu: {gpu_seconds:.2} s, {:.0} records×models/s ({gpu_engine})",
        work / gpu_seconds
    );
    let started = Instant::now();
    let (set_out, set_engine) = runner
        .run_set(&models, &features, BackendChoice::Gpu, 256, &mut NoProgress)
        .expect("the target and its references share one architecture");
    let set_seconds = started.elapsed().as_secs_f64();
    println!(
        "gpu, all models per dispatch: {set_seconds:.2} s, {:.0} records×models/s ({set_engine})",
        work / set_seconds
    );
    let set_diff = largest_difference(&cpu_out, &set_out);
    println!("all models per dispatch: largest |logit difference| {set_diff:.2e}");
    let max_diff = largest_difference(&cpu_out, &gpu_out);
    println!(
        "gpu / cpu throughput: {:.2}×; largest |logit difference|: {max_diff:.2e}",
        cpu_seconds / gpu_seconds
    );
}

/// The largest |difference| between two engines' outputs, over every model.
fn largest_difference(a: &[ndarray::Array2<f32>], b: &[ndarray::Array2<f32>]) -> f32 {
    let flat = |m: &[ndarray::Array2<f32>]| m.iter().flatten().copied().collect::<Vec<f32>>();
    compare(&flat(a), &flat(b)).max_abs_diff
}
