//! `mialab audit`: load, attack, measure, print the summary and write the report files.

use crate::inputs::{NpyCompanions, SchemaArgs, load_model, load_records, load_references};
use crate::progress_bar::TerminalProgress;
use crate::provided_cmd::{self, Companions, OutputsArgs};
use crate::settings_args::{AttackArgs, SignalArgs};
use crate::zoo_cmd;
use anyhow::{Context, Result, bail};
use mialab::Session;
use mialab::audit::AuditOutcome;
use mialab::config::AuditConfig;
use mialab::model::ModelOptions;
use mialab::records::{RecordSchema, Records};
use mialab::report::verify;
use mialab::signals_file;
use std::path::{Path, PathBuf};

/// What the models run on: the target, the records, the population and the references,
/// named as files or as a zoo target, and how outputs become signals.
#[derive(clap::Args)]
pub struct InputArgs {
    /// The target model (ONNX).
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// The audit set: CSV, or .npy features with --labels.
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
    /// Audit a target of the bundled zoo (see `mialab zoo`) instead of naming files; its
    /// reference set comes with it.
    #[arg(
        long,
        value_name = "DATASET/TARGET",
        conflicts_with_all = ["model", "records", "labels", "membership", "ids", "population", "population_labels", "population_ids", "references"]
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
    /// Record ids of .npy records: a text file, one per line (default: ids from each record's content).
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
    /// Reference models: a folder of .onnx files (taken in file-name order) trained like the
    /// target on parts of the audit records; needs --keep-mask.
    #[arg(long, value_name = "DIR", requires = "keep_mask")]
    references: Option<PathBuf>,
    /// Which audit records each reference model trained on: .npy [models, records] of 0/1, or
    /// CSV with one column per model file name and one row per audit record.
    #[arg(long, value_name = "FILE")]
    keep_mask: Option<PathBuf>,
    /// With --zoo: leave out the zoo's reference models (population attacks only, faster).
    #[arg(long, requires = "zoo")]
    no_references: bool,
    #[command(flatten)]
    schema: SchemaArgs,
    /// Name of the model output with class scores (default: the first float output).
    #[arg(long, value_name = "NAME")]
    output: Option<String>,
    #[command(flatten)]
    pub signal_args: SignalArgs,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(flatten)]
    inputs: InputArgs,
    /// Attack the signals of a file written by `mialab signals` instead of running models.
    #[arg(long, value_name = "FILE.npz", conflicts_with_all = ["model", "records", "zoo", "references", "population"])]
    signals: Option<PathBuf>,
    #[command(flatten)]
    provided: OutputsArgs,
    #[command(flatten)]
    attack_args: AttackArgs,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write the per-record CSV (signals, scores, ranks) here.
    #[arg(long, value_name = "FILE")]
    per_record: Option<PathBuf>,
    /// Write the report to hand over here: one self-contained HTML file (charts as inline
    /// SVG, no script or request; prints to PDF from a browser).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Run the audit a report records again, with its settings, on the inputs named here, and
    /// say whether it reproduces: the same input hashes and the same report, file names aside.
    #[arg(long, value_name = "REPORT.json")]
    verify: Option<PathBuf>,
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
    pub references: Option<ReferenceFiles>,
}

/// Reference models in keep-mask column order, and the keep-mask.
#[derive(Debug, Clone)]
pub struct ReferenceFiles {
    /// Names the set in the report.
    pub source: String,
    pub models: Vec<PathBuf>,
    pub keep_mask: PathBuf,
}

impl ReferenceFiles {
    /// Every `.onnx` file of `dir`, sorted by file name.
    pub fn from_dir(dir: &Path, keep_mask: &Path) -> Result<ReferenceFiles> {
        let mut models: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list the reference models in {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
            })
            .collect();
        models.sort();
        if models.is_empty() {
            bail!("{} holds no .onnx reference models", dir.display());
        }
        Ok(ReferenceFiles {
            source: dir.display().to_string(),
            models,
            keep_mask: keep_mask.to_path_buf(),
        })
    }
}

