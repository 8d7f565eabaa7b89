//! `mialab audit`: load, attack, measure, print the summary and write the report files.

use crate::inputs::{NpyCompanions, SchemaArgs, load_model, load_records, load_references};
use crate::progress_bar::TerminalProgress;
use crate::zoo_cmd;
use anyhow::{Context, Result, bail};
use mialab::attack::{
    AttackParams, EncodedLabel, LabelOnlyParams, LiraParams, LiraVariance, RmiaA, RmiaParams,
    ShokriParams,
};
use mialab::audit::{
    AuditConfig, AuditData, AuditInput, AuditOutcome, Provenance, ReferenceInput, attack_signals,
    run_audit,
};
use mialab::augment::Augmentations;
use mialab::defence::Defence;
use mialab::gpu::BackendChoice;
use mialab::model::{Model, ModelOptions, OutputKindChoice};
use mialab::records::{RecordSchema, Records};
use mialab::signals_file;
use ndarray::Array2;
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
    /// Reference models: a folder of .onnx files (taken in file-name order) trained like the
    /// target on parts of the audit records; needs --keep-mask.
    #[arg(long, value_name = "DIR", requires = "keep_mask")]
    references: Option<PathBuf>,
    /// Which audit records each reference model trained on: .npy [models, records] of 0/1, or
    /// CSV with one column per model file name and one row per audit record.
    #[arg(long, value_name = "FILE", requires = "references")]
    keep_mask: Option<PathBuf>,
    /// With --zoo: leave out the zoo's reference models (population attacks only, faster).
    #[arg(long, requires = "zoo")]
    no_references: bool,
    #[command(flatten)]
    schema: SchemaArgs,
    /// Whether the model outputs logits or probabilities.
    #[arg(long, value_enum, default_value = "auto")]
    output_kind: OutputKindArg,
    /// Name of the model output with class scores (default: the first float output).
    #[arg(long, value_name = "NAME")]
    output: Option<String>,
    /// Softmax temperature.
    #[arg(long, default_value_t = 1.0)]
    temperature: f64,
    /// Output defence the target's API applies to every answer (repeat or comma-separate to
    /// chain, in order): top1 (label only), topk:K, round:D, temperature:T, noise:SIGMA.
    #[arg(long = "defence", value_name = "DEFENCE", value_delimiter = ',', value_parser = parse_defence)]
    defences: Vec<Defence>,
    /// Engine that runs the models: auto (the wgpu kernels on a hardware GPU where the model
    /// lowers, else tract, saying why), cpu (tract), gpu (the kernels on any adapter, software
    /// ones included; an error if the model does not lower or there is no adapter).
    #[arg(long, value_name = "auto|cpu|gpu", default_value = "auto", value_parser = parse_backend)]
    backend: BackendChoice,
    /// Records per inference call.
    #[arg(long, default_value_t = mialab::model::DEFAULT_BATCH_SIZE)]
    batch_size: usize,
    /// Images: LiRA also queries the mirrored image and averages the scores.
    #[arg(long)]
    augment_flip: bool,
    /// Images: LiRA also queries every shift of up to this many pixels (0, 1 or 2; reflect
    /// padding) and averages the scores.
    #[arg(long, value_name = "PIXELS", default_value_t = 0)]
    augment_shift: usize,
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
    /// Attacks to run (repeat or comma-separate); default: every one the inputs allow.
    #[arg(long = "attack", value_name = "NAME", value_delimiter = ',')]
    attacks: Vec<String>,
    #[command(flatten)]
    attack_params: AttackParamArgs,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write the per-record CSV (signals, scores, ranks) here.
    #[arg(long, value_name = "FILE")]
    per_record: Option<PathBuf>,
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
}

fn parse_backend(text: &str) -> std::result::Result<BackendChoice, String> {
    text.parse()
}

fn parse_defence(text: &str) -> std::result::Result<Defence, String> {
    text.parse()
        .map_err(|e: mialab::defence::DefenceError| e.to_string())
}

