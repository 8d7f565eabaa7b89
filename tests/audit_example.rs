//! `mialab audit` on the bundled example: the files it writes, metrics recomputed here from
//! onnxruntime's stored logits with textbook formulas, and byte-identical reruns.

use crate::util::{Tol, example, example_audit_args, mialab, read_npy_f32, stderr, stdout};
use serde_json::Value;

struct Example {
    loss: Vec<f64>,
    member: Vec<bool>,
}

/// The loss of every audit record, from onnxruntime's logit, and its membership.
fn example_from_onnxruntime() -> Example {
    let logits = read_npy_f32(&example("expected_audit_logits.npy"));
    let mut reader = csv::Reader::from_path(example("audit.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (label, member) = (col("diagnosis"), col("member"));
    let mut ex = Example {
        loss: Vec::new(),
        member: Vec::new(),
    };
    for (row, z) in reader.records().zip(logits.iter()) {
        let row = row.unwrap();
        // Binary logit z of "benign": the true class's margin is ±z, loss = ln(1 + e^-margin).
        let margin = if &row[label] == "benign" {
            f64::from(*z)
        } else {
            -f64::from(*z)
        };
        ex.loss.push(if margin > 0.0 {
            (-margin).exp().ln_1p()
        } else {
            -margin + margin.exp().ln_1p()
        });
        ex.member.push(&row[member] == "1");
    }
    ex
}

/// Mann-Whitney AUC of scores, by comparing every member with every non-member.
fn pairwise_auc(scores: &[f64], member: &[bool]) -> f64 {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for (a, _) in scores.iter().zip(member).filter(|(_, m)| **m) {
        for (b, _) in scores.iter().zip(member).filter(|(_, m)| !**m) {
            pairs += 1.0;
            wins += if a > b {
                1.0
            } else if a == b {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / pairs
}

/// Largest TPR over thresholds that flag at most `allowed` non-members.
fn brute_force_tpr(scores: &[f64], member: &[bool], allowed: usize) -> f64 {
    let members = member.iter().filter(|m| **m).count() as f64;
    scores
        .iter()
        .map(|t| {
            let fp = scores
                .iter()
                .zip(member)
                .filter(|(s, m)| !**m && *s >= t)
                .count();
            let tp = scores
                .iter()
                .zip(member)
                .filter(|(s, m)| **m && *s >= t)
                .count();
            if fp <= allowed {
                tp as f64 / members
            } else {
                0.0
            }
        })
        .fold(0.0, f64::max)
}

/// Runs the example audit; returns the report, its text, the per-record CSV and stdout.
fn run_example(dir: &std::path::Path, extra: &[&str]) -> (Value, String, String, String) {
    let (json, csv) = (dir.join("report.json"), dir.join("scores.csv"));
    let mut args = example_audit_args();
    args.extend([
        "--out".into(),
        json.display().to_string(),
        "--per-record".into(),
        csv.display().to_string(),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = mialab(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let json_text = std::fs::read_to_string(&json).unwrap();
    (
        serde_json::from_str(&json_text).unwrap(),
        json_text,
        std::fs::read_to_string(&csv).unwrap(),
        stdout(&out),
    )
}

fn attack<'a>(report: &'a Value, id: &str) -> &'a Value {
    crate::util::attack_in(report, id)
}

#[test]
fn audit_prints_and_writes_metrics_that_match_an_independent_computation() {
    let dir = tempfile::tempdir().unwrap();
    let (report, _, _, printed) = run_example(dir.path(), &[]);
    for header in [
        "AUC",
        "TPR@1%",
        "TPR@0.1%",
        "loss",
        "modified-entropy-per-class",
    ] {
        assert!(printed.contains(header), "summary lacks {header}");
    }

    let ex = example_from_onnxruntime();
    let scores: Vec<f64> = ex.loss.iter().map(|l| -l).collect();
    let loss = &attack(&report, "loss")["metrics"];
    assert!(Tol::Close.accepts(
        loss["auc"].as_f64().unwrap(),
        pairwise_auc(&scores, &ex.member)
    ));
    let tpr = |fpr: f64| {
        loss["tpr_at_fpr"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["fpr"] == fpr)
            .unwrap()["tpr"]
            .clone()
    };
    let non_members = ex.member.iter().filter(|m| !**m).count();
    assert_eq!(non_members, 143);
    assert!(Tol::Close.accepts(
        tpr(0.01).as_f64().unwrap(),
        brute_force_tpr(&scores, &ex.member, 1)
    ));
    assert!(Tol::Close.accepts(
        tpr(0.1).as_f64().unwrap(),
        brute_force_tpr(&scores, &ex.member, 14)
    ));
    assert!(
        tpr(0.001).is_null(),
        "0.1% FPR is below 1/143: not measurable"
    );

    assert_eq!(report["report_version"], 4);
    assert_eq!(report["records"]["members"], 284);
    assert_eq!(report["population"]["records"], 142);
    assert_eq!(report["model"]["output_kind"], "logits");
    assert_eq!(report["model"]["expanded_single_output"], true);
    assert_eq!(
        report["attacks"].as_array().unwrap().len(),
        mialab::attack::catalogue()
            .filter(|e| e.info.needs.references == mialab::attack::ReferenceUse::NotUsed)
            .filter(|e| e.info.runs_by_default())
            .count(),
        "without reference models every attack without them runs, but the quantile regressor (it trains a network, so runs when asked)"
    );
    // Halves of 143 non-members resolve 10% FPR (cross-fitted); 1% only the 142 population
    // records resolve, whose scores the loss attack treats like the audit non-members'.
    let points = attack(&report, "loss")["operating_points"]
        .as_array()
        .unwrap();
    let methods: Vec<&str> = points
        .iter()
        .map(|p| p["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["population", "cross-fit"]);
    assert_eq!(points[0]["thresholds"].as_array().unwrap().len(), 1);
    assert!(points[0]["epsilon"]["epsilon"].as_f64().unwrap() >= 0.0);
}

#[test]
fn per_record_csv_has_every_record_signal_score_and_rank() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, csv_text, _) = run_example(dir.path(), &["--attack", "loss,confidence"]);
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        header,
        [
            "id",
            "label",
            "member",
            "confidence",
            "loss",
            "logit_scaled",
            "entropy",
            "modified_entropy",
            "correct",
            "score:loss",
            "rank:loss",
            "score:confidence",
            "rank:confidence"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 427);
    let ex = example_from_onnxruntime();
    let losses: Vec<f64> = rows.iter().map(|r| r[4].parse().unwrap()).collect();
    Tol::Close.assert_all(&losses, &ex.loss, "loss column");
    let top = rows.iter().find(|r| &r[10] == "1").unwrap();
    let top_score: f64 = top[9].parse().unwrap();
    assert!(
        rows.iter()
            .all(|r| r[9].parse::<f64>().unwrap() <= top_score),
        "rank 1 is the highest score"
    );
}

#[test]
fn the_same_inputs_and_seed_give_byte_identical_files() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (_, json_a, csv_a, _) = run_example(a.path(), &["--seed", "11"]);
    let (_, json_b, csv_b, _) = run_example(b.path(), &["--seed", "11"]);
    let (_, json_c, _, _) = run_example(c.path(), &["--seed", "12"]);
    assert!(json_a == json_b, "reports differ");
    assert!(csv_a == csv_b, "per-record tables differ");
    assert!(json_a != json_c, "the seed reaches the bootstrap");
}

#[test]
fn without_population_thresholds_are_cross_fitted_on_the_audit_set() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let (model, records, schema) = (
        example("model.onnx"),
        example("audit.csv"),
        example("schema.json"),
    );
    let args = [
        "audit",
        "--model",
        model.to_str().unwrap(),
        "--records",
        records.to_str().unwrap(),
        "--schema",
        schema.to_str().unwrap(),
        "--out",
        json.to_str().unwrap(),
        "-q",
    ];
    let out = mialab(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert!(report["population"].is_null());
    assert!(
        report["attacks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| !a["id"].as_str().unwrap().ends_with("per-class"))
    );
    let points = attack(&report, "loss")["operating_points"]
        .as_array()
        .unwrap();
    assert_eq!(
        points.len(),
        1,
        "halves of 143 non-members resolve 10% FPR, not 1% or 0.1%"
    );
    let point = &points[0];
    assert_eq!(point["method"], "cross-fit");
    assert_eq!(point["thresholds"].as_array().unwrap().len(), 2);
    let counts = &point["counts"];
    let measured: u64 = ["tp", "fp", "tn", "fn"]
        .iter()
        .map(|k| counts[*k].as_u64().unwrap())
        .sum();
    assert_eq!(
        measured, 427,
        "every record is measured once, on the other half's threshold"
    );
}

#[test]
fn spreadsheet_csv_with_bom_and_crlf_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(example("audit.csv")).unwrap();
    let windows = dir.path().join("audit.csv");
    std::fs::write(&windows, format!("\u{feff}{}", text.replace('\n', "\r\n"))).unwrap();
    let schema = mialab::records::RecordSchema::from_json(
        &std::fs::read_to_string(example("schema.json")).unwrap(),
    )
    .unwrap();
    let read = |path: &std::path::Path| {
        mialab::records::Records::from_csv(&std::fs::read(path).unwrap(), "audit.csv", &schema)
            .unwrap()
    };
    assert_eq!(read(&windows), read(&example("audit.csv")));
}

#[test]
fn population_records_that_repeat_audit_records_are_named_whatever_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let audit = std::fs::read_to_string(example("audit.csv")).unwrap();
    let population = std::fs::read_to_string(example("population.csv")).unwrap();
    let audit_header: Vec<&str> = audit.lines().next().unwrap().split(',').collect();
    let population_header: Vec<&str> = population.lines().next().unwrap().split(',').collect();
    // Three audit records slipped into the population under ids of their own.
    let mut text = population.trim_end().to_string();
    for (k, line) in audit.lines().skip(1).take(3).enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let row: Vec<String> = population_header
            .iter()
            .map(|column| match *column {
                "id" => format!("copied-{k}"),
                c => cells[audit_header.iter().position(|a| *a == c).unwrap()].to_string(),
            })
            .collect();
        text.push('\n');
        text.push_str(&row.join(","));
    }
    let path = dir.path().join("population.csv");
    std::fs::write(&path, text + "\n").unwrap();
    let mut args = example_audit_args();
    let at = args.iter().position(|a| a == "--population").unwrap();
    args[at + 1] = path.display().to_string();
    let out_path = dir.path().join("overlap.json");
    args.extend([
        "--attack".into(),
        "loss".into(),
        "--out".into(),
        out_path.display().to_string(),
    ]);
    let out = mialab(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    let warnings = report["warnings"].as_array().expect("the report warns");
    let warning = warnings[0].as_str().unwrap();
    assert!(warning.starts_with("3 of the"), "{warning}");
    assert!(warning.contains("copied-0 = audit bc-"), "{warning}");
    assert!(printed.contains("warning: 3 of the"), "{printed}");
    // The bundled example's own population repeats none.
    let (clean, _, _, _) = run_example(dir.path(), &["--attack", "loss"]);
    assert!(clean.get("warnings").is_none());
}
