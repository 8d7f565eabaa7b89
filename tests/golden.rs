//! Reports recorded by `tests/golden/make_golden.sh` must come out byte for byte the same,
//! so that a refactoring cannot change a number unnoticed. They were recorded before the
//! engine-seam refactoring and again when the operating points and the encoding attack were
//! redefined (issue 17; the commit that re-recorded them lists every difference), and when a
//! bootstrap resample's AUC became an exact integer count (interval ends moved by ≤ 2e-15).
//!
//! The routes through stored signals files do no float32 inference, so they hold on every
//! machine. The routes through the models run tract, whose kernels depend on the CPU's
//! instruction set: those are held byte for byte where this machine's tract reproduces the
//! stored signals bit for bit (the machine the goldens were recorded on, and CI's), and
//! otherwise to the recorded AUCs within float32 noise, with a note saying why.

use crate::util::{repo, stderr};
use ndarray::ArrayD;
use ndarray_npy::NpzReader;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

const GOLDEN: &str = "tests/golden";

/// Runs mialab from the repository root, so that the paths in its reports are the relative
/// ones the goldens hold.
fn mialab_at_root(args: &[String]) {
    let run = Command::new(env!("CARGO_BIN_EXE_mialab"))
        .current_dir(repo(""))
        .args(args)
        .output()
        .expect("run mialab");
    assert!(run.status.success(), "mialab {args:?}: {}", stderr(&run));
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn classes(dataset: &str) -> String {
    let manifest = crate::zoo::manifest();
    let d = manifest
        .datasets
        .iter()
        .find(|d| d.name == dataset)
        .expect("a zoo data set");
    d.classes.join(",")
}

/// The arguments `make_golden.sh` audits a subset with.
fn subset_args(dataset: &str) -> Vec<String> {
    let d = format!("{GOLDEN}/{dataset}_subset");
    let mut args = strings(&[
        "--model",
        &format!("models/{dataset}/targets/overfit.onnx"),
        "--records",
        &format!("{d}/audit_features.npy"),
        "--labels",
        &format!("{d}/audit_labels.npy"),
        "--membership",
        &format!("{d}/audit_members.npy"),
        "--ids",
        &format!("{d}/audit_ids.txt"),
        "--population",
        &format!("{d}/population_features.npy"),
        "--population-labels",
        &format!("{d}/population_labels.npy"),
        "--population-ids",
        &format!("{d}/population_ids.txt"),
        "--references",
        &format!("models/{dataset}/references/overfit"),
        "--keep-mask",
        &format!("{d}/keep.npy"),
        "--backend",
        "tract",
        "-q",
    ]);
    args.extend(["--classes".to_string(), classes(dataset)]);
    args
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn recorded_csv_checksum(name: &str) -> String {
    let sums = std::fs::read_to_string(repo(&format!("{GOLDEN}/reports/csv.sha256"))).unwrap();
    sums.lines()
        .find_map(|l| {
            l.split_once("  ")
                .filter(|(_, file)| *file == format!("{name}.csv"))
        })
        .map(|(sum, _)| sum.to_string())
        .unwrap_or_else(|| panic!("no recorded checksum for {name}.csv"))
}

/// One audit written to `dir`: its report text and its per-record CSV's checksum.
fn audit(dir: &Path, args: &[String]) -> (String, String) {
    let (report, table) = (dir.join("report.json"), dir.join("per-record.csv"));
    let mut all = strings(&["audit"]);
    all.extend_from_slice(args);
    all.extend([
        "--out".to_string(),
        report.display().to_string(),
        "--per-record".to_string(),
        table.display().to_string(),
    ]);
    mialab_at_root(&all);
    (
        std::fs::read_to_string(report).unwrap(),
        sha256(&std::fs::read(table).unwrap()),
    )
}

fn recorded(name: &str) -> String {
    std::fs::read_to_string(repo(&format!("{GOLDEN}/reports/{name}.json"))).unwrap()
}

/// The first place two reports differ, for the failure message.
fn first_difference(a: &str, b: &str) -> String {
    let line = a
        .lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or(a.lines().count().min(b.lines().count()));
    format!(
        "line {}: now {:?}, recorded {:?}",
        line + 1,
        a.lines().nth(line),
        b.lines().nth(line)
    )
}

fn assert_identical(name: &str, (report, table): (String, String)) {
    let want = recorded(name);
    assert!(
        report == want,
        "{name}: the report differs from the recorded one at {}",
        first_difference(&report, &want)
    );
    assert_eq!(
        table,
        recorded_csv_checksum(name),
        "{name}: the per-record table differs"
    );
}

#[test]
fn a_signals_file_of_the_first_format_still_audits() {
    // Written before the encoding attack kept its log-odds: they are recomputed from the
    // stored probabilities, and every other attack reads what it read then.
    let dir = tempfile::tempdir().unwrap();
    let old = format!("{GOLDEN}/fashion_mnist_subset/signals-format-of-2026-11-30.npz");
    let (report, _) = audit(dir.path(), &strings(&["--signals", &old, "-q"]));
    let (recorded, _) = audit(
        dir.path(),
        &strings(&[
            "--signals",
            &format!("{GOLDEN}/fashion_mnist_subset/signals.npz"),
            "-q",
        ]),
    );
    assert_same_aucs("the first format", &report, &recorded, |id| {
        if id.starts_with("code-poison") {
            1e-9
        } else {
            0.0
        }
    });
}

/// The two reports' attacks, in order, with AUCs within `tolerance(id)` of each other.
fn assert_same_aucs(name: &str, a: &str, b: &str, tolerance: impl Fn(&str) -> f64) {
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(a).unwrap(),
        serde_json::from_str(b).unwrap(),
    );
    let (a, b) = (
        a["attacks"].as_array().unwrap(),
        b["attacks"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len(), "{name}: attacks");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x["id"], y["id"]);
        let auc = |v: &serde_json::Value| v["metrics"]["auc"].as_f64().unwrap();
        let id = x["id"].as_str().unwrap();
        assert!(
            (auc(x) - auc(y)).abs() <= tolerance(id),
            "{name} {id}: {} vs {}",
            auc(x),
            auc(y)
        );
    }
}

