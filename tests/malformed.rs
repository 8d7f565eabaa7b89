//! Malformed inputs: each must end with a readable message and exit status 2, never a panic.

use crate::util::{example, mialab, stderr};
use std::path::{Path, PathBuf};

/// Runs an audit of `model` on `records` (with the example's schema unless `extra` says
/// otherwise) and checks it fails cleanly with a message containing every `needle`.
fn expect_failure(model: &Path, records: &Path, extra: &[&str], needles: &[&str]) {
    let mut args = vec![
        "audit".to_string(),
        "--model".into(),
        model.display().to_string(),
        "--records".into(),
        records.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = mialab(&args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "exit status; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    for needle in needles {
        assert!(err.contains(needle), "expected '{needle}' in: {err}");
    }
}

fn schema() -> Vec<&'static str> {
    vec!["--label", "diagnosis", "--classes", "malignant,benign"]
}

/// The example's audit CSV with `edit` applied to its lines, written to a scratch file.
fn edited_csv(dir: &Path, edit: impl Fn(&mut Vec<String>)) -> PathBuf {
    let text = std::fs::read_to_string(example("audit.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    edit(&mut lines);
    let path = dir.join("records.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn set_cell(lines: &mut [String], line: usize, column: usize, value: &str) {
    let mut cells: Vec<&str> = lines[line].split(',').collect();
    cells[column] = value;
    lines[line] = cells.join(",");
}

fn scratch_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn truncated_onnx() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(example("model.onnx")).unwrap();
    let model = scratch_file(dir.path(), "model.onnx", &bytes[..bytes.len() / 3]);
    expect_failure(
        &model,
        &example("audit.csv"),
        &schema(),
        &["not a valid ONNX model"],
    );
}

#[test]
fn garbage_onnx() {
    let dir = tempfile::tempdir().unwrap();
    let model = scratch_file(
        dir.path(),
        "model.onnx",
        b"id,label\n1,0\nthis is a CSV, not a model\n",
    );
    expect_failure(
        &model,
        &example("audit.csv"),
        &schema(),
        &["loading", "model"],
    );
}

#[test]
fn empty_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = scratch_file(dir.path(), "model.onnx", b"");
    expect_failure(
        &model,
        &example("audit.csv"),
        &schema(),
        &["not a valid ONNX model", "empty"],
    );
}

#[test]
fn model_and_csv_shapes_disagree() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| {
        for line in lines.iter_mut() {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells.remove(1);
            *line = cells.join(",");
        }
    });
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["expects records of shape [30]", "shape [29]"],
    );
}

#[test]
fn missing_label_column() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| {
        lines[0] = lines[0].replace("diagnosis", "outcome")
    });
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["no label column 'diagnosis'", "outcome"],
    );
}

#[test]
fn non_numeric_cell() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| set_cell(lines, 5, 3, "twelve"));
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &[
            "line 6, column 4 ('mean_perimeter')",
            "'twelve' is not a number",
        ],
    );
}

#[test]
fn label_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| {
        for line in lines.iter_mut().skip(1) {
            *line = line
                .replace(",malignant,", ",0,")
                .replace(",benign,", ",1,");
        }
        set_cell(lines, 3, 31, "5");
    });
    expect_failure(
        &example("model.onnx"),
        &records,
        &["--label", "diagnosis"],
        &["label 5", "only 2 classes"],
    );
}

#[test]
fn unknown_class_name() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| set_cell(lines, 2, 31, "benign?"));
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["line 3", "'benign?' is not in the class list"],
    );
}

#[test]
fn empty_records_file() {
    let dir = tempfile::tempdir().unwrap();
    let records = scratch_file(dir.path(), "records.csv", b"");
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["records.csv is empty"],
    );
}

#[test]
fn header_only_records_file() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| lines.truncate(1));
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["has a header but no records"],
    );
}

#[test]
fn nan_feature() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| set_cell(lines, 7, 2, "NaN"));
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["line 8, column 3", "missing", "does not impute"],
    );
}

#[test]
fn infinite_feature() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| set_cell(lines, 7, 2, "inf"));
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["line 8, column 3", "not finite"],
    );
}

#[test]
fn missing_value() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| set_cell(lines, 7, 2, ""));
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["line 8, column 3", "empty"],
    );
}

#[test]
fn membership_not_zero_or_one() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| set_cell(lines, 4, 32, "2"));
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["line 5, column 33 ('member')", "must be 0 or 1"],
    );
}

#[test]
fn duplicate_ids() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| {
        let first = lines[1].split(',').next().unwrap().to_string();
        set_cell(lines, 9, 0, &first);
    });
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["line 10", "already used on line 2"],
    );
}

#[test]
fn ragged_row() {
    let dir = tempfile::tempdir().unwrap();
    let records = edited_csv(dir.path(), |lines| lines[3].push_str(",extra"));
    expect_failure(
        &example("model.onnx"),
        &records,
        &schema(),
        &["line 4", "34 cells but the header has 33"],
    );
}

#[test]
fn paths_that_do_not_exist() {
    let missing = Path::new("/nonexistent/records.csv");
    expect_failure(
        &example("model.onnx"),
        missing,
        &schema(),
        &["cannot read /nonexistent/records.csv"],
    );
    let missing_model = Path::new("/nonexistent/model.onnx");
    expect_failure(
        missing_model,
        &example("audit.csv"),
        &schema(),
        &["cannot read /nonexistent/model.onnx"],
    );
}

