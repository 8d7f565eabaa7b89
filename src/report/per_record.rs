//! The per-record table: every record with its label, membership, signals, attack scores
//! and risk rank under each attack (1 = most exposed).
//!
//! The table keeps its columns as numbers and writes text only for the rows asked for (a
//! page of the page's table, a chunk of the CSV), so a million-record audit holds each value
//! once instead of as a string per cell.

use super::ReportError;
use crate::records::Records;
use crate::signal::{SignalKind, Signals};
use std::cmp::Ordering;
use std::io::Write;

/// One row per audit record, held as columns.
#[derive(Debug, Clone, PartialEq)]
pub struct PerRecordTable {
    pub header: Vec<String>,
    ids: Vec<String>,
    labels: Vec<usize>,
    classes: Option<Vec<String>>,
    membership: Option<Vec<bool>>,
    signals: Vec<Vec<f64>>,
    correct: Vec<bool>,
    /// Each attack's id, its scores and its ranks (0: unscored).
    attacks: Vec<AttackColumn>,
}

#[derive(Debug, Clone, PartialEq)]
struct AttackColumn {
    id: String,
    scores: Vec<Option<f64>>,
    ranks: Vec<u32>,
}

/// Which rows of the table to show and in what order.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RowQuery {
    /// A column of [`PerRecordTable::header`] to sort by; none: the table's order.
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default = "ascending")]
    pub ascending: bool,
    /// Keeps rows whose id or label contains this text (case-insensitive).
    #[serde(default)]
    pub search: String,
    #[serde(default)]
    pub offset: usize,
    #[serde(default = "page")]
    pub limit: usize,
}

fn ascending() -> bool {
    true
}

fn page() -> usize {
    100
}

