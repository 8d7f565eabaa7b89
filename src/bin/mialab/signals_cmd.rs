//! `mialab signals`: run the target and reference models once and write every signal the
//! attacks read to an `.npz` file, for other tools or for `mialab audit --signals`.

use crate::audit_cmd::{InputArgs, load};
use crate::progress_bar::TerminalProgress;
use anyhow::{Context, Result};
use mialab::audit::compute_signals;
use mialab::signals_file;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct SignalsArgs {
    #[command(flatten)]
    inputs: InputArgs,
    /// Write the signals here (NumPy .npz).
    #[arg(long, value_name = "FILE.npz")]
    out: PathBuf,
}

pub fn run(args: &SignalsArgs) -> Result<()> {
    let (files, schema) = args.inputs.files()?;
    let loaded = load(&files, &schema, &args.inputs.model_options())?;
    let config = args.inputs.config();
    config.validate().map_err(mialab::Error::from)?;
    let mut progress = TerminalProgress::new(args.inputs.quiet);
    let signals = compute_signals(&loaded.input(), &config, &mut progress)?;
    progress.finish();
    let bytes = signals_file::write(
        &signals,
        (&loaded.records, &loaded.records_provenance),
        loaded.population.as_ref().map(|(r, p)| (r, p)),
        config.temperature,
    )
    .map_err(mialab::Error::from)?;
    std::fs::write(&args.out, &bytes)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "signals of {} records{}{} from {}: {} ({} bytes)",
        loaded.records.len(),
        loaded
            .population
            .as_ref()
            .map_or(String::new(), |(p, _)| format!(
                " and {} population records",
                p.len()
            )),
        signals
            .references
            .as_ref()
            .map_or(String::new(), |r| format!(
                " under {} reference models",
                r.models()
            )),
        loaded.model_provenance.source,
        args.out.display(),
        bytes.len()
    );
    Ok(())
}