#[test]
fn unknown_attack() {
    let mut extra = schema();
    extra.extend(["--attack", "lira-offline-typo"]);
    expect_failure(
        &example("model.onnx"),
        &example("audit.csv"),
        &extra,
        &["unknown attack 'lira-offline-typo'", "available: loss"],
    );
}

#[test]
fn per_class_attack_without_population() {
    let mut extra = schema();
    extra.extend(["--attack", "loss-per-class"]);
    expect_failure(
        &example("model.onnx"),
        &example("audit.csv"),
        &extra,
        &["needs population records", "--population"],
    );
}

#[test]
fn settings_out_of_range() {
    let mut extra = schema();
    extra.extend(["--temperature", "0"]);
    expect_failure(
        &example("model.onnx"),
        &example("audit.csv"),
        &extra,
        &["temperature must be a positive number"],
    );
    let mut extra = schema();
    extra.extend(["--bootstrap", "10"]);
    expect_failure(
        &example("model.onnx"),
        &example("audit.csv"),
        &extra,
        &["at least 200"],
    );
}

#[test]
fn npy_features_without_labels() {
    let features = crate::util::repo("models/fixtures/image_tiny.inputs.npy");
    expect_failure(
        &crate::util::repo("models/fixtures/image_tiny.onnx"),
        &features,
        &[],
        &["--labels"],
    );
}

#[test]
fn npy_labels_of_the_wrong_length() {
    use ndarray_npy::WriteNpyExt;
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.npy");
    ndarray::Array1::<i64>::zeros(5)
        .write_npy(std::fs::File::create(&labels).unwrap())
        .unwrap();
    let features = crate::util::repo("models/fixtures/image_tiny.inputs.npy");
    expect_failure(
        &crate::util::repo("models/fixtures/image_tiny.onnx"),
        &features,
        &["--labels", labels.to_str().unwrap()],
        &["labels.npy has 5 entries but the features have 12 records"],
    );
}

#[test]
fn bad_schema_file() {
    let dir = tempfile::tempdir().unwrap();
    let schema = scratch_file(dir.path(), "schema.json", br#"{"lable": "diagnosis"}"#);
    expect_failure(
        &example("model.onnx"),
        &example("audit.csv"),
        &["--schema", schema.to_str().unwrap()],
        &["schema", "unknown field `lable`"],
    );
}

#[test]
fn population_with_members() {
    let audit = example("audit.csv");
    let extra = [
        "--schema",
        example("schema.json").to_str().unwrap(),
        "--population",
        audit.to_str().unwrap(),
    ]
    .map(str::to_string);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    expect_failure(
        &example("model.onnx"),
        &audit,
        &extra,
        &["population", "284 of its records are marked as members"],
    );
}

#[test]
fn class_list_longer_than_the_model_output() {
    expect_failure(
        &example("model.onnx"),
        &example("audit.csv"),
        &[
            "--label",
            "diagnosis",
            "--classes",
            "malignant,benign,unsure",
        ],
        &["class list", "3 names but the model has 2 classes"],
    );
}

#[test]
fn model_output_not_produced_by_any_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(example("model.onnx")).unwrap();
    // The graph's output list is serialised after its nodes: rename the last "logit".
    let at = bytes.windows(5).rposition(|w| w == b"logit").unwrap();
    bytes[at + 4] = b'q';
    let model = scratch_file(dir.path(), "model.onnx", &bytes);
    expect_failure(
        &model,
        &example("audit.csv"),
        &schema(),
        &["output 'logiq' is not produced by any node"],
    );
}

#[test]
fn randomly_corrupted_models_give_errors_not_panics() {
    use mialab::model::{Model, ModelOptions};
    let original = std::fs::read(example("model.onnx")).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let records = ndarray::ArrayD::<f32>::zeros(ndarray::IxDyn(&[3, 30]));
    for trial in 0..400 {
        let mut bytes = original.clone();
        for _ in 0..1 + next() % 8 {
            let i = next() as usize % bytes.len();
            bytes[i] = next() as u8;
        }
        let outcome = std::panic::catch_unwind(|| {
            if let Ok(model) = Model::from_bytes(&bytes, &ModelOptions::default()) {
                let _ = model.predict(&records, 2, &mut mialab::progress::NoProgress);
            }
        });
        assert!(outcome.is_ok(), "corruption {trial} made the engine panic");
    }
}

#[test]
fn an_operator_tract_lacks_is_named() {
    let model = crate::util::repo("models/fixtures/unsupported_op.onnx");
    let Err(err) = mialab::model::Model::from_bytes(
        &std::fs::read(&model).unwrap(),
        &mialab::model::ModelOptions::default(),
    ) else {
        panic!("Det is not implemented by tract");
    };
    assert!(
        matches!(&err, mialab::model::ModelError::UnsupportedOperator { operator, .. } if operator == "Det"),
        "{err}"
    );
    let out = mialab(&["inspect", model.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("ONNX operator Det"),
        "{}",
        stderr(&out)
    );
}
