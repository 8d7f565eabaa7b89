//! `mialab signals`: run the target and reference models once and write every signal the
//! attacks read to an `.npz` file, for other tools or for `mialab audit --signals`.

use crate::audit_cmd::{InputArgs, load};
use crate::progress_bar::TerminalProgress;
use anyhow::{Context, Result};
use mialab::signals_file::Packing;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct SignalsArgs {
    #[command(flatten)]
    inputs: InputArgs,
    /// Write the signals here (NumPy .npz).
    #[arg(long, value_name = "FILE.npz")]
    out: PathBuf,
    /// Compute what these attacks read (repeat or comma-separate); default: what every
    /// attack an audit runs without naming any reads (the quantile regressor, which trains
    /// a network, only when named).
    #[arg(long = "attack", value_name = "NAME", value_delimiter = ',')]
    attacks: Vec<String>,
}

pub fn run(args: &SignalsArgs) -> Result<()> {
    let (files, schema) = args.inputs.files()?;
    let mut session = load(&files, &schema, &args.inputs.model_options())?;
    let mut config = args.inputs.config();
    config.attacks = args.attacks.clone();
    let mut progress = TerminalProgress::new(args.inputs.quiet);
    session.compute_signals(&config, &mut progress)?;
    progress.finish();
    let bytes = session.signals_file(config.signals.temperature, Packing::Deflated)?;
    let signals = session.signals().expect("computed");
    let records = session.records().map_err(mialab::Error::from)?;
    std::fs::write(&args.out, &bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "signals of {} records{}{} from {}: {} ({} bytes)",
        records.len(),
        session.population().map_or(String::new(), |p| format!(
            " and {} population records",
            p.len()
        )),
        signals
            .audit
            .references
            .as_ref()
            .map_or(String::new(), |r| format!(
                " under {} reference models",
                r.models()
            )),
        signals.model.source,
        args.out.display(),
        bytes.len()
    );
    Ok(())
}
