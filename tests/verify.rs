//! `mialab audit --verify`: a zoo audit run again from its report reproduces, and the same
//! report against a zoo whose target model was swapped names the changed model.

use crate::util::{mialab, repo, stderr, stdout};
use std::path::Path;

/// A zoo folder whose support2 data and references are the bundled ones (linked) and whose
/// `overfit` target is `target` (copied).
fn zoo_with_target(dir: &Path, target: &str) {
    let models = repo("models");
    std::fs::copy(models.join("manifest.json"), dir.join("manifest.json")).unwrap();
    let support2 = dir.join("support2");
    std::fs::create_dir_all(support2.join("targets")).unwrap();
    for entry in std::fs::read_dir(models.join("support2")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() != "targets" {
            std::os::unix::fs::symlink(entry.path(), support2.join(entry.file_name())).unwrap();
        }
    }
    for entry in std::fs::read_dir(models.join("support2/targets")).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(
            entry.path(),
            support2.join("targets").join(entry.file_name()),
        )
        .unwrap();
    }
    let swapped = support2.join("targets/overfit.onnx");
    std::fs::remove_file(&swapped).unwrap();
    std::fs::copy(models.join("support2/targets").join(target), swapped).unwrap();
}

#[test]
fn a_zoo_audit_reproduces_and_a_swapped_model_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let zoo_dir = repo("models").display().to_string();
    let audit = mialab(&[
        "audit",
        "--zoo",
        "support2/overfit",
        "--zoo-dir",
        &zoo_dir,
        "--attack",
        "loss,lira-online",
        "--seed",
        "7",
        "-q",
        "--out",
        report.to_str().unwrap(),
    ]);
    assert!(audit.status.success(), "{}", stderr(&audit));
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(recorded["settings"]["config"]["seed"], 7);
    assert_eq!(
        recorded["references"]["model_files"]
            .as_array()
            .unwrap()
            .len(),
        16
    );

    let again = mialab(&[
        "audit",
        "--zoo",
        "support2/overfit",
        "--zoo-dir",
        &zoo_dir,
        "-q",
        "--verify",
        report.to_str().unwrap(),
    ]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("reproduces"), "{}", stdout(&again));

    let swapped = dir.path().join("zoo");
    std::fs::create_dir_all(&swapped).unwrap();
    zoo_with_target(&swapped, "regularised.onnx");
    let changed = mialab(&[
        "audit",
        "--zoo",
        "support2/overfit",
        "--zoo-dir",
        swapped.to_str().unwrap(),
        "-q",
        "--verify",
        report.to_str().unwrap(),
    ]);
    assert!(!changed.status.success());
    let message = stderr(&changed);
    assert!(message.contains("does not reproduce"), "{message}");
    assert!(
        message.contains("the model differs from the one audited"),
        "{message}"
    );
    assert!(message.contains("/attacks/0/metrics/auc"), "{message}");

    let flags = mialab(&[
        "audit",
        "--zoo",
        "support2/overfit",
        "--zoo-dir",
        &zoo_dir,
        "--seed",
        "8",
        "-q",
        "--verify",
        report.to_str().unwrap(),
    ]);
    assert!(!flags.status.success());
    assert!(
        stderr(&flags).contains("leave out the setting flags"),
        "{}",
        stderr(&flags)
    );
}
