//! Benchmark of the inference engines on a zoo target with all its references (default: the
//! Fashion-MNIST target and its 16 reference models over the 8,000 audit records), in one
//! run: tract and mialab's CPU kernels model by model, and the GPU with all models in each
//! dispatch on the tiled kernels, on the staged ones (workgroup memory) and on the direct ones (one invocation per output, the
//! first kernels; over the first `--direct-records` records, default 512, as they are slow on
//! a software adapter). It prints the FLOPs per record counted from the lowered graph,
//! records × models per second and GFLOP/s for each, the ratios, and the largest
//! difference of each engine's logits from tract's.
//!
//! The CPU engines run on `--threads N` threads (default 1: the yardstick is tract on
//! one core). The GPU's tiled run is timed at several batch sizes after a warm-up run, and
//! set against the adapter's fused multiply-add rate measured by [`mialab::gpu::peak`] (its
//! "peak"; wgpu cannot report a datasheet figure).
//!
//! Run: `cargo bench --bench backends` (add `-- support2/overfit` for another zoo target,
//! `-- --records 2000` to use fewer records). On a machine without a GPU, wgpu's adapter is
//! a software one (lavapipe, SwiftShader) on the same CPU cores; the same command measures a
//! real GPU unchanged. `MIALAB_MODELS=DIR` reads the zoo from `DIR` instead of this
//! checkout's `models/` (for a binary built here and run on another machine).

use mialab::engine::{BackendChoice, Engine, compare};
use mialab::gpu::{KernelSet, Plan};
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use mialab::records::{NpyInputs, Records};
use mialab::zoo::Manifest;
use ndarray::{ArrayD, Axis};
use std::path::PathBuf;
use std::time::Instant;

fn read(relative: &str) -> Vec<u8> {
    let models = std::env::var_os("MIALAB_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"));
    let path = models.join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args
        .iter()
        .find(|a| a.contains('/'))
        .cloned()
        .unwrap_or_else(|| "fashion_mnist/overfit".to_string());
    let number_after = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let limit = number_after("--records");
    let threads = number_after("--threads").unwrap_or(1);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("the first thread pool");
    let direct_records = number_after("--direct-records").unwrap_or(512);
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
        "{name}: {} models (target + {} references) over {n} records (CPU engines in batches of 256, {threads} thread(s))",
        models.len(),
        set.models.len()
    );

    let flops = models[0]
        .gpu_plan()
        .map(|p| p.flops_per_record() as f64)
        .unwrap_or(f64::NAN);
    println!(
        "{:.2} MFLOP per record and model (counted from the lowered graph, a multiply-add is two)",
        flops / 1e6
    );
    let report = |what: &str, seconds: f64, work: f64| {
        println!(
            "{what:<44} {seconds:>7.2} s {:>10.0} records×models/s {:>8.2} GFLOP/s",
            work / seconds,
            work * flops / seconds / 1e9
        )
    };
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
    let work = (n * models.len()) as f64;
    let (tract_seconds, tract_out, _) = time(BackendChoice::Tract);
    report("tract, one model at a time", tract_seconds, work);
    let (cpu_seconds, cpu_out, cpu_engine) = time(BackendChoice::Cpu);
    report(&format!("cpu ({cpu_engine})"), cpu_seconds, work);
    println!(
        "cpu kernels: largest |logit difference| from tract {:.2e}",
        largest_difference(&tract_out, &cpu_out)
    );
    // The first GPU call opens the device and compiles the kernels: timed apart.
    let opened = Instant::now();
    let gpu = match mialab::gpu::device::shared() {
        Ok(gpu) => gpu,
        Err(e) => {
            println!("gpu: not available: {e}");
            return;
        }
    };
    println!(
        "gpu: opened {} in {:.2} s",
        gpu.adapter(),
        opened.elapsed().as_secs_f64()
    );
    let plans: Vec<&Plan> = models
        .iter()
        .map(|m| m.gpu_plan().expect("zoo models lower").as_ref())
        .collect();
    let values = features.as_slice().expect("standard layout");
    let width = plans[0].output_len();
    let largest_batch = gpu.max_batch(plans[0], models.len());
    let run_set = |kernels: KernelSet, records: usize, batch: usize| {
        let set = gpu
            .upload_set_with(&plans, kernels)
            .expect("one architecture");
        let input = &values[..records * plans[0].input_len];
        let started = Instant::now();
        let out = gpu.run(&set, input, records, batch).expect("the GPU runs");
        (started.elapsed().as_secs_f64(), out)
    };
    let default_batch = largest_batch.min(2048);
    let (warm_up, tiled_out) = run_set(KernelSet::Tiled, n, default_batch);
    println!(
        "gpu tiled kernels, first run (batches of {default_batch}): {warm_up:.2} s; largest |logit difference| from tract {:.2e}",
        set_difference(&tract_out, &tiled_out, n, width)
    );
    // The engine's batch: the device's preferred one, at most 8 × the CPU's 256.
    let engine_batch = gpu.preferred_batch(plans[0], models.len()).min(2048);
    println!("the engine's GPU batch here: {engine_batch} records");
    let mut batches: Vec<usize> = [256, engine_batch, 1024, default_batch, largest_batch]
        .into_iter()
        .map(|b| b.min(largest_batch).min(n))
        .collect();
    batches.sort_unstable();
    batches.dedup();
    let best = |kernels: KernelSet| {
        let mut fastest = f64::INFINITY;
        for &batch in &batches {
            let (seconds, out) = run_set(kernels, n, batch);
            report(
                &format!("gpu {kernels:?}, all models per dispatch, batch {batch}"),
                seconds,
                work,
            );
            fastest = fastest.min(seconds);
            if batch == batches[0] {
                println!(
                    "  largest |logit difference| from tract {:.2e}",
                    set_difference(&tract_out, &out, n, width)
                );
            }
        }
        fastest
    };
    let tiled_seconds = best(KernelSet::Tiled);
    let staged_seconds = best(KernelSet::Staged);
    let preferred = gpu.preferred_kernels();
    let preferred_seconds = match preferred {
        KernelSet::Tiled => tiled_seconds,
        KernelSet::Staged => staged_seconds,
        other => best(other),
    };
    let direct_n = direct_records.min(n);
    let (direct_seconds, direct_out) =
        run_set(KernelSet::Direct, direct_n, default_batch.min(direct_n));
    let direct_work = (direct_n * models.len()) as f64;
    report(
        &format!("gpu direct kernels (first {direct_n} records)"),
        direct_seconds,
        direct_work,
    );
    println!(
        "  largest |logit difference| from tract {:.2e}",
        set_difference(&tract_out, &direct_out, direct_n, width)
    );
    let tiled_rate = work / tiled_seconds;
    let staged_rate = work / staged_seconds;
    let direct_rate = direct_work / direct_seconds;
    for (what, rate) in [("tiled", tiled_rate), ("staged", staged_rate)] {
        println!(
            "{what} / direct: {:.1}×; {what} / tract: {:.2}×; {what} / cpu kernels: {:.2}× ({})",
            rate / direct_rate,
            rate / (work / tract_seconds),
            rate / (work / cpu_seconds),
            gpu.adapter()
        );
    }
    println!("staged / tiled: {:.2}×", staged_rate / tiled_rate);
    let preferred_rate = work / preferred_seconds;
    // Per dispatch, every set over the engine's batch (the direct set over fewer records on
    // a software adapter, where it is slow).
    let mut timed = vec![KernelSet::Tiled, KernelSet::Staged, KernelSet::Direct];
    if !timed.contains(&preferred) {
        timed.insert(0, preferred);
    }
    for kernels in timed {
        let records = match (kernels, gpu.is_software()) {
            (KernelSet::Direct, true) => direct_records.min(engine_batch).min(n),
            _ => engine_batch.min(n),
        };
        print_dispatch_times(gpu, &plans, kernels, values, records);
    }
    println!(
        "this adapter's kernels ({preferred:?}, what an audit runs): {:.2}× tract on {threads} thread(s), {:.2} GFLOP/s",
        preferred_rate / (work / tract_seconds),
        preferred_rate * flops / 1e9
    );
    match mialab::gpu::peak::fma_gflops(gpu) {
        Ok(peak) => println!(
            "adapter's measured FMA rate {peak:.0} GFLOP/s; best runs reached {:.2}% of it (tiled), {:.2}% (staged), {:.2}% ({preferred:?})",
            100.0 * tiled_rate * flops / 1e9 / peak,
            100.0 * staged_rate * flops / 1e9 / peak,
            100.0 * preferred_rate * flops / 1e9 / peak
        ),
        Err(e) => println!("the FMA-rate probe failed: {e}"),
    }
}

