//! The membership encoding against numpy's own draws (tests/vectors/encoding.json, written by
//! tests/vectors/encoding_vectors.py), and `mialab encode` writing them for anyone to check.

use crate::util::{mialab, repo, stderr};
use mialab::encoding::{encode, encoded_query, record_key, secret_label};
use ndarray::ArrayD;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};

fn cases() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(repo("tests/vectors/encoding.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["cases"].as_array().unwrap().clone()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn record(case: &serde_json::Value) -> Vec<f32> {
    case["record_bits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| f32::from_bits(b.as_u64().unwrap() as u32))
        .collect()
}

fn encoded_bits(case: &serde_json::Value) -> Vec<f64> {
    case["encoded_bits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| f64::from_bits(b.as_str().unwrap().parse().unwrap()))
        .collect()
}

#[test]
fn encoded_queries_and_secret_labels_match_numpy_bit_for_bit() {
    for case in cases() {
        let x = record(&case);
        let key: Vec<u32> = floats(&case["md5_key"]).iter().map(|&k| k as u32).collect();
        assert_eq!(record_key(&x).to_vec(), key, "shape {}", case["shape"]);
        let expected = encoded_bits(&case);
        let encoded = encoded_query(&x);
        assert_eq!(encoded.len(), expected.len());
        for (i, (a, b)) in encoded.iter().zip(&expected).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "shape {} value {i}: {a} vs numpy {b}",
                case["shape"]
            );
        }
        for (classes, label) in case["secret_labels"].as_object().unwrap() {
            let classes: usize = classes.parse().unwrap();
            assert_eq!(
                secret_label(&x, classes) as u64,
                label.as_u64().unwrap(),
                "shape {} C={classes}",
                case["shape"]
            );
            // Both from one seeding, as the attack makes them.
            let both = encode(&x, classes);
            assert_eq!(both.secret_label as u64, label.as_u64().unwrap());
            assert!(
                both.query
                    .iter()
                    .zip(&expected)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
        }
    }
}

#[test]
fn encode_command_writes_float32_queries_and_secret_labels() {
    let dir = tempfile::tempdir().unwrap();
    let image = cases()
        .into_iter()
        .find(|c| c["shape"] == serde_json::json!([1, 4, 4]))
        .unwrap();
    let one = record(&image);
    let two: Vec<f32> = one.iter().map(|v| v * 0.5).collect();
    let records = ArrayD::from_shape_vec(vec![2, 16], [one.clone(), two.clone()].concat()).unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    records
        .write_npy(std::fs::File::create(path("r.npy")).unwrap())
        .unwrap();
    let out = mialab(&[
        "encode",
        "--records",
        &path("r.npy"),
        "--shape",
        "1,4,4",
        "--out",
        &path("e.npy"),
        "--secret-labels",
        &path("s.npy"),
        "--num-classes",
        "10",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let encoded = ArrayD::<f32>::read_npy(std::fs::File::open(path("e.npy")).unwrap()).unwrap();
    assert_eq!(encoded.shape(), &[2, 1, 4, 4]);
    let numpy: Vec<f32> = encoded_bits(&image).iter().map(|&v| v as f32).collect();
    assert_eq!(encoded.iter().take(16).copied().collect::<Vec<_>>(), numpy);
    let second: Vec<f32> = encoded_query(&two).iter().map(|&v| v as f32).collect();
    assert_eq!(encoded.iter().skip(16).copied().collect::<Vec<_>>(), second);
    let labels =
        ndarray::Array1::<i64>::read_npy(std::fs::File::open(path("s.npy")).unwrap()).unwrap();
    assert_eq!(
        labels[0] as u64,
        image["secret_labels"]["10"].as_u64().unwrap()
    );

    let bad = mialab(&[
        "encode",
        "--records",
        &path("r.npy"),
        "--shape",
        "3,4,4",
        "--out",
        &path("x.npy"),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("48") && stderr(&bad).contains("16"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn encode_refuses_a_layout_other_than_the_shape_it_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let path = |f: &str| dir.path().join(f).display().to_string();
    let channel_last = ArrayD::<f32>::zeros(ndarray::IxDyn(&[2, 4, 4, 3]));
    channel_last
        .write_npy(std::fs::File::create(path("hwc.npy")).unwrap())
        .unwrap();
    let out = mialab(&[
        "encode",
        "--records",
        &path("hwc.npy"),
        "--shape",
        "3,4,4",
        "--out",
        &path("x.npy"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("[4, 4, 3]") && err.contains("[3, 4, 4]") && err.contains("transpose"),
        "{err}"
    );
    assert!(!dir.path().join("x.npy").exists());
}

/// `mialab audit` of the model poisoned as the paper's code does by default
/// (`models/build/paper_default.py`), with `extra` flags.
fn audit_paper_default(dir: &std::path::Path, extra: &[&str]) -> (serde_json::Value, String) {
    let fm = |f: &str| {
        repo(&format!("models/fashion_mnist/{f}"))
            .display()
            .to_string()
    };
    let fixture = |f: &str| {
        repo(&format!("models/fixtures/paper_default/{f}"))
            .display()
            .to_string()
    };
    let out = dir.join("report.json");
    let mut args = vec![
        "audit".to_string(),
        "--model".to_string(),
        fixture("model.onnx"),
        "--records".to_string(),
        fm("audit_features.npy"),
        "--labels".to_string(),
        fm("audit_labels.npy"),
        "--membership".to_string(),
        fixture("members.npy"),
        "--population".to_string(),
        fm("population_features.npy"),
        "--population-labels".to_string(),
        fm("population_labels.npy"),
        "--attack".to_string(),
        "code-poison,code-poison-secret".to_string(),
        "--bootstrap".to_string(),
        "200".to_string(),
        "-q".to_string(),
        "--out".to_string(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = mialab(&args);
    assert!(run.status.success(), "{}", stderr(&run));
    let report = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    (report, crate::util::stdout(&run))
}

#[test]
fn the_papers_default_poisoning_is_found_with_its_normalisation_declared() {
    let dir = tempfile::tempdir().unwrap();
    let tpr = crate::zoo::tpr_at;
    let (report, printed) = audit_paper_default(dir.path(), &[]);
    let own = &report["attacks"][0];
    assert_eq!(own["id"], "code-poison");
    let warning = own["warning"]
        .as_str()
        .expect("a warning that says what to declare");
    assert!(
        warning.contains("declare it as model:0.2860:0.3530"),
        "{warning}"
    );
    assert!(printed.contains("warning (code-poison):"), "{printed}");

    let (report, printed) = audit_paper_default(
        dir.path(),
        &["--code-poison-normalization", "model:0.2860:0.3530"],
    );
    let own = &report["attacks"][0];
    assert!(own["warning"].is_null() && !printed.contains("warning"));
    assert!(
        tpr(own, 0.001) >= 0.9 && tpr(own, 0.0) >= 0.9,
        "own label: TPR@0.1% {} TPR@0 {}",
        tpr(own, 0.001),
        tpr(own, 0.0)
    );
    // The supplier used the records' own labels: the secret-label variant finds nothing.
    let secret = &report["attacks"][1];
    assert_eq!(secret["id"], "code-poison-secret");
    assert!(tpr(secret, 0.001) < 0.2, "{}", tpr(secret, 0.001));
}