#[test]
fn reports_from_stored_signals_are_byte_identical_to_the_recorded_ones() {
    let dir = tempfile::tempdir().unwrap();
    let signals = |dataset: &str| format!("{GOLDEN}/{dataset}_subset/signals.npz");
    let support2 = strings(&[
        "--signals",
        &signals("support2"),
        "-q",
        "--rmia-a",
        "tune",
        "--backend",
        "tract",
    ]);
    assert_identical("support2_all", audit(dir.path(), &support2));
    let fashion = strings(&["--signals", &signals("fashion_mnist"), "-q"]);
    assert_identical("fashion_mnist_signals", audit(dir.path(), &fashion));
}

/// Every array of two signals files, name by name.
fn arrays(path: &Path) -> Vec<(String, ArrayD<f64>)> {
    let mut npz = NpzReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut names = npz.names().unwrap();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let values: ArrayD<f64> = npz.by_name(&name).ok()?;
            Some((name, values))
        })
        .collect()
}

/// Whether this machine's tract gives the recorded signals of both subsets bit for bit.
fn tract_reproduces_the_recorded_signals(dir: &Path) -> bool {
    let mut same = true;
    for (dataset, extra) in [
        ("support2", &[][..]),
        ("fashion_mnist", &["--augment-flip"][..]),
    ] {
        let out = dir.join(format!("{dataset}.npz"));
        let mut args = strings(&["signals"]);
        args.extend(subset_args(dataset));
        args.extend(strings(extra));
        args.extend(["--out".to_string(), out.display().to_string()]);
        mialab_at_root(&args);
        let recorded = arrays(&repo(&format!("{GOLDEN}/{dataset}_subset/signals.npz")));
        let now = arrays(&out);
        let names =
            |a: &[(String, ArrayD<f64>)]| a.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&now),
            names(&recorded),
            "{dataset}: the signals file's arrays"
        );
        for ((name, a), (_, b)) in now.iter().zip(&recorded) {
            assert_eq!(a.shape(), b.shape(), "{dataset}: {name}");
            let largest = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
                .fold(0.0, f64::max);
            assert!(largest < 1e-4, "{dataset}: {name} moved by {largest}");
            same &= largest == 0.0;
        }
    }
    same
}

#[test]
fn reports_from_the_models_are_byte_identical_to_the_recorded_ones() {
    let dir = tempfile::tempdir().unwrap();
    let exact = tract_reproduces_the_recorded_signals(dir.path());
    let example = |f: &str| format!("models/breast_cancer/{f}");
    let mut cases: Vec<(&str, Vec<String>)> = Vec::new();
    let mut support2 = subset_args("support2");
    support2.extend(strings(&["--rmia-a", "tune"]));
    cases.push(("support2_all", support2));
    let mut noise = subset_args("support2");
    noise.extend(strings(&[
        "--defence",
        "noise:0.05",
        "--attack",
        "loss,label-only,code-poison,lira-online,rmia-online,rmia-offline",
    ]));
    cases.push(("support2_noise", noise));
    let mut flip = subset_args("fashion_mnist");
    flip.extend(strings(&[
        "--augment-flip",
        "--attack",
        "loss,lira-online,lira-offline,calibrated-loss",
    ]));
    cases.push(("fashion_mnist_flip", flip));
    cases.push((
        "example",
        strings(&[
            "--model",
            &example("model.onnx"),
            "--records",
            &example("audit.csv"),
            "--population",
            &example("population.csv"),
            "--schema",
            &example("schema.json"),
            "--backend",
            "tract",
            "-q",
        ]),
    ));
    for (name, args) in cases {
        let now = audit(dir.path(), &args);
        if exact {
            assert_identical(name, now);
            continue;
        }
        eprintln!(
            "{name}: this machine's tract kernels do not give the recorded signals bit for bit; comparing AUCs"
        );
        assert_same_aucs(name, &now.0, &recorded(name), |_| 1e-6);
    }
}