impl InputArgs {
    /// The files to load and how to read CSV records.
    pub fn files(&self) -> Result<(AuditFiles, RecordSchema)> {
        let mut schema = self.schema.resolve()?;
        if let Some(name) = &self.zoo {
            let manifest = zoo_cmd::load_manifest(&self.zoo_dir)?;
            let (mut files, classes) = zoo_cmd::target_files(&manifest, &self.zoo_dir, name)?;
            if self.no_references {
                files.references = None;
            }
            schema.classes = Some(classes);
            return Ok((files, schema));
        }
        let (Some(model), Some(records)) = (&self.model, &self.records) else {
            bail!(
                "name the --model and the --records to audit, a --zoo target, or the target's --outputs"
            );
        };
        if self.keep_mask.is_some() && self.references.is_none() {
            bail!("--keep-mask goes with --references (or, with --outputs, --reference-outputs)");
        }
        let files = AuditFiles {
            model: model.clone(),
            records: records.clone(),
            labels: self.labels.clone(),
            membership: self.membership.clone(),
            ids: self.ids.clone(),
            population: self.population.clone(),
            population_labels: self.population_labels.clone(),
            population_ids: self.population_ids.clone(),
            references: match (&self.references, &self.keep_mask) {
                (Some(dir), Some(mask)) => Some(ReferenceFiles::from_dir(dir, mask)?),
                _ => None,
            },
        };
        Ok((files, schema))
    }

    /// The flags that go with `--outputs` given as `.npy`.
    fn companions(&self) -> Companions<'_> {
        Companions {
            labels: self.labels.as_deref(),
            membership: self.membership.as_deref(),
            population_labels: self.population_labels.as_deref(),
            keep_mask: self.keep_mask.as_deref(),
        }
    }

    pub fn model_options(&self) -> ModelOptions {
        ModelOptions {
            output: self.output.clone(),
        }
    }

    /// The audit settings these inputs' flags fix; the rest keep their defaults.
    pub fn config(&self) -> AuditConfig {
        let mut config = AuditConfig::default();
        self.signal_args.apply(&mut config);
        config
    }
}

impl AuditArgs {
    fn config(&self) -> AuditConfig {
        let mut config = self.inputs.config();
        self.attack_args.apply(&mut config);
        config
    }
}

/// A session holding the model, records, population and reference set `files` name.
pub fn load(files: &AuditFiles, schema: &RecordSchema, options: &ModelOptions) -> Result<Session> {
    let mut session = Session::new();
    let (model, provenance) = load_model(&files.model, options)?;
    session.set_target(model, provenance);
    let (records, provenance) = load_records(
        &files.records,
        NpyCompanions {
            labels: files.labels.as_deref(),
            membership: files.membership.as_deref(),
            ids: files.ids.as_deref(),
        },
        schema,
    )?;
    let ids = records.ids.clone();
    session.set_records(records, provenance);
    if let Some(path) = &files.population {
        session.set_population(Some(load_records(
            path,
            NpyCompanions {
                labels: files.population_labels.as_deref(),
                membership: None,
                ids: files.population_ids.as_deref(),
            },
            &schema.for_population(),
        )?));
    }
    if let Some(refs) = &files.references {
        let (models, keep, provenance) = load_references(refs, options, &ids)?;
        for (model, provenance) in models {
            session.add_reference(model, provenance);
        }
        session
            .set_keep_mask(keep, provenance)
            .map_err(mialab::Error::from)?;
    }
    Ok(session)
}

/// Loads the files, runs the audit and returns it with a one-line description.
pub fn audit_files(
    files: &AuditFiles,
    schema: &RecordSchema,
    options: &ModelOptions,
    config: &AuditConfig,
    quiet: bool,
) -> Result<(AuditOutcome, String)> {
    let mut session = load(files, schema, options)?;
    audit_session(&mut session, config, quiet)
}

/// Runs the audit `config` asks for on a loaded session.
fn audit_session(
    session: &mut Session,
    config: &AuditConfig,
    quiet: bool,
) -> Result<(AuditOutcome, String)> {
    let mut progress = TerminalProgress::new(quiet);
    let run = session.audit(config, &mut progress)?;
    progress.finish();
    let line = describe(
        &run.outcome,
        session.records().map_err(mialab::Error::from)?,
    );
    Ok((run.outcome, line))
}

fn describe(outcome: &AuditOutcome, records: &Records) -> String {
    let engine = outcome
        .report
        .model
        .backend
        .as_ref()
        .map_or(String::new(), |b| format!("\nthe target ran on: {b}"));
    format!(
        "audited {} records ({}) of {} with {} attacks{engine}",
        records.len(),
        records
            .membership_counts()
            .map_or("membership unknown".to_string(), |(m, n)| format!(
                "{m} members, {n} non-members"
            )),
        outcome.report.model.source,
        outcome.report.attacks.len(),
    )
}

