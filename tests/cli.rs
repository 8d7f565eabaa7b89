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
