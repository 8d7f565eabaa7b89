//! The listing commands.

use crate::util::{example, mialab, stdout};

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
