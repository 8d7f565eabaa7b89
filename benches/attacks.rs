//! Benchmark of the reference-model pipeline on the zoo's largest set (Fashion-MNIST CNN,
//! 8,000 audit + 2,000 population records, 16 reference models): the time to compute the
//! signals matrix (target and every reference over both record sets, tract on the CPU), and
//! then the time of each attack given the matrix, with records × models per second.
//!
//! Run: `cargo bench --bench attacks` (add `-- support2/overfit` for another zoo target).

use mialab::Session;
use mialab::attack::{self, AttackParams, RmiaA};
use mialab::config::AuditConfig;
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use mialab::provenance::Provenance;
use mialab::records::{NpyInputs, Records};
use mialab::zoo::{Manifest, RecordFiles};
use ndarray::Array2;
use ndarray_npy::ReadNpyExt;
use std::path::PathBuf;
use std::time::Instant;

fn zoo(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("models")
        .join(relative)
}

fn read(relative: &str) -> Vec<u8> {
    std::fs::read(zoo(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn records(files: &RecordFiles, membership: Option<&str>, classes: &[String]) -> Records {
    let (features, labels, ids) = (read(&files.features), read(&files.labels), read(&files.ids));
    let members = membership.map(read);
    Records::from_npy(&NpyInputs {
        features: (&files.features, &features),
        labels: (&files.labels, &labels),
        membership: membership.zip(members.as_deref()),
        ids: Some((&files.ids, &ids)),
        classes: Some(classes.to_vec()),
    })
    .expect("zoo records")
}

fn model(relative: &str) -> Model {
    Model::from_bytes(&read(relative), &ModelOptions::default()).expect("zoo model")
}

fn main() {
    let name = std::env::args()
        .skip(1)
        .find(|a| a.contains('/'))
        .unwrap_or_else(|| "fashion_mnist/overfit".to_string());
    let manifest = Manifest::from_json(&String::from_utf8(read("manifest.json")).unwrap()).unwrap();
    let (dataset, target) = manifest.target(&name).expect("a zoo target");
    let set = dataset.references_of(target).expect("a reference set");
    let audit = records(&dataset.audit, Some(&target.members), &dataset.classes);
    let population = records(&dataset.population, None, &dataset.classes);
    let target_model = model(&target.model);
    let references: Vec<Model> = set.models.iter().map(|m| model(&m.model)).collect();
    let keep = Array2::<bool>::read_npy(std::io::Cursor::new(read(&set.keep_mask)))
        .unwrap()
        .reversed_axes();
    let provenance = |s: &str| Provenance {
        source: s.to_string(),
        sha256: String::new(),
    };
    let reference_count = references.len();
    let mut session = Session::new();
    session.set_target(target_model, provenance(&target.model));
    let (audit_len, population_len) = (audit.len(), population.len());
    session.set_records(audit, provenance("audit"));
    session.set_population(Some((population, provenance("population"))));
    for (model, m) in references.into_iter().zip(&set.models) {
        session.add_reference(model, provenance(&m.model));
    }
    session
        .set_keep_mask(keep, provenance(&set.keep_mask))
        .expect("the zoo keep-mask fits");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{name}: {} audit + {} population records, 1 target + {} reference models, {threads} CPU threads available (tract runs on one)",
        audit_len, population_len, reference_count
    );

    let mut config = AuditConfig::default();
    config.metrics.bootstrap_resamples = 200;
    // The target and every reference model over both record sets (what LiRA reads), then
    // the extra queries the label-only and encoding attacks send the target.
    let matrix = AuditConfig {
        attacks: vec!["lira-online".to_string(), "rmia-online".to_string()],
        ..config.clone()
    };
    let started = Instant::now();
    session
        .compute_signals(&matrix, &mut NoProgress)
        .expect("signals");
    let seconds = started.elapsed().as_secs_f64();
    let passes = (audit_len + population_len) * (1 + reference_count);
    println!(
        "signals matrix: {seconds:.2} s for {passes} record × model forward passes = {:.0} records×models/s",
        passes as f64 / seconds
    );
    let started = Instant::now();
    let computed = session
        .compute_signals(&config, &mut NoProgress)
        .expect("queries");
    let parts: Vec<String> = computed.iter().map(|c| c.part.clone()).collect();
    println!(
        "extra queries: {:.2} s ({})",
        started.elapsed().as_secs_f64(),
        parts.join(", ")
    );

    println!(
        "{:<28} {:>10} {:>12} {:>18}",
        "attack (given the matrix)", "seconds", "records/s", "records×models/s"
    );
    for entry in attack::catalogue() {
        let id = entry.info.id;
        let mut params = AttackParams::default();
        if id == "rmia-offline" {
            params.rmia.a = RmiaA::Tuned;
        }
        let config = AuditConfig {
            attacks: vec![id.to_string()],
            params,
            ..config.clone()
        };
        let started = Instant::now();
        let run = session.audit(&config, &mut NoProgress).expect("attack");
        assert!(run.cached(), "{id}: the signals were computed above");
        let seconds = started.elapsed().as_secs_f64();
        let per_record = audit_len as f64 / seconds;
        let per_cell = match entry.info.needs.references {
            attack::ReferenceUse::NotUsed => "-".to_string(),
            _ => format!("{:.0}", per_record * reference_count as f64),
        };
        println!("{id:<28} {seconds:>10.3} {per_record:>12.0} {per_cell:>18}");
    }
    println!("(attack times include scoring, ROC, 200 bootstrap resamples and operating points)");
}
