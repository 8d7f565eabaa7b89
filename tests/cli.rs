//! The listing commands.

use crate::util::{example, mialab, stderr, stdout};

#[test]
fn attacks_lists_every_attack_with_its_paper() {
    let out = mialab(&["attacks"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for entry in mialab::attack::catalogue() {
        assert!(text.contains(entry.info.id), "{} missing", entry.info.id);
        assert!(text.contains(entry.info.paper));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&mialab(&["attacks", "--json"]).stdout).unwrap();
    assert_eq!(
        json.as_array().unwrap().len(),
        mialab::attack::catalogue().count()
    );
}

#[test]
fn inspect_shows_inputs_outputs_operators_and_parameters() {
    let out = mialab(&["inspect", example("model.onnx").to_str().unwrap()]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("'features' float[batch, 30]"), "{text}");
    assert!(text.contains("'logit' float[batch, 1]"), "{text}");
    assert!(text.contains("Gemm x3, Relu x2"), "{text}");
    // 30·128 + 128 + 128·128 + 128 + 128·1 + 1 weights.
    assert!(text.contains("parameters: 20609"), "{text}");
}

#[test]
fn a_misspelt_defence_is_refused_with_the_ones_that_exist() {
    let mut args = crate::util::example_audit_args();
    args.extend(["--defence".to_string(), "round:two".to_string()]);
    let out = mialab(&args);
    assert!(!out.status.success());
    let err = crate::util::stderr(&out);
    assert!(
        err.contains("round") && err.contains("decimals from 0 to 15"),
        "{err}"
    );
    let mut args = crate::util::example_audit_args();
    args.extend(["--defence".to_string(), "blur".to_string()]);
    let err = crate::util::stderr(&mialab(&args));
    assert!(err.contains("top1, topk:K, round:D"), "{err}");
}

#[test]
fn the_cli_defaults_are_the_librarys() {
    let out = mialab(&["settings"]);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    assert_eq!(
        stdout(&out),
        mialab::config::AuditConfig::default().to_json(),
        "`mialab settings` with no flags prints the library's defaults"
    );
    let out = mialab(&[
        "settings",
        "--rmia-a",
        "tune",
        "--seed",
        "3",
        "--defence",
        "round:2",
    ]);
    let config = mialab::config::AuditConfig::from_json(&stdout(&out)).unwrap();
    assert_eq!(config.params.rmia.a, mialab::attack::RmiaA::Tuned);
    assert_eq!(config.seed, 3);
    assert_eq!(
        config.signals.defences,
        [mialab::defence::Defence::Round(2)]
    );
}

#[test]
fn library_errors_name_no_flags_and_the_cli_adds_the_hint() {
    let mut args = crate::util::example_audit_args();
    args.extend(["--attack".to_string(), "lira-online".to_string()]);
    let out = mialab(&args);
    assert_eq!(out.status.code(), Some(2));
    let err = crate::util::stderr(&out);
    let (message, hint) = err.split_once("hint: ").expect("a hint line");
    assert!(
        message.contains("needs reference models") && !message.contains("--"),
        "{err}"
    );
    assert!(
        hint.contains("--references") && hint.contains("--keep-mask"),
        "{err}"
    );
    let mut args = crate::util::example_audit_args();
    args.extend(["--bootstrap".to_string(), "10".to_string()]);
    let err = crate::util::stderr(&mialab(&args));
    assert!(
        err.contains("at least 200") && err.contains("hint: set it with --bootstrap"),
        "{err}"
    );
}

#[test]
fn a_scikit_learn_pipeline_exported_with_defaults_is_inspected_and_audited() {
    let dir = crate::util::repo("models/fixtures/exporters");
    let path = |f: &str| dir.join(f).display().to_string();
    let inspect = mialab(&["inspect".to_string(), path("wine_logreg_scaled.onnx")]);
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    let text = stdout(&inspect);
    assert!(text.contains("<- class scores"), "{text}");
    assert!(text.contains("rewritten:  ZipMap"), "{text}");
    assert!(!text.contains("parameters: 0\n"), "{text}");
    let report = dir_report(&[
        "audit".to_string(),
        "--model".into(),
        path("wine_logreg_scaled.onnx"),
        "--records".into(),
        path("wine_features.npy"),
        "--labels".into(),
        path("wine_labels.npy"),
        "--membership".into(),
        path("wine_members.npy"),
        "--attack".into(),
        "loss,confidence".into(),
    ]);
    assert_eq!(report["records"]["records"], 178);
    assert!(report["attacks"][0]["metrics"]["auc"].as_f64().unwrap() > 0.0);
}

/// Runs an audit with `args` and returns its report.
fn dir_report(args: &[String]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let mut args = args.to_vec();
    args.extend(["-q".to_string(), "--out".into(), out.display().to_string()]);
    let run = mialab(&args);
    assert!(run.status.success(), "{}", stderr(&run));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}
