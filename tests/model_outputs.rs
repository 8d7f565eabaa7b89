//! tract's outputs against onnxruntime's, stored beside each model by its build script.

use crate::util::{Tol, example, read_npy_f32, repo};
use mialab::model::{Model, ModelOptions, ModelOutput, OutputKind, OutputKindChoice};
use mialab::progress::NoProgress;
use mialab::records::{RecordSchema, Records};

fn load(path: &std::path::Path) -> Model {
    Model::from_bytes(&std::fs::read(path).unwrap(), &ModelOptions::default()).unwrap()
}

fn flat(a: impl IntoIterator<Item = f32>) -> Vec<f64> {
    a.into_iter().map(f64::from).collect()
}

#[test]
fn bundled_example_matches_onnxruntime_on_audit_and_population() {
    let model = load(&example("model.onnx"));
    let schema =
        RecordSchema::from_json(&std::fs::read_to_string(example("schema.json")).unwrap()).unwrap();
    for (csv, expected) in [
        ("audit.csv", "expected_audit_logits.npy"),
        ("population.csv", "expected_population_logits.npy"),
    ] {
        let records = Records::from_csv(
            &std::fs::read(example(csv)).unwrap(),
            csv,
            &schema.for_population(),
        )
        .unwrap();
        let out = model
            .predict(&records.features, 64, &mut NoProgress)
            .unwrap();
        let expected = read_npy_f32(&example(expected));
        Tol::Close.assert_all(
            &flat(out.iter().copied()),
            &flat(expected.iter().copied()),
            csv,
        );
    }
}

#[test]
fn fixtures_match_onnxruntime_and_their_output_kind_is_detected() {
    for (name, kind, expanded) in [
        ("logits_linear", OutputKind::Logits, false),
        ("sigmoid_single", OutputKind::Probabilities, true),
        ("image_tiny", OutputKind::Logits, false),
    ] {
        let model = load(&repo(&format!("models/fixtures/{name}.onnx")));
        let inputs = read_npy_f32(&repo(&format!("models/fixtures/{name}.inputs.npy")));
        let expected = read_npy_f32(&repo(&format!("models/fixtures/{name}.expected.npy")));
        let out = model.predict(&inputs, 5, &mut NoProgress).unwrap();
        Tol::Close.assert_all(
            &flat(out.iter().copied()),
            &flat(expected.iter().copied()),
            name,
        );
        let output = ModelOutput::interpret(&out, OutputKindChoice::Auto).unwrap();
        assert_eq!(
            (output.kind, output.expanded_single),
            (kind, expanded),
            "{name}"
        );
        if expanded {
            for row in output.values.rows() {
                assert!(Tol::Close.accepts(row[0] + row[1], 1.0));
            }
        }
    }
}

#[test]
fn batch_size_does_not_change_outputs() {
    let model = load(&repo("models/fixtures/image_tiny.onnx"));
    let inputs = read_npy_f32(&repo("models/fixtures/image_tiny.inputs.npy"));
    let one = model.predict(&inputs, 1, &mut NoProgress).unwrap();
    let all = model.predict(&inputs, 1000, &mut NoProgress).unwrap();
    Tol::Exact.assert_all(
        &flat(one.iter().copied()),
        &flat(all.iter().copied()),
        "batch 1 vs all",
    );
}

#[test]
fn an_empty_record_set_gives_an_empty_output() {
    let model = load(&repo("models/fixtures/logits_linear.onnx"));
    let out = model
        .predict(
            &ndarray::ArrayD::zeros(ndarray::IxDyn(&[0, 5])),
            8,
            &mut NoProgress,
        )
        .unwrap();
    assert_eq!(out.shape(), &[0, 3]);
}

#[test]
fn output_kind_override_is_respected() {
    let model = load(&repo("models/fixtures/sigmoid_single.onnx"));
    let inputs = read_npy_f32(&repo("models/fixtures/sigmoid_single.inputs.npy"));
    let out = model.predict(&inputs, 4, &mut NoProgress).unwrap();
    let as_logits = ModelOutput::interpret(&out, OutputKindChoice::Logits).unwrap();
    assert_eq!(as_logits.kind, OutputKind::Logits);
    assert_eq!(
        as_logits
            .values
            .column(0)
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![0.0; out.nrows()]
    );
}

#[test]
fn npy_image_records_audit_end_to_end() {
    use crate::util::{mialab, stderr};
    use ndarray_npy::WriteNpyExt;
    let dir = tempfile::tempdir().unwrap();
    let expected = read_npy_f32(&repo("models/fixtures/image_tiny.expected.npy"));
    // Label each record with its own top class for half of them and another class for the
    // rest, and call the first eight members.
    let labels: ndarray::Array1<i64> = (0..expected.shape()[0])
        .map(|i| {
            let row: Vec<f32> = (0..3).map(|c| expected[[i, c]]).collect();
            let top = (0..3).fold(0, |b, c| if row[c] > row[b] { c } else { b });
            (if i % 2 == 0 { top } else { (top + 1) % 3 }) as i64
        })
        .collect();
    let member: ndarray::Array1<bool> = (0..expected.shape()[0]).map(|i| i < 8).collect();
    let (labels_path, member_path, report) = (
        dir.path().join("labels.npy"),
        dir.path().join("member.npy"),
        dir.path().join("report.json"),
    );
    labels
        .write_npy(std::fs::File::create(&labels_path).unwrap())
        .unwrap();
    member
        .write_npy(std::fs::File::create(&member_path).unwrap())
        .unwrap();
    let model = repo("models/fixtures/image_tiny.onnx");
    let features = repo("models/fixtures/image_tiny.inputs.npy");
    let out = mialab(&[
        "audit",
        "--model",
        model.to_str().unwrap(),
        "--records",
        features.to_str().unwrap(),
        "--labels",
        labels_path.to_str().unwrap(),
        "--membership",
        member_path.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
        "--attack",
        "loss",
        "-q",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    assert_eq!(
        report["records"]["record_shape"],
        serde_json::json!([1, 4, 4])
    );
    assert_eq!(report["records"]["members"], 8);
    assert_eq!(
        report["utility"]["accuracy"], 0.5,
        "half the labels are the top class"
    );
}