/// The rows a [`RowQuery`] selects: how many match, and the page asked for, each row with
/// its position in the audit set.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RowPage {
    pub matching: usize,
    pub rows: Vec<(usize, Vec<String>)>,
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
        let attacks = scores
            .into_iter()
            .map(|(id, scores)| AttackColumn {
                ranks: competition_ranks(&scores)
                    .into_iter()
                    .map(|r| r.map_or(0, |r| r as u32))
                    .collect(),
                id,
                scores,
            })
            .collect();
        PerRecordTable {
            header,
            ids: records.ids.clone(),
            labels: records.labels.clone(),
            classes: records.classes.clone(),
            membership: records.membership.clone(),
            signals: SignalKind::ALL
                .iter()
                .map(|k| signals.get(*k).to_vec())
                .collect(),
            correct: signals.correct.clone(),
            attacks,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Row `i` as text, in [`Self::header`] order.
    pub fn row(&self, i: usize) -> Vec<String> {
        let label = self.label_text(i);
        let member = self
            .membership
            .as_ref()
            .map_or(String::new(), |m| u8::from(m[i]).to_string());
        let mut row = vec![self.ids[i].clone(), label, member];
        row.extend(self.signals.iter().map(|column| number(column[i])));
        row.push(u8::from(self.correct[i]).to_string());
        for attack in &self.attacks {
            row.push(attack.scores[i].map_or(String::new(), number));
            row.push(match attack.ranks[i] {
                0 => String::new(),
                r => r.to_string(),
            });
        }
        row
    }

    /// Writes rows `rows` as CSV (with the header line before row 0).
    pub fn write_csv(
        &self,
        out: impl Write,
        rows: std::ops::Range<usize>,
    ) -> Result<(), ReportError> {
        let mut writer = csv::Writer::from_writer(out);
        if rows.start == 0 {
            writer.write_record(&self.header)?;
        }
        for i in rows.start..rows.end.min(self.len()) {
            writer.write_record(self.row(i))?;
        }
        writer.flush().map_err(|e| ReportError::Csv(e.into()))?;
        Ok(())
    }

    /// The whole table as CSV text.
    pub fn to_csv(&self) -> Result<String, ReportError> {
        let mut bytes = Vec::new();
        self.write_csv(&mut bytes, 0..self.len())?;
        Ok(String::from_utf8(bytes).expect("CSV built from UTF-8 strings"))
    }

    /// The rows `query` selects, sorted as it asks (rows without a value last, ties in table
    /// order), one page of them.
    pub fn select(&self, query: &RowQuery) -> Result<RowPage, String> {
        let needle = query.search.trim().to_lowercase();
        let mut order: Vec<usize> = (0..self.len())
            .filter(|&i| {
                needle.is_empty()
                    || self.ids[i].to_lowercase().contains(&needle)
                    || self.label_text(i).to_lowercase().contains(&needle)
            })
            .collect();
        if let Some(column) = &query.sort {
            let key = self.sort_key(column)?;
            let direction = |o: Ordering| if query.ascending { o } else { o.reverse() };
            order.sort_by(|&a, &b| match (key(a), key(b)) {
                (Key::Missing, Key::Missing) => Ordering::Equal,
                (Key::Missing, _) => Ordering::Greater,
                (_, Key::Missing) => Ordering::Less,
                (Key::Number(x), Key::Number(y)) => direction(x.total_cmp(&y)),
                (Key::Text(x), Key::Text(y)) => direction(x.cmp(y)),
                (Key::Number(_), Key::Text(_)) => direction(Ordering::Less),
                (Key::Text(_), Key::Number(_)) => direction(Ordering::Greater),
            });
        }
        let matching = order.len();
        let rows = order
            .into_iter()
            .skip(query.offset)
            .take(query.limit)
            .map(|i| (i, self.row(i)))
            .collect();
        Ok(RowPage { matching, rows })
    }

    fn label_text(&self, i: usize) -> String {
        match &self.classes {
            Some(names) => names[self.labels[i]].clone(),
            None => self.labels[i].to_string(),
        }
    }

    /// What rows are ordered by under `column`: numbers as numbers, text as text.
    fn sort_key<'a>(&'a self, column: &str) -> Result<Box<dyn Fn(usize) -> Key<'a> + 'a>, String> {
        let signal = SignalKind::ALL.iter().position(|k| k.name() == column);
        let attack = |prefix: &str| {
            column
                .strip_prefix(prefix)
                .and_then(|id| self.attacks.iter().find(|a| a.id == id))
        };
        Ok(match column {
            "id" => Box::new(|i| Key::Text(&self.ids[i])),
            "label" => match &self.classes {
                Some(names) => Box::new(|i| Key::Text(&names[self.labels[i]])),
                None => Box::new(|i| Key::Number(self.labels[i] as f64)),
            },
            "member" => Box::new(|i| {
                self.membership
                    .as_ref()
                    .map_or(Key::Missing, |m| Key::Number(f64::from(u8::from(m[i]))))
            }),
            "correct" => Box::new(|i| Key::Number(f64::from(u8::from(self.correct[i])))),
            _ if signal.is_some() => {
                let column = &self.signals[signal.unwrap_or_default()];
                Box::new(move |i| Key::Number(column[i]))
            }
            _ if attack("score:").is_some() => {
                let scores = &attack("score:").expect("checked").scores;
                Box::new(move |i| scores[i].map_or(Key::Missing, Key::Number))
            }
            _ if attack("rank:").is_some() => {
                let ranks = &attack("rank:").expect("checked").ranks;
                Box::new(move |i| match ranks[i] {
                    0 => Key::Missing,
                    r => Key::Number(f64::from(r)),
                })
            }
            _ => return Err(format!("the per-record table has no column {column}")),
        })
    }

    /// Scores of attack `id` of the records it scored, split by membership (members, then
    /// non-members; records of unknown membership count as non-members).
    pub fn scores_by_membership(&self, id: &str) -> Option<(Vec<f64>, Vec<f64>)> {
        let attack = self.attacks.iter().find(|a| a.id == id)?;
        Some(self.split(|i| attack.scores[i]))
    }

    /// A signal's values split by membership, as [`Self::scores_by_membership`].
    pub fn signal_by_membership(&self, kind: SignalKind) -> (Vec<f64>, Vec<f64>) {
        let at = SignalKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        let column = &self.signals[at];
        self.split(|i| Some(column[i]))
    }

    fn split(&self, value: impl Fn(usize) -> Option<f64>) -> (Vec<f64>, Vec<f64>) {
        let (mut members, mut others) = (Vec::new(), Vec::new());
        for i in 0..self.len() {
            if let Some(v) = value(i) {
                let member = self.membership.as_ref().is_some_and(|m| m[i]);
                if member { &mut members } else { &mut others }.push(v);
            }
        }
        (members, others)
    }

    /// Ids of the attacks in the table, in column order.
    pub fn attack_ids(&self) -> impl Iterator<Item = &str> {
        self.attacks.iter().map(|a| a.id.as_str())
    }
}

enum Key<'a> {
    Number(f64),
    Text(&'a str),
    Missing,
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
