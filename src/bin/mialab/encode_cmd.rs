//! `mialab encode`: the membership-encoded query of every record (and its secret label), as
//! the NDSS 2025 code derives them, written as .npy so anyone can check them against numpy.

use crate::inputs::SchemaArgs;
use anyhow::{Context, Result, bail};
use mialab::encoding::encode;
use mialab::records::{Records, read_file};
use ndarray::{Array1, ArrayD, IxDyn};
use ndarray_npy::WriteNpyExt;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct EncodeArgs {
    /// Records: .npy features [N, ...] (float32, float64 or uint8 pixels), or CSV (see --schema).
    #[arg(long, value_name = "FILE")]
    records: PathBuf,
    /// Shape of one record, e.g. 1,28,28 (its values are hashed as float32 in C order).
    #[arg(long, value_name = "C,H,W", value_delimiter = ',', required = true)]
    shape: Vec<usize>,
    /// Write the encoded queries here: float32 [N, ...shape], C order.
    #[arg(long, value_name = "FILE.npy")]
    out: PathBuf,
    /// Also write each record's secret label (int64 [N]); needs --num-classes.
    #[arg(long, value_name = "FILE.npy", requires = "num_classes")]
    secret_labels: Option<PathBuf>,
    /// Number of classes the secret label is drawn from.
    #[arg(long, value_name = "C")]
    num_classes: Option<usize>,
    #[command(flatten)]
    schema: SchemaArgs,
}

pub fn run(args: &EncodeArgs) -> Result<()> {
    let bytes = read_file(&args.records).map_err(mialab::Error::from)?;
    let name = args.records.display().to_string();
    let features = if name.to_ascii_lowercase().ends_with(".npy") {
        Records::features_from_npy(&name, &bytes).map_err(mialab::Error::from)?
    } else {
        Records::from_csv(&bytes, &name, &args.schema.resolve()?)
            .map_err(mialab::Error::from)?
            .features
    };
    let n = features.shape()[0];
    let per_record: usize = features.shape()[1..].iter().product();
    let wanted: usize = args.shape.iter().product();
    if per_record != wanted {
        bail!(
            "--shape {:?} holds {wanted} values but each record of {name} has {per_record}",
            args.shape
        );
    }
    let trailing = &features.shape()[1..];
    if trailing.len() > 1 && trailing != args.shape.as_slice() {
        bail!(
            "each record of {name} has shape {trailing:?} but --shape says {:?}: the encoding hashes the record's values in the order of --shape (channel-first, C order), so an array in another layout gives other queries; transpose it first (numpy: a.transpose(0, 3, 1, 2) for channel-last images) or pass --shape {}",
            args.shape,
            trailing
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    let flat = features
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((n, per_record))
        .context("records as rows")?;
    let mut encoded = Vec::with_capacity(n * per_record);
    let mut labels = Vec::with_capacity(n);
    for row in flat.rows() {
        let record = row.to_vec();
        let encoding = encode(&record, args.num_classes.unwrap_or(1));
        encoded.extend(encoding.query.into_iter().map(|v| v as f32));
        if args.num_classes.is_some() {
            labels.push(encoding.secret_label as i64);
        }
    }
    let shape: Vec<usize> = [&[n][..], &args.shape].concat();
    let array = ArrayD::from_shape_vec(IxDyn(&shape), encoded).context("encoded shape")?;
    let write = |path: &PathBuf, f: &dyn Fn(std::fs::File) -> Result<()>| -> Result<()> {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        f(file)
    };
    write(&args.out, &|file| Ok(array.write_npy(file)?))?;
    println!(
        "encoded {n} records of shape {:?}: {}",
        args.shape,
        args.out.display()
    );
    if let Some(path) = &args.secret_labels {
        let labels = Array1::from(labels);
        write(path, &|file| Ok(labels.write_npy(file)?))?;
        println!("secret labels: {}", path.display());
    }
    Ok(())
}
