//! `mialab audit --outputs`: audits outputs the target already gave, for a model that cannot
//! run here (docs/own-outputs.md). The files become a signals file, which a session audits as
//! it audits `mialab signals` output.

use crate::inputs::display_name;
use anyhow::{Context, Result, bail};
use mialab::model::OutputKindChoice;
use mialab::provenance::Provenance;
use mialab::provided::{self, OutputSet, ProvidedOutputs};
use mialab::signals_file::SignalsFile;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct OutputsArgs {
    /// Audit outputs the target already gave instead of running a model: CSV (a label
    /// column, optionally id and member, then one column per class or a loss column), .npy
    /// ([records, classes] logits or probabilities, or [records] losses, with --labels and
    /// --membership), or .npz (TF Privacy's AttackInputData names, or mialab's). See
    /// docs/own-outputs.md.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["model", "records", "zoo", "references", "population", "signals"]
    )]
    pub outputs: Option<PathBuf>,
    /// With --outputs: the reference models' outputs on the audit records, .npy
    /// [models, records, classes] or [models, records] losses (LiRA's layout); needs
    /// --keep-mask (.npy [models, records]).
    #[arg(long, value_name = "FILE.npy", requires_all = ["outputs", "keep_mask"])]
    pub reference_outputs: Option<PathBuf>,
    /// With --outputs: the target's outputs on population records (known non-members): CSV,
    /// or .npy with --population-labels.
    #[arg(long, value_name = "FILE", requires = "outputs")]
    pub population_outputs: Option<PathBuf>,
    /// With --population-outputs: the reference models' outputs on the population records,
    /// .npy [models, records, classes] or [models, records].
    #[arg(long, value_name = "FILE.npy", requires = "population_outputs")]
    pub population_reference_outputs: Option<PathBuf>,
}

/// The flags of the records' inputs that go with `.npy` outputs.
pub struct Companions<'a> {
    pub labels: Option<&'a Path>,
    pub membership: Option<&'a Path>,
    pub population_labels: Option<&'a Path>,
    pub keep_mask: Option<&'a Path>,
}

struct File {
    name: String,
    bytes: Vec<u8>,
}

fn read(path: &Path) -> Result<File> {
    Ok(File {
        name: display_name(path),
        bytes: std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
    })
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// One set's outputs (CSV, or `.npy` with its labels and membership) and where they came from.
fn output_set(
    path: &Path,
    labels: Option<&Path>,
    membership: Option<&Path>,
) -> Result<(OutputSet, Provenance)> {
    let file = read(path)?;
    let set = match extension(path).as_str() {
        "npy" => {
            let Some(labels) = labels else {
                bail!(
                    "{}: .npy outputs need the records' labels: pass --labels (or --population-labels) FILE.npy",
                    file.name
                );
            };
            let labels = read(labels)?;
            let membership = membership.map(read).transpose()?;
            provided::from_arrays(
                (&file.name, &file.bytes),
                (&labels.name, &labels.bytes),
                membership.as_ref().map(|m| (m.name.as_str(), &m.bytes[..])),
            )
        }
        _ => provided::from_csv(&file.name, &file.bytes),
    };
    let set = set.map_err(mialab::Error::from)?;
    Ok((set, Provenance::of_bytes(&file.name, &file.bytes)))
}

/// Reads every file the flags name and gives their signals; `choice` says what class columns
/// are (`--output-kind`).
pub fn load(
    args: &OutputsArgs,
    with: &Companions<'_>,
    choice: OutputKindChoice,
) -> Result<SignalsFile> {
    let path = args.outputs.as_deref().expect("called with --outputs");
    let mut outputs = if extension(path) == "npz" {
        if args.reference_outputs.is_some() || args.population_outputs.is_some() {
            bail!(
                "an .npz holds its reference and population outputs itself (reference_outputs, keep, population_outputs); leave out --reference-outputs and --population-outputs"
            );
        }
        let file = read(path)?;
        provided::from_npz(&file.name, &file.bytes).map_err(mialab::Error::from)?
    } else {
        let (audit, provenance) = output_set(path, with.labels, with.membership)?;
        ProvidedOutputs::new(provenance, audit)
    };
    if let Some(refs) = &args.reference_outputs {
        let file = read(refs)?;
        let scores = provided::read_reference_scores(&file.name, &file.bytes)
            .map_err(mialab::Error::from)?;
        let keep_path = with.keep_mask.expect("clap requires --keep-mask");
        let keep = read(keep_path)?;
        let mask =
            mialab::keep_mask::from_npy(&keep.name, &keep.bytes, scores.len(), outputs.audit.len())
                .map_err(mialab::Error::from)?;
        outputs.reference_provenance = Some(Provenance::of_bytes(
            &format!("{} (keep-mask {})", file.name, keep.name),
            &[file.bytes, keep.bytes].concat(),
        ));
        outputs.audit.references = Some(scores);
        outputs.keep = Some(mask);
    } else if with.keep_mask.is_some() && extension(path) != "npz" {
        bail!("--keep-mask goes with --reference-outputs here");
    }
    if let Some(pop) = &args.population_outputs {
        let (mut set, provenance) = output_set(pop, with.population_labels, None)?;
        if let Some(refs) = &args.population_reference_outputs {
            let file = read(refs)?;
            set.references = Some(
                provided::read_reference_scores(&file.name, &file.bytes)
                    .map_err(mialab::Error::from)?,
            );
        }
        outputs.population = Some((set, provenance));
    }
    Ok(outputs
        .into_signals_file(choice)
        .map_err(mialab::Error::from)?)
}