/// Each dispatch's GPU time (timestamp queries) for `kernels` over one batch of `records`.
fn print_dispatch_times(
    gpu: &mialab::gpu::Gpu,
    plans: &[&Plan],
    kernels: KernelSet,
    values: &[f32],
    records: usize,
) {
    let set = gpu
        .upload_set_with(plans, kernels)
        .expect("one architecture");
    match gpu.time_dispatches(&set, values, records) {
        Ok(Some(times)) => {
            let total: f64 = times.iter().map(|t| t.seconds).sum();
            println!(
                "{kernels:?} dispatches over one batch of {records} records (GPU timestamps), {:.3} ms in all:",
                total * 1e3
            );
            for t in times {
                println!(
                    "  {:<36} {:>8.3} ms {:>5.1}% {:>9.1} GFLOP/s",
                    t.name,
                    t.seconds * 1e3,
                    100.0 * t.seconds / total.max(f64::MIN_POSITIVE),
                    t.flops / t.seconds.max(f64::MIN_POSITIVE) / 1e9
                );
            }
        }
        Ok(None) => println!("this adapter has no timestamp queries: no per-dispatch times"),
        Err(e) => println!("timing the dispatches failed: {e}"),
    }
}

/// The largest |difference| between tract's outputs (one array per model) and a set run's
/// (`[models, records, width]`, the first `records` of each model's).
fn set_difference(
    tract: &[ndarray::Array2<f32>],
    set: &[f32],
    records: usize,
    width: usize,
) -> f32 {
    let want: Vec<f32> = tract
        .iter()
        .flat_map(|m| m.iter().take(records * width).copied().collect::<Vec<_>>())
        .collect();
    compare(&want, set).max_abs_diff
}

/// The largest |difference| between two engines' outputs, over every model.
fn largest_difference(a: &[ndarray::Array2<f32>], b: &[ndarray::Array2<f32>]) -> f32 {
    let flat = |m: &[ndarray::Array2<f32>]| m.iter().flatten().copied().collect::<Vec<f32>>();
    compare(&flat(a), &flat(b)).max_abs_diff
}
