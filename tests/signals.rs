//! `mialab signals --out FILE.npz` and `mialab audit --signals FILE.npz`: the signals other
//! tools read are the ones mialab attacks, and attacking them again gives the same report.

use crate::util::{mialab, repo, stderr};
use ndarray::{Array1, Array2};
use ndarray_npy::{NpzReader, ReadNpyExt};

fn run(args: &[&str]) {
    let out = mialab(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
}

#[test]
fn attacking_exported_signals_reproduces_the_audit_and_numpy_sees_the_keep_mask() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let zoo = repo("models");
    let zoo = zoo.to_str().unwrap();
    let common = ["--zoo", "support2/regularised", "--zoo-dir", zoo, "-q"];
    run(&[&["signals"][..], &common, &["--out", &path("s.npz")]].concat());
    let attacks = "lira-online,lira-offline,rmia-offline,calibrated-loss,shokri,loss-per-class,code-poison,label-only";
    let audit = |extra: &[&str], out: &str| {
        let mut args = vec!["audit", "--attack", attacks, "--bootstrap", "200"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out]);
        run(&args);
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(out).unwrap()).unwrap()
    };
    let direct = audit(&common, &path("direct.json"));
    let replayed = audit(&["--signals", &path("s.npz"), "-q"], &path("replayed.json"));
    for section in [
        "attacks",
        "model",
        "records",
        "population",
        "references",
        "utility",
    ] {
        assert_eq!(direct[section], replayed[section], "{section} differs");
    }

    let mut npz = NpzReader::new(std::fs::File::open(path("s.npz")).unwrap()).unwrap();
    let keep: Array2<bool> = npz.by_name("keep").unwrap();
    let zoo_keep = Array2::<bool>::read_npy(
        std::fs::File::open(repo("models/support2/references/regularised/keep.npy")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        keep, zoo_keep,
        "keep is [models, records] as LiRA stores it"
    );
    let phi: Array2<f64> = npz.by_name("reference_logit_scaled").unwrap();
    assert_eq!(phi.dim(), (16, 8000));
    let loss: Array1<f64> = npz.by_name("target_loss").unwrap();
    assert!(loss.iter().all(|l| l.is_finite() && *l >= 0.0));
}

#[test]
fn signals_computed_behind_a_defence_are_attacked_behind_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let zoo = repo("models");
    let common = [
        "--zoo",
        "support2/dpsgd",
        "--zoo-dir",
        zoo.to_str().unwrap(),
        "--no-references",
        "-q",
        "--defence",
        "top1",
    ];
    run(&[&["signals"][..], &common, &["--out", &path("s.npz")]].concat());
    let report = |args: &[&str], out: &str| {
        let attacks = ["audit", "--attack", "loss,label-only", "--bootstrap", "200"];
        run(&[&attacks[..], args, &["--out", out]].concat());
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(out).unwrap()).unwrap()
    };
    let direct = report(&common, &path("direct.json"));
    let replayed = report(&["--signals", &path("s.npz"), "-q"], &path("replayed.json"));
    assert_eq!(
        replayed["settings"]["defences"],
        serde_json::json!(["top1"])
    );
    assert_eq!(direct["attacks"], replayed["attacks"]);
    assert_eq!(replayed["attacks"][0]["metrics"]["auc"], 0.5);
}

#[test]
fn a_file_that_is_not_a_signals_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.npz");
    std::fs::write(&bogus, b"PK not really").unwrap();
    let out = mialab(&["audit", "--signals", bogus.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("bogus.npz") && err.contains(".npz signals file"),
        "{err}"
    );
}
