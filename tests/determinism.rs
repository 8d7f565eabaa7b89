//! The same inputs give the same report, byte for byte, whatever the number of threads the
//! record batches and bootstrap resamples are spread over (`mialab --threads N`).

use crate::util::{mialab, repo, stderr};

#[test]
fn the_report_and_per_record_table_are_the_same_at_1_2_and_8_threads() {
    let dir = tempfile::tempdir().unwrap();
    let outputs: Vec<(Vec<u8>, Vec<u8>)> = [1, 2, 8]
        .iter()
        .map(|threads| {
            let report = dir.path().join(format!("report-{threads}.json"));
            let table = dir.path().join(format!("records-{threads}.csv"));
            let run = mialab(&[
                "--threads".to_string(),
                threads.to_string(),
                "audit".into(),
                "--zoo".into(),
                "support2/overfit".into(),
                "--zoo-dir".into(),
                repo("models").display().to_string(),
                "--attack".into(),
                "loss,lira-online,rmia-online,shokri".into(),
                "--backend".into(),
                "cpu".into(),
                "-q".into(),
                "--out".into(),
                report.display().to_string(),
                "--per-record".into(),
                table.display().to_string(),
            ]);
            assert!(run.status.success(), "{threads} threads: {}", stderr(&run));
            (
                std::fs::read(report).unwrap(),
                std::fs::read(table).unwrap(),
            )
        })
        .collect();
    for (threads, (report, table)) in [2, 8].iter().zip(&outputs[1..]) {
        assert!(
            *report == outputs[0].0,
            "the report at {threads} threads differs from 1 thread's"
        );
        assert!(
            *table == outputs[0].1,
            "the per-record table at {threads} threads differs from 1 thread's"
        );
    }
}
