//! `mialab audit --references DIR --keep-mask FILE`: a user's own reference models, with a
//! CSV or NPY keep-mask, records they cannot support listed, and mistakes named.

use crate::util::{mialab, repo, stderr};
use ndarray::Array2;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use std::path::{Path, PathBuf};

const MODELS: usize = 4;

fn s2(relative: &str) -> PathBuf {
    repo("models/support2").join(relative)
}

/// Copies the first four SUPPORT2 overfit references into `dir` as `shadow-N.onnx` and
/// returns their keep-mask rows, `[models, records]`.
fn user_reference_set(dir: &Path) -> Array2<bool> {
    for k in 0..MODELS {
        std::fs::copy(
            s2(&format!("references/overfit/ref-{k:02}.onnx")),
            dir.join(format!("shadow-{k}.onnx")),
        )
        .unwrap();
    }
    let file = std::fs::File::open(s2("references/overfit/keep.npy")).unwrap();
    let keep = Array2::<bool>::read_npy(file).unwrap();
    keep.slice(ndarray::s![..MODELS, ..]).to_owned()
}

fn write_csv(path: &Path, keep: &Array2<bool>, rows: usize) {
    // Columns in reverse order: the header, not the position, says which model is which.
    let mut text = (0..MODELS)
        .rev()
        .map(|k| format!("shadow-{k}.onnx"))
        .collect::<Vec<_>>()
        .join(",");
    text.push('\n');
    for i in 0..rows {
        let row: Vec<&str> = (0..MODELS)
            .rev()
            .map(|k| if keep[[k, i]] { "1" } else { "0" })
            .collect();
        text.push_str(&row.join(","));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn audit(refs: &Path, keep_mask: &Path, out: &Path) -> std::process::Output {
    let path = |p: PathBuf| p.to_str().unwrap().to_string();
    let args = [
        "audit".to_string(),
        "--model".into(),
        path(s2("targets/overfit.onnx")),
        "--records".into(),
        path(s2("audit_features.npy")),
        "--labels".into(),
        path(s2("audit_labels.npy")),
        "--membership".into(),
        path(s2("targets/overfit.members.npy")),
        "--ids".into(),
        path(s2("audit_ids.txt")),
        "--references".into(),
        refs.to_str().unwrap().into(),
        "--keep-mask".into(),
        keep_mask.to_str().unwrap().into(),
        "--attack".into(),
        "lira-online,lira-offline,calibrated-loss".into(),
        "--bootstrap".into(),
        "200".into(),
        "-q".into(),
        "--out".into(),
        out.to_str().unwrap().into(),
    ];
    mialab(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn csv_and_npy_keep_masks_give_the_same_audit_and_unsupported_records_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let refs = dir.path().join("refs");
    std::fs::create_dir(&refs).unwrap();
    let keep = user_reference_set(&refs);
    let (csv, npy) = (dir.path().join("keep.csv"), dir.path().join("keep.npy"));
    write_csv(&csv, &keep, keep.ncols());
    keep.write_npy(std::fs::File::create(&npy).unwrap())
        .unwrap();

    let (from_csv, from_npy) = (dir.path().join("csv.json"), dir.path().join("npy.json"));
    for (mask, out) in [(&csv, &from_csv), (&npy, &from_npy)] {
        let run = audit(&refs, mask, out);
        assert!(run.status.success(), "{}", stderr(&run));
    }
    let (a, b) = (report(&from_csv), report(&from_npy));
    assert_eq!(a["attacks"], b["attacks"]);

    let without_in = keep
        .columns()
        .into_iter()
        .filter(|c| !c.iter().any(|&k| k))
        .count();
    let without_out = keep
        .columns()
        .into_iter()
        .filter(|c| c.iter().all(|&k| k))
        .count();
    assert!(
        without_in > 0 && without_out > 0,
        "4 random halves leave some records bare"
    );
    let section = &a["references"];
    assert_eq!(section["models"], MODELS);
    assert_eq!(section["records_without_in"], without_in);
    assert_eq!(section["records_without_out"], without_out);

    let attack = |id: &str| {
        a["attacks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == id)
            .unwrap()
            .clone()
    };
    let online = attack("lira-online");
    assert_eq!(online["scored"], 8000 - without_in - without_out);
    let first_bare = (0..keep.ncols())
        .find(|&i| !keep.column(i).iter().any(|&k| k))
        .unwrap();
    let ids: Vec<String> = std::fs::read_to_string(s2("audit_ids.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(
        online["unscored_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|id| id == &ids[first_bare]),
        "record {} has no IN model and must be listed",
        ids[first_bare]
    );
    assert_eq!(attack("lira-offline")["scored"], 8000 - without_out);
    assert!(online["metrics"]["auc"].as_f64().unwrap() > 0.6);
}

#[test]
fn a_keep_mask_that_does_not_fit_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let refs = dir.path().join("refs");
    std::fs::create_dir(&refs).unwrap();
    let keep = user_reference_set(&refs);
    let out = dir.path().join("r.json");

    let short = dir.path().join("short.csv");
    write_csv(&short, &keep, 100);
    let run = audit(&refs, &short, &out);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("100 record rows but there are 8000 audit records"),
        "{}",
        stderr(&run)
    );

    let transposed = dir.path().join("transposed.npy");
    keep.t()
        .to_owned()
        .write_npy(std::fs::File::create(&transposed).unwrap())
        .unwrap();
    let run = audit(&refs, &transposed, &out);
    assert!(stderr(&run).contains("need [4, 8000]"), "{}", stderr(&run));

    std::fs::copy(
        repo("models/fashion_mnist/references/overfit/ref-00.onnx"),
        refs.join("shadow-9.onnx"),
    )
    .unwrap();
    let five = Array2::from_elem((5, 8000), false);
    let mask = dir.path().join("five.npy");
    five.write_npy(std::fs::File::create(&mask).unwrap())
        .unwrap();
    let run = audit(&refs, &mask, &out);
    assert_eq!(run.status.code(), Some(2));
    let err = stderr(&run);
    assert!(
        err.contains("shadow-9.onnx") && err.contains("the target's architecture"),
        "{err}"
    );
    assert!(!out.exists(), "no report is written for a failed audit");
}

/// A keep-mask CSV keyed by record id, its rows in `order` (indices into the audit set) with
/// `rename` giving some rows other ids.
fn write_csv_with_ids(path: &Path, keep: &Array2<bool>, order: &[usize], rename: &[(usize, &str)]) {
    let ids: Vec<String> = std::fs::read_to_string(s2("audit_ids.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut text = "id,".to_string();
    text.push_str(
        &(0..MODELS)
            .map(|k| format!("shadow-{k}.onnx"))
            .collect::<Vec<_>>()
            .join(","),
    );
    text.push('\n');
    for &i in order {
        let id = rename
            .iter()
            .find(|(r, _)| *r == i)
            .map_or(ids[i].as_str(), |(_, n)| n);
        let row: Vec<&str> = (0..MODELS)
            .map(|k| if keep[[k, i]] { "1" } else { "0" })
            .collect();
        text.push_str(&format!("{id},{}\n", row.join(",")));
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_keep_mask_keyed_by_id_may_come_in_any_order_but_must_describe_these_records() {
    let dir = tempfile::tempdir().unwrap();
    let refs = dir.path().join("refs");
    std::fs::create_dir(&refs).unwrap();
    let keep = user_reference_set(&refs);
    let npy = dir.path().join("keep.npy");
    keep.write_npy(std::fs::File::create(&npy).unwrap())
        .unwrap();
    let by_position = dir.path().join("position.json");
    assert!(audit(&refs, &npy, &by_position).status.success());

    let reversed: Vec<usize> = (0..8000).rev().collect();
    let shuffled = dir.path().join("by-id.csv");
    write_csv_with_ids(&shuffled, &keep, &reversed, &[]);
    let by_id = dir.path().join("id.json");
    let run = audit(&refs, &shuffled, &by_id);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(report(&by_position)["attacks"], report(&by_id)["attacks"]);

    // Written for an audit set that has since changed: two records are not these.
    let other = dir.path().join("other.csv");
    write_csv_with_ids(&other, &keep, &reversed, &[(5, "gone-1"), (9, "gone-2")]);
    let run = audit(&refs, &other, &dir.path().join("other.json"));
    assert_eq!(run.status.code(), Some(2));
    let err = stderr(&run);
    assert!(err.contains("describes other records than the audit set: 2 of its rows name records not in it (e.g. gone-2, gone-1) and 2 audit records have no row"), "{err}");
}
