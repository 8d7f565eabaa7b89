//! `mialab audit`: load, attack, measure, print the summary and write the report files.

use crate::inputs::{SchemaArgs, load_model, load_records};
use crate::progress_bar::TerminalProgress;
use anyhow::{Context, Result};
use mialab::audit::{AuditConfig, AuditInput, run_audit};
use mialab::model::{ModelOptions, OutputKindChoice};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct AuditArgs {
    /// The target model (ONNX).
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// The audit set: CSV, or .npy features with --labels.
    #[arg(long, value_name = "FILE")]
    records: PathBuf,
    /// Labels (.npy) of .npy records.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// Membership 0/1 (.npy) of .npy records.
    #[arg(long, value_name = "FILE")]
    membership: Option<PathBuf>,
    /// Population records: known non-members outside the audit set, to calibrate thresholds.
    #[arg(long, value_name = "FILE")]
    population: Option<PathBuf>,
    /// Labels (.npy) of .npy population records.
    #[arg(long, value_name = "FILE")]
    population_labels: Option<PathBuf>,
    #[command(flatten)]
    schema: SchemaArgs,
    /// Attacks to run (repeat or comma-separate); default: every one the inputs allow.
    #[arg(long = "attack", value_name = "NAME", value_delimiter = ',')]
    attacks: Vec<String>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write the per-record CSV (signals, scores, ranks) here.
    #[arg(long, value_name = "FILE")]
    per_record: Option<PathBuf>,
    /// Whether the model outputs logits or probabilities.
    #[arg(long, value_enum, default_value = "auto")]
    output_kind: OutputKindArg,
    /// Name of the model output with class scores (default: the first float output).
    #[arg(long, value_name = "NAME")]
    output: Option<String>,
    /// Softmax temperature.
    #[arg(long, default_value_t = 1.0)]
    temperature: f64,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Bootstrap resamples for the AUC interval (at least 200).
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Significance level of confidence intervals.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// δ of the empirical ε lower bound.
    #[arg(long, default_value_t = 1e-5)]
    delta: f64,
    /// Fraction of members among those attacked, for PPV.
    #[arg(long, default_value_t = 0.01)]
    member_prior: f64,
    /// Records per inference call.
    #[arg(long, default_value_t = mialab::model::DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum OutputKindArg {
    Auto,
    Logits,
    Probabilities,
}

pub fn run(args: &AuditArgs) -> Result<()> {
    let schema = args.schema.resolve()?;
    let options = ModelOptions {
        output: args.output.clone(),
    };
    let (model, model_provenance) = load_model(&args.model, &options)?;
    let (records, records_provenance) = load_records(
        &args.records,
        args.labels.as_deref(),
        args.membership.as_deref(),
        &schema,
    )?;
    let population = match &args.population {
        Some(path) => Some(load_records(
            path,
            args.population_labels.as_deref(),
            None,
            &schema.for_population(),
        )?),
        None => None,
    };
    let config = AuditConfig {
        attacks: args.attacks.clone(),
        output_kind: match args.output_kind {
            OutputKindArg::Auto => OutputKindChoice::Auto,
            OutputKindArg::Logits => OutputKindChoice::Logits,
            OutputKindArg::Probabilities => OutputKindChoice::Probabilities,
        },
        temperature: args.temperature,
        seed: args.seed,
        bootstrap_resamples: args.bootstrap,
        alpha: args.alpha,
        delta: args.delta,
        member_prior: args.member_prior,
        batch_size: args.batch_size,
        ..AuditConfig::default()
    };
    let input = AuditInput {
        model: &model,
        model_provenance,
        records: &records,
        records_provenance,
        population: population.as_ref().map(|(r, p)| (r, p.clone())),
    };
    let mut progress = TerminalProgress::new(args.quiet);
    let outcome = run_audit(&input, &config, &mut progress)?;
    progress.finish();

    println!(
        "audited {} records ({}) of {} with {} attacks",
        records.len(),
        records
            .membership_counts()
            .map_or("membership unknown".to_string(), |(m, n)| format!(
                "{m} members, {n} non-members"
            )),
        input.model_provenance.source,
        outcome.report.attacks.len()
    );
    print!("{}", outcome.report.summary_table());
    if let Some(path) = &args.out {
        write(path, &outcome.report.to_json()?)?;
        println!("report:     {}", path.display());
    }
    if let Some(path) = &args.per_record {
        write(path, &outcome.per_record.to_csv()?)?;
        println!("per record: {}", path.display());
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
