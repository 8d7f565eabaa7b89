//! The report to hand over (`mialab audit --html`): one self-contained file with every
//! section, its charts as inline SVG, nothing it would fetch, and numbers equal to the JSON
//! report's.

use crate::util::{example_audit_args, mialab, stderr};

#[test]
fn the_html_report_holds_every_section_and_fetches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (html, json) = (
        dir.path().join("report.html"),
        dir.path().join("report.json"),
    );
    let mut args = example_audit_args();
    args.extend(
        [
            "--attack",
            "loss,confidence,loss-per-class",
            "-q",
            "--html",
            html.to_str().unwrap(),
            "--out",
            json.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let out = mialab(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&html).unwrap();
    for section in [
        "reading",
        "audited",
        "metrics",
        "roc",
        "histogram",
        "classes",
        "exposed",
        "papers",
    ] {
        assert!(
            text.contains(&format!("id=\"{section}\"")),
            "section {section} missing"
        );
    }
    assert_eq!(text.matches("<svg").count(), 2, "the ROC and the histogram");
    assert_eq!(
        text.matches("<polyline").count(),
        3,
        "one ROC curve per attack"
    );
    for fetching in ["<script", "src=", "href=", "@import", "url("] {
        assert!(
            !text.contains(fetching),
            "the file would fetch something: {fetching}"
        );
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let sha = report["model"]["sha256"].as_str().unwrap();
    assert!(text.contains(sha), "the model's hash");
    let best = report["attacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let tpr = a["metrics"]["tpr_at_fpr"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| (t["fpr"].as_f64().unwrap() - 0.01).abs() < 1e-12)
                .and_then(|t| t["tpr"].as_f64())
                .unwrap();
            (a["title"].as_str().unwrap().to_string(), tpr)
        })
        .max_by(|x, y| x.1.total_cmp(&y.1))
        .unwrap();
    let sentence = format!(
        "At 1% false alarms, an attacker using {} identifies <strong>{:.2}%</strong>",
        best.0,
        100.0 * best.1
    );
    assert!(text.contains(&sentence), "the reading: {sentence}");
}
