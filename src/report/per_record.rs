//! The per-record table: every record with its label, membership, signals, attack scores
//! and risk rank under each attack (1 = most exposed).

use super::ReportError;
use crate::records::Records;
use crate::signal::{SignalKind, Signals};

/// One row per audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct PerRecordTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl PerRecordTable {
    pub fn new(
        records: &Records,
        signals: &Signals,
        scores: Vec<(String, Vec<Option<f64>>)>,
    ) -> PerRecordTable {
        let mut header = vec!["id".to_string(), "label".to_string(), "member".to_string()];
        header.extend(SignalKind::ALL.iter().map(|k| k.name().to_string()));
        header.push("correct".to_string());
        for (id, _) in &scores {
            header.push(format!("score:{id}"));
            header.push(format!("rank:{id}"));
        }
        let ranks: Vec<Vec<Option<usize>>> =
            scores.iter().map(|(_, s)| competition_ranks(s)).collect();
        let rows = (0..records.len())
            .map(|i| {
                let label = match &records.classes {
                    Some(names) => names[records.labels[i]].clone(),
                    None => records.labels[i].to_string(),
                };
                let member = records
                    .membership
                    .as_ref()
                    .map_or(String::new(), |m| u8::from(m[i]).to_string());
                let mut row = vec![records.ids[i].clone(), label, member];
                row.extend(SignalKind::ALL.iter().map(|k| number(signals.get(*k)[i])));
                row.push(u8::from(signals.correct[i]).to_string());
                for ((_, s), r) in scores.iter().zip(&ranks) {
                    row.push(s[i].map_or(String::new(), number));
                    row.push(r[i].map_or(String::new(), |r| r.to_string()));
                }
                row
            })
            .collect();
        PerRecordTable { header, rows }
    }

    /// The table as CSV text.
    pub fn to_csv(&self) -> Result<String, ReportError> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.header)?;
        for row in &self.rows {
            writer.write_record(row)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| ReportError::Csv(e.into_error().into()))?;
        Ok(String::from_utf8(bytes).expect("CSV built from UTF-8 strings"))
    }
}

/// Rank 1 for the highest score; equal scores share the best rank ("1224" ranking);
/// unscored records have no rank.
fn competition_ranks(scores: &[Option<f64>]) -> Vec<Option<usize>> {
    let mut order: Vec<(usize, f64)> = scores
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (i, s)))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut ranks = vec![None; scores.len()];
    for (position, &(i, s)) in order.iter().enumerate() {
        ranks[i] = Some(match position {
            0 => 1,
            _ if order[position - 1].1 == s => ranks[order[position - 1].0].unwrap_or(1),
            _ => position + 1,
        });
    }
    ranks
}

/// Shortest round-trip text of `v`, with -0 written as 0.
fn number(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else {
        v.to_string()
    }
}