/// Settings of the reference-model attacks.
#[derive(clap::Args, Clone, Debug)]
pub struct AttackParamArgs {
    /// LiRA's variance: fixed (one σ for all records) below 64 reference models, per record above.
    #[arg(long, value_enum, default_value = "auto")]
    lira_variance: LiraVarianceArg,
    /// Offline RMIA's a in [0, 1], or "tune" to choose it on reference model 0 as a stand-in target.
    #[arg(long, value_name = "A|tune", default_value = "0.3", value_parser = parse_rmia_a)]
    rmia_a: RmiaA,
    /// RMIA's likelihood-ratio threshold γ.
    #[arg(long, default_value_t = 1.0)]
    rmia_gamma: f64,
    /// L2 penalty of the Shokri attack's logistic regressions.
    #[arg(long, default_value_t = ShokriParams::default().l2)]
    shokri_l2: f64,
    /// L-BFGS iterations of the Shokri attack's logistic regressions.
    #[arg(long, default_value_t = ShokriParams::default().max_iterations)]
    shokri_iterations: u64,
    /// The code-poison attack reads the record's own label on its encoded query instead of the
    /// secret label.
    #[arg(long)]
    code_poison_true_label: bool,
    /// Noisy copies per tabular record for the label-only attack (images use 18 flips/shifts).
    #[arg(long, default_value_t = LabelOnlyParams::default().queries)]
    label_only_queries: usize,
    /// Label-only noise, in standard deviations of each feature.
    #[arg(long, default_value_t = LabelOnlyParams::default().sigma)]
    label_only_sigma: f64,
}

impl Default for AttackParamArgs {
    fn default() -> Self {
        AttackParamArgs {
            lira_variance: LiraVarianceArg::Auto,
            rmia_a: RmiaA::Fixed(RmiaParams::DEFAULT_A),
            rmia_gamma: 1.0,
            shokri_l2: ShokriParams::default().l2,
            shokri_iterations: ShokriParams::default().max_iterations,
            code_poison_true_label: false,
            label_only_queries: LabelOnlyParams::default().queries,
            label_only_sigma: LabelOnlyParams::default().sigma,
        }
    }
}

impl AttackParamArgs {
    pub fn params(&self) -> AttackParams {
        AttackParams {
            lira: LiraParams {
                variance: match self.lira_variance {
                    LiraVarianceArg::Auto => LiraVariance::Auto,
                    LiraVarianceArg::Fixed => LiraVariance::Fixed,
                    LiraVarianceArg::PerRecord => LiraVariance::PerRecord,
                },
            },
            rmia: RmiaParams {
                a: self.rmia_a,
                gamma: self.rmia_gamma,
            },
            shokri: ShokriParams {
                l2: self.shokri_l2,
                max_iterations: self.shokri_iterations,
            },
            code_poison: if self.code_poison_true_label {
                EncodedLabel::True
            } else {
                EncodedLabel::Secret
            },
            label_only: LabelOnlyParams {
                queries: self.label_only_queries,
                sigma: self.label_only_sigma,
            },
        }
    }
}

fn parse_rmia_a(text: &str) -> Result<RmiaA, String> {
    if text.eq_ignore_ascii_case("tune") {
        return Ok(RmiaA::Tuned);
    }
    text.parse::<f64>()
        .map(RmiaA::Fixed)
        .map_err(|_| format!("'{text}' is neither a number in [0, 1] nor 'tune'"))
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LiraVarianceArg {
    Auto,
    Fixed,
    PerRecord,
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
            references: match (&self.references, &self.keep_mask) {
                (Some(dir), Some(mask)) => Some(ReferenceFiles::from_dir(dir, mask)?),
                _ => None,
            },
        };
        Ok((files, schema))
    }

    pub fn model_options(&self) -> ModelOptions {
        ModelOptions {
            output: self.output.clone(),
        }
    }

    /// The audit settings these inputs fix; the rest keep their defaults.
    pub fn config(&self) -> AuditConfig {
        AuditConfig {
            output_kind: match self.output_kind {
                OutputKindArg::Auto => OutputKindChoice::Auto,
                OutputKindArg::Logits => OutputKindChoice::Logits,
                OutputKindArg::Probabilities => OutputKindChoice::Probabilities,
            },
            temperature: self.temperature,
            defences: self.defences.clone(),
            backend: self.backend,
            batch_size: self.batch_size,
            augmentations: Augmentations {
                flip: self.augment_flip,
                shift: self.augment_shift,
            },
            ..AuditConfig::default()
        }
    }
}

