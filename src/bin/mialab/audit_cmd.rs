//! `mialab audit`: load, attack, measure, print the summary and write the report files.

use crate::inputs::{NpyCompanions, SchemaArgs, load_model, load_records};
use crate::progress_bar::TerminalProgress;
use crate::zoo_cmd;
use anyhow::{Context, Result, bail};
use mialab::audit::{AuditConfig, AuditInput, AuditOutcome, run_audit};
use mialab::model::{ModelOptions, OutputKindChoice};
use mialab::records::RecordSchema;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct AuditArgs {
    /// The target model (ONNX).
    #[arg(long, value_name = "FILE", required_unless_present = "zoo")]
    model: Option<PathBuf>,
    /// The audit set: CSV, or .npy features with --labels.
    #[arg(long, value_name = "FILE", required_unless_present = "zoo")]
    records: Option<PathBuf>,
    /// Audit a target of the bundled zoo (see `mialab zoo`) instead of naming files.
    #[arg(
        long,
        value_name = "DATASET/TARGET",
        conflicts_with_all = ["model", "records", "labels", "membership", "ids", "population", "population_labels", "population_ids"]
    )]
    zoo: Option<String>,
    /// Folder holding the zoo's manifest.json.
    #[arg(long, value_name = "DIR", default_value = "models")]
    zoo_dir: PathBuf,
    /// Labels (.npy) of .npy records.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// Membership 0/1 (.npy) of .npy records.
    #[arg(long, value_name = "FILE")]
    membership: Option<PathBuf>,
    /// Record ids of .npy records: a text file, one per line (default: row numbers).
    #[arg(long, value_name = "FILE")]
    ids: Option<PathBuf>,
    /// Population records: known non-members outside the audit set, to calibrate thresholds.
    #[arg(long, value_name = "FILE")]
    population: Option<PathBuf>,
    /// Labels (.npy) of .npy population records.
    #[arg(long, value_name = "FILE")]
    population_labels: Option<PathBuf>,
    /// Record ids of .npy population records, one per line.
    #[arg(long, value_name = "FILE")]
    population_ids: Option<PathBuf>,
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

/// The files one audit reads.
#[derive(Debug, Clone, Default)]
pub struct AuditFiles {
    pub model: PathBuf,
    pub records: PathBuf,
    pub labels: Option<PathBuf>,
    pub membership: Option<PathBuf>,
    pub ids: Option<PathBuf>,
    pub population: Option<PathBuf>,
    pub population_labels: Option<PathBuf>,
    pub population_ids: Option<PathBuf>,
}

impl AuditArgs {
    fn files(&self) -> Result<(AuditFiles, RecordSchema)> {
        let mut schema = self.schema.resolve()?;
        if let Some(name) = &self.zoo {
            let manifest = zoo_cmd::load_manifest(&self.zoo_dir)?;
            let (files, classes) = zoo_cmd::target_files(&manifest, &self.zoo_dir, name)?;
            schema.classes = Some(classes);
            return Ok((files, schema));
        }
        let (Some(model), Some(records)) = (&self.model, &self.records) else {
            bail!("name the --model and the --records to audit, or a --zoo target");
        };
        let files = AuditFiles {
            model: model.clone(),
            records: records.clone(),
            labels: self.labels.clone(),
            membership: self.membership.clone(),
            ids: self.ids.clone(),
            population: self.population.clone(),
            population_labels: self.population_labels.clone(),
            population_ids: self.population_ids.clone(),
        };
        Ok((files, schema))
    }

    fn config(&self) -> AuditConfig {
        AuditConfig {
            attacks: self.attacks.clone(),
            output_kind: match self.output_kind {
                OutputKindArg::Auto => OutputKindChoice::Auto,
                OutputKindArg::Logits => OutputKindChoice::Logits,
                OutputKindArg::Probabilities => OutputKindChoice::Probabilities,
            },
            temperature: self.temperature,
            seed: self.seed,
            bootstrap_resamples: self.bootstrap,
            alpha: self.alpha,
            delta: self.delta,
            member_prior: self.member_prior,
            batch_size: self.batch_size,
            ..AuditConfig::default()
        }
    }
}

/// Loads the files, runs the audit and returns it with a one-line description.
pub fn audit_files(
    files: &AuditFiles,
    schema: &RecordSchema,
    options: &ModelOptions,
    config: &AuditConfig,
    quiet: bool,
) -> Result<(AuditOutcome, String)> {
    let (model, model_provenance) = load_model(&files.model, options)?;
    let (records, records_provenance) = load_records(
        &files.records,
        NpyCompanions {
            labels: files.labels.as_deref(),
            membership: files.membership.as_deref(),
            ids: files.ids.as_deref(),
        },
        schema,
    )?;
    let population = match &files.population {
        Some(path) => Some(load_records(
            path,
            NpyCompanions {
                labels: files.population_labels.as_deref(),
                membership: None,
                ids: files.population_ids.as_deref(),
            },
            &schema.for_population(),
        )?),
        None => None,
    };
    let input = AuditInput {
        model: &model,
        model_provenance,
        records: &records,
        records_provenance,
        population: population.as_ref().map(|(r, p)| (r, p.clone())),
    };
    let mut progress = TerminalProgress::new(quiet);
    let outcome = run_audit(&input, config, &mut progress)?;
    progress.finish();
    let line = format!(
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
    Ok((outcome, line))
}

pub fn run(args: &AuditArgs) -> Result<()> {
    let (files, schema) = args.files()?;
    let options = ModelOptions {
        output: args.output.clone(),
    };
    let (outcome, line) = audit_files(&files, &schema, &options, &args.config(), args.quiet)?;
    println!("{line}");
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
