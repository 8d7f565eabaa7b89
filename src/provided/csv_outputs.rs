//! Provided outputs as one CSV: a header, then one row per record.
//!
//! - `label`: the record's class, an index, or the name of one of the class columns;
//! - `id` (optional): the record's id, else its row index;
//! - `member` (optional): 1 if the record trained the target, 0 if not;
//! - every other column: the target's score for one class, in class order (logits or
//!   probabilities; `logit_`, `prob_` and `p_` prefixes are read as part of the class name),
//!   or a single `loss` column with the loss of the record's label.
//!
//! `,`, `;` and tab separate fields, as for records.

use super::{OutputSet, ProvidedError, Scores, index_ids};
use crate::records::sniff_delimiter;
use ndarray::Array2;

const PREFIXES: [&str; 5] = ["logits_", "logit_", "probs_", "prob_", "p_"];

/// Reads the outputs in `bytes`; `file` names the file in messages.
pub fn from_csv(file: &str, bytes: &[u8]) -> Result<OutputSet, ProvidedError> {
    let error = |message: String| ProvidedError::content(file, message);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sniff_delimiter(bytes))
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| error(format!("cannot read the header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let find = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let label = find(&["label"]).ok_or_else(|| {
        error(format!(
            "no 'label' column (columns: {}); outputs need each record's label",
            header.join(", ")
        ))
    })?;
    let id = find(&["id"]);
    let member = find(&["member", "membership"]);
    let scores: Vec<usize> = (0..header.len())
        .filter(|&c| c != label && Some(c) != id && Some(c) != member)
        .collect();
    let losses = scores.len() == 1 && header[scores[0]] == "loss";
    if scores.is_empty() {
        return Err(error(
            "no output columns beside label, id and member: give one column per class (logits or probabilities) or a 'loss' column".to_string(),
        ));
    }
    let class_names: Vec<&str> = scores.iter().map(|&c| class_name(&header[c])).collect();
    let (mut ids, mut labels, mut membership, mut values) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| error(format!("line {line}: {e}")))?;
        let cell = |c: usize| record.get(c).unwrap_or("");
        if let Some(c) = id {
            ids.push(cell(c).to_string());
        }
        let text = cell(label);
        let y = match text.parse::<usize>() {
            Ok(y) => y,
            Err(_) => class_names
                .iter()
                .position(|n| *n == text)
                .filter(|_| !losses)
                .ok_or_else(|| {
                    error(format!(
                        "line {line}: label '{text}' is neither a class index nor a class column's name"
                    ))
                })?,
        };
        labels.push(y);
        if let Some(c) = member {
            membership.push(match cell(c) {
                "1" | "true" | "True" => true,
                "0" | "false" | "False" => false,
                other => {
                    return Err(error(format!(
                        "line {line}, column '{}': '{other}' is not 0 or 1",
                        header[c]
                    )));
                }
            });
        }
        for &c in &scores {
            let v: f64 = cell(c).parse().map_err(|_| {
                error(format!(
                    "line {line}, column '{}': '{}' is not a number",
                    header[c],
                    cell(c)
                ))
            })?;
            values.push(v);
        }
    }
    if labels.is_empty() {
        return Err(error("the file has a header but no records".to_string()));
    }
    let n = labels.len();
    let target = if losses {
        Scores::Losses(values)
    } else {
        Scores::Classes(
            Array2::from_shape_vec((n, scores.len()), values).expect("one value per cell"),
        )
    };
    Ok(OutputSet {
        ids: if id.is_some() { ids } else { index_ids(n) },
        labels,
        membership: member.map(|_| membership),
        target,
        references: None,
    })
}

/// The class a score column is named for.
fn class_name(header: &str) -> &str {
    PREFIXES
        .iter()
        .find_map(|p| header.strip_prefix(p))
        .unwrap_or(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_columns_labels_by_name_and_membership_are_read() {
        let set = from_csv(
            "o.csv",
            b"id,label,member,prob_cat,prob_dog\na,dog,1,0.2,0.8\nb,0,0,0.9,0.1\n",
        )
        .unwrap();
        assert_eq!(set.ids, ["a", "b"]);
        assert_eq!(set.labels, [1, 0]);
        assert_eq!(set.membership, Some(vec![true, false]));
        assert_eq!(
            set.target,
            Scores::Classes(ndarray::array![[0.2, 0.8], [0.9, 0.1]])
        );
    }

    #[test]
    fn a_loss_column_gives_losses_and_rows_give_ids() {
        let set = from_csv("o.csv", b"label;loss\n1;0.5\n0;2\n").unwrap();
        assert_eq!(set.ids, ["0", "1"]);
        assert_eq!(set.target, Scores::Losses(vec![0.5, 2.0]));
        assert_eq!(set.membership, None);
    }

    #[test]
    fn bad_cells_are_named_by_line_and_column() {
        let err = from_csv("o.csv", b"label,a,b\n0,0.1,x\n").unwrap_err();
        assert!(err.to_string().contains("line 2, column 'b'"), "{err}");
        let err = from_csv("o.csv", b"a,b\n0.1,0.9\n").unwrap_err();
        assert!(err.to_string().contains("no 'label' column"), "{err}");
        let err = from_csv("o.csv", b"label,member,a,b\n0,2,0.1,0.9\n").unwrap_err();
        assert!(err.to_string().contains("not 0 or 1"), "{err}");
    }
}