impl AuditArgs {
    fn config(&self) -> AuditConfig {
        AuditConfig {
            attacks: self.attacks.clone(),
            seed: self.seed,
            bootstrap_resamples: self.bootstrap,
            alpha: self.alpha,
            delta: self.delta,
            member_prior: self.member_prior,
            attack_params: self.attack_params.params(),
            ..self.inputs.config()
        }
    }
}

/// Everything an audit's models run on, loaded.
pub struct Loaded {
    pub model: Model,
    pub model_provenance: Provenance,
    pub records: Records,
    pub records_provenance: Provenance,
    pub population: Option<(Records, Provenance)>,
    pub references: Option<LoadedReferences>,
}

/// Reference models in keep-mask column order, the mask `[records, models]`, and names.
pub struct LoadedReferences {
    pub models: Vec<Model>,
    pub keep: Array2<bool>,
    pub provenance: Provenance,
    pub names: Vec<String>,
}

impl Loaded {
    pub fn input(&self) -> AuditInput<'_> {
        AuditInput {
            model: &self.model,
            model_provenance: self.model_provenance.clone(),
            data: self.data(),
            references: self.references.as_ref().map(|r| ReferenceInput {
                models: &r.models,
                names: r.names.clone(),
                keep: r.keep.clone(),
                provenance: r.provenance.clone(),
            }),
        }
    }

    pub fn data(&self) -> AuditData<'_> {
        AuditData {
            records: &self.records,
            records_provenance: self.records_provenance.clone(),
            population: self.population.as_ref().map(|(r, p)| (r, p.clone())),
        }
    }
}

/// Loads the model, records, population and reference set `files` name.
pub fn load(files: &AuditFiles, schema: &RecordSchema, options: &ModelOptions) -> Result<Loaded> {
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
    let references = files
        .references
        .as_ref()
        .map(|r| {
            load_references(r, options, records.len()).map(|(models, keep, provenance)| {
                LoadedReferences {
                    models,
                    keep,
                    provenance,
                    names: r.models.iter().map(|p| p.display().to_string()).collect(),
                }
            })
        })
        .transpose()?;
    Ok(Loaded {
        model,
        model_provenance,
        records,
        records_provenance,
        population,
        references,
    })
}

/// Loads the files, runs the audit and returns it with a one-line description.
pub fn audit_files(
    files: &AuditFiles,
    schema: &RecordSchema,
    options: &ModelOptions,
    config: &AuditConfig,
    quiet: bool,
) -> Result<(AuditOutcome, String)> {
    let loaded = load(files, schema, options)?;
    let mut progress = TerminalProgress::new(quiet);
    let outcome = run_audit(&loaded.input(), config, &mut progress)?;
    progress.finish();
    let line = describe(&outcome, &loaded.records);
    Ok((outcome, line))
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
    let data = AuditData {
        records: &file.records,
        records_provenance: file.meta.records.clone(),
        population: file.population.as_ref().zip(file.meta.population.clone()),
    };
    let config = AuditConfig {
        temperature: file.meta.temperature,
        defences: file.signals.defences.clone(),
        ..config.clone()
    };
    let mut progress = TerminalProgress::new(quiet);
    let outcome = attack_signals(&data, &file.signals, &config, &mut progress)?;
    progress.finish();
    let line = describe(&outcome, &file.records);
    Ok((outcome, line))
}

pub fn run(args: &AuditArgs) -> Result<()> {
    let (outcome, line) = match &args.signals {
        Some(path) => audit_signals_file(path, &args.config(), args.inputs.quiet)?,
        None => {
            let (files, schema) = args.inputs.files()?;
            let options = args.inputs.model_options();
            audit_files(&files, &schema, &options, &args.config(), args.inputs.quiet)?
        }
    };
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