/// Attacks the signals stored in a `mialab signals` file.
fn audit_signals_file(
    path: &Path,
    config: &AuditConfig,
    quiet: bool,
) -> Result<(AuditOutcome, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file =
        signals_file::read(&path.display().to_string(), &bytes).map_err(mialab::Error::from)?;
    audit_session(&mut Session::from_signals_file(file), config, quiet)
}

pub fn run(args: &AuditArgs) -> Result<()> {
    let recorded = match &args.verify {
        Some(path) => Some(read_report(path, &args.config())?),
        None => None,
    };
    let config = match &recorded {
        Some((_, config)) => config.clone(),
        None => args.config(),
    };
    let (outcome, line) = match (&args.signals, &args.provided.outputs) {
        (Some(path), _) => audit_signals_file(path, &config, args.inputs.quiet)?,
        (None, Some(_)) => {
            let file = provided_cmd::load(
                &args.provided,
                &args.inputs.companions(),
                config.signals.output_kind,
            )?;
            audit_session(
                &mut Session::from_provided_outputs(file),
                &config,
                args.inputs.quiet,
            )?
        }
        (None, None) => {
            let (files, schema) = args.inputs.files()?;
            let options = args.inputs.model_options();
            audit_files(&files, &schema, &options, &config, args.inputs.quiet)?
        }
    };
    if let (Some((report, _)), Some(path)) = (&recorded, &args.verify) {
        return verify(path, report, &outcome);
    }
    println!("{line}");
    print!("{}", outcome.report.summary_table());
    for attack in &outcome.report.attacks {
        if let Some(warning) = &attack.warning {
            println!("warning ({}): {warning}", attack.id);
        }
    }
    for warning in &outcome.report.warnings {
        println!("warning: {warning}");
    }
    if let Some(path) = &args.out {
        write(path, &outcome.report.to_json()?)?;
        println!("report:     {}", path.display());
    }
    if let Some(path) = &args.html {
        let html =
            mialab::report::html::render(&outcome.report, &outcome.per_class, &outcome.per_record);
        write(path, &html)?;
        println!("html:       {}", path.display());
    }
    if let Some(path) = &args.per_record {
        write_per_record(path, &outcome.per_record)?;
        println!("per record: {}", path.display());
    }
    Ok(())
}

/// The report `--verify` names and the settings it records; setting flags beside it are
/// refused, since the report's settings are the ones to run again.
fn read_report(path: &Path, flags: &AuditConfig) -> Result<(serde_json::Value, AuditConfig)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JSON report", path.display()))?;
    let config = verify::recorded_config(&report)
        .map_err(mialab::Error::from)
        .with_context(|| format!("reading {}", path.display()))?;
    if *flags != AuditConfig::default() {
        bail!(
            "--verify runs the audit with the settings {} records; leave out the setting flags (attacks, seed, defences, attack and metric parameters)",
            path.display()
        );
    }
    Ok((report, config))
}

/// Says whether the rerun reproduces the recorded report; an error (exit status 1) if not.
fn verify(path: &Path, recorded: &serde_json::Value, rerun: &AuditOutcome) -> Result<()> {
    let rerun: serde_json::Value = serde_json::from_str(&rerun.report.to_json()?)?;
    let verdict = verify::compare(recorded, &rerun);
    if verdict.reproduces() {
        println!(
            "reproduces: {} with the same inputs (by SHA-256) gives the same report, file names aside",
            path.display()
        );
        return Ok(());
    }
    let mut lines = verdict.changed_inputs.clone();
    if verdict.difference_count > 0 {
        lines.push(format!(
            "{} values differ, e.g.:\n  {}",
            verdict.difference_count,
            verdict.differences.join("\n  ")
        ));
    }
    bail!(
        "does not reproduce {}:\n{}",
        path.display(),
        lines.join("\n")
    )
}

/// The per-record table, written row by row (a million-record table is never one string).
fn write_per_record(path: &Path, table: &mialab::report::PerRecordTable) -> Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    table
        .write_csv(std::io::BufWriter::new(file), 0..table.len())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
