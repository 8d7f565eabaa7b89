//! `mialab train-references`: K reference models of the target's architecture trained here on
//! random halves of the audit records, written as ONNX files with their keep-mask, ready for
//! `mialab audit --references DIR --keep-mask DIR/keep.npy`.

use crate::audit_cmd::AuditFiles;
use crate::inputs::{NpyCompanions, SchemaArgs, display_name, load_model, load_records};
use crate::zoo_cmd;
use anyhow::{Context, Result, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use mialab::model::{Model, ModelOptions};
use mialab::progress::NoProgress;
use mialab::records::Records;
use mialab::train::references::{
    DeviceChoice, RecipeMatch, TrainedReference, choose_device, keep_mask, output_classes,
    train_references,
};
use mialab::train::{OptimizerKind, Recipe, Schedule, Standardize, to_onnx};
use ndarray_npy::WriteNpyExt;
use serde::Serialize;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct TrainArgs {
    /// The target model (ONNX) whose architecture the references copy.
    #[arg(long, value_name = "FILE", required_unless_present = "zoo")]
    model: Option<PathBuf>,
    /// The audit records the references train on halves of: CSV, or .npy features with --labels.
    #[arg(long, value_name = "FILE", required_unless_present = "zoo")]
    records: Option<PathBuf>,
    /// Labels (.npy) of .npy records.
    #[arg(long, value_name = "FILE")]
    labels: Option<PathBuf>,
    /// Membership 0/1 (.npy) of .npy records, when known: the target's accuracy on members
    /// and non-members is then compared with the references'.
    #[arg(long, value_name = "FILE")]
    membership: Option<PathBuf>,
    /// Record ids of .npy records, one per line.
    #[arg(long, value_name = "FILE")]
    ids: Option<PathBuf>,
    /// Population records (no reference model trains on them): the target's and the
    /// references' accuracy on them is compared.
    #[arg(long, value_name = "FILE")]
    population: Option<PathBuf>,
    /// Labels (.npy) of .npy population records.
    #[arg(long, value_name = "FILE")]
    population_labels: Option<PathBuf>,
    /// Train references for a target of the bundled zoo (its model, audit records and
    /// population) instead of naming files.
    #[arg(long, value_name = "DATASET/TARGET", conflicts_with_all = ["model", "records", "labels", "membership", "ids", "population", "population_labels"])]
    zoo: Option<String>,
    /// Folder holding the zoo's manifest.json.
    #[arg(long, value_name = "DIR", default_value = "models")]
    zoo_dir: PathBuf,
    #[command(flatten)]
    schema: SchemaArgs,
    /// Name of the target's output with class scores (default: the first float output).
    #[arg(long, value_name = "NAME")]
    output: Option<String>,
    /// How many reference models (every audit record is IN for half of them).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(2..=1024))]
    k: u16,
    /// Epochs [default: 300 for a dense network, 40 for one with convolutions].
    #[arg(long)]
    epochs: Option<usize>,
    /// Learning rate.
    #[arg(long, default_value_t = Recipe::default().learning_rate)]
    lr: f64,
    #[arg(long, default_value_t = Recipe::default().batch_size)]
    batch_size: usize,
    #[arg(long, value_enum, default_value_t = Recipe::default().optimizer)]
    optimizer: OptimizerKind,
    /// Weight decay on weights (L2 for SGD and Adam, decoupled for AdamW).
    #[arg(long, default_value_t = Recipe::default().weight_decay)]
    weight_decay: f64,
    /// SGD's momentum.
    #[arg(long, default_value_t = Recipe::default().momentum)]
    momentum: f64,
    #[arg(long, value_enum, default_value_t = Recipe::default().schedule)]
    schedule: Schedule,
    /// Standardise the inputs of a network that starts with a dense layer by the audit
    /// records' mean and standard deviation (a fixed layer exported with each model): auto
    /// when some feature's mean or standard deviation exceeds 10 in size (raw measurements,
    /// as a pipeline's folded StandardScaler leaves them).
    #[arg(long, value_enum, default_value_t = Recipe::default().standardize)]
    standardize: Standardize,
    /// Seed of the keep-mask and of every model's initial values, batch order and dropout.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder to write ref-NN.onnx, keep.npy and training.json into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Where the models train: auto (the GPU's training kernels on a hardware adapter, else
    /// the CPU), cpu, or gpu (whatever the adapter).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Auto)]
    device: DeviceChoice,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

impl TrainArgs {
    fn recipe(&self) -> Recipe {
        Recipe {
            optimizer: self.optimizer,
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.lr,
            momentum: self.momentum,
            weight_decay: self.weight_decay,
            schedule: self.schedule,
            standardize: self.standardize,
        }
    }

    fn files(&self) -> Result<(AuditFiles, mialab::records::RecordSchema)> {
        let mut schema = self.schema.resolve()?;
        if let Some(name) = &self.zoo {
            let manifest = zoo_cmd::load_manifest(&self.zoo_dir)?;
            let (files, classes) = zoo_cmd::target_files(&manifest, &self.zoo_dir, name)?;
            schema.classes = Some(classes);
            return Ok((files, schema));
        }
        let (Some(model), Some(records)) = (&self.model, &self.records) else {
            bail!("name the target --model and the audit --records, or a --zoo target");
        };
        Ok((
            AuditFiles {
                model: model.clone(),
                records: records.clone(),
                labels: self.labels.clone(),
                membership: self.membership.clone(),
                ids: self.ids.clone(),
                population: self.population.clone(),
                population_labels: self.population_labels.clone(),
                ..AuditFiles::default()
            },
            schema,
        ))
    }
}

/// What `training.json` records.
#[derive(Serialize)]
struct TrainingLog<'a> {
    target: String,
    records: String,
    models: usize,
    seed: u64,
    recipe: &'a Recipe,
    epochs: usize,
    /// Where the models trained, and why there.
    device: String,
    seconds: f64,
    records_epochs_per_second: f64,
    recipe_match: &'a RecipeMatch,
    references: Vec<ReferenceLog>,
}

#[derive(Serialize)]
struct ReferenceLog {
    file: String,
    accuracy: mialab::train::references::Accuracy,
    losses: Vec<f64>,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let (files, schema) = args.files()?;
    let options = ModelOptions {
        output: args.output.clone(),
    };
    let (target, _) = load_model(&files.model, &options)?;
    let architecture = target
        .architecture()
        .map_err(|e| anyhow::anyhow!("{} cannot be retrained here: {e}", files.model.display()))?
        .clone();
    let (records, _) = load_records(
        &files.records,
        NpyCompanions {
            labels: files.labels.as_deref(),
            membership: files.membership.as_deref(),
            ids: files.ids.as_deref(),
        },
        &schema,
    )?;
    target
        .check_records(records.features.shape(), "the records")
        .map_err(mialab::Error::from)?;
    let population = match &files.population {
        Some(path) => Some(
            load_records(
                path,
                NpyCompanions {
                    labels: files.population_labels.as_deref(),
                    ..NpyCompanions::default()
                },
                &schema.for_population(),
            )?
            .0,
        ),
        None => None,
    };
    let recipe = args.recipe();
    recipe
        .validate()
        .map_err(mialab::train::TrainError::from)
        .map_err(mialab::Error::from)?;
    let models = usize::from(args.k);
    let keep = keep_mask(records.len(), models, args.seed);
    let epochs = recipe.epochs_for(&architecture);
    let (device, device_words) =
        choose_device(args.device, &architecture).map_err(mialab::Error::from)?;
    eprintln!(
        "training {models} reference models ({}, {} parameters) on halves of {} records: {epochs} epochs of {:?}, learning rate {}, batches of {}, on {device_words}",
        architecture.describe(),
        architecture.parameters(),
        records.len(),
        recipe.optimizer,
        recipe.learning_rate,
        recipe.batch_size
    );
    let width = format!("{}", models - 1).len().max(2);
    let names: Vec<String> = (0..models)
        .map(|k| format!("ref-{k:0width$}.onnx"))
        .collect();
    refuse_other_models(&args.out, &names)?;
    let bars = Bars::new(models, epochs, args.quiet);
    let start = std::time::Instant::now();
    let trained = train_references(
        &architecture,
        &records,
        &keep,
        &recipe,
        args.seed,
        device,
        &|k, end| {
            bars.epoch(k, end.epoch, end.loss);
            ControlFlow::Continue(())
        },
    )
    .map_err(mialab::Error::from)?;
    bars.finish();
    let seconds = start.elapsed().as_secs_f64();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let input = &target.info().input.name;
    let output = &target.info().used_output;
    let mut logs = Vec::new();
    for reference in &trained {
        let name = names[reference.index].clone();
        let bytes = to_onnx(
            &reference.network,
            input,
            output,
            &format!("mialab reference {}", reference.index),
        );
        let path = args.out.join(&name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        logs.push(ReferenceLog {
            file: name,
            accuracy: reference.accuracy,
            losses: reference.losses.clone(),
        });
    }
    let keep_path = args.out.join("keep.npy");
    std::fs::File::create(&keep_path)
        .map_err(anyhow::Error::from)
        .and_then(|file| Ok(keep.write_npy(std::io::BufWriter::new(file))?))
        .with_context(|| format!("cannot write {}", keep_path.display()))?;

    let matched = recipe_match(&target, &records, population.as_ref(), &trained)?;
    let trained_records: usize = keep.iter().filter(|&&k| k).count();
    let log = TrainingLog {
        target: display_name(&files.model),
        records: display_name(&files.records),
        models,
        seed: args.seed,
        recipe: &recipe,
        epochs,
        device: device_words,
        seconds,
        records_epochs_per_second: (trained_records * epochs) as f64 / seconds.max(1e-9),
        recipe_match: &matched,
        references: logs,
    };
    let log_path = args.out.join("training.json");
    std::fs::write(&log_path, serde_json::to_string_pretty(&log)? + "\n")
        .with_context(|| format!("cannot write {}", log_path.display()))?;
    print_summary(&matched, &log, &args.out, &keep_path);
    Ok(())
}

/// Refuses a folder that holds ONNX files this run would not overwrite: `audit --references`
/// reads every `.onnx` file of the folder, and a stale one would join the new set.
fn refuse_other_models(out: &Path, names: &[String]) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(out) else {
        return Ok(());
    };
    let others: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.to_ascii_lowercase().ends_with(".onnx") && !names.contains(n))
        .collect();
    if let Some(first) = others.first() {
        bail!(
            "{} already holds {} ONNX file(s) this run would not replace ({first}, ...): `audit --references` would read them with the new models; choose an empty folder",
            out.display(),
            others.len()
        );
    }
    Ok(())
}

/// The target's predictions beside the references' accuracies.
fn recipe_match(
    target: &Model,
    records: &Records,
    population: Option<&Records>,
    trained: &[TrainedReference],
) -> Result<RecipeMatch> {
    let classes = |features| -> Result<Vec<usize>> {
        let output = target
            .predict(features, 1024, &mut NoProgress)
            .map_err(mialab::Error::from)?;
        Ok(output_classes(&output))
    };
    let on_audit = classes(&records.features)?;
    let population = match population {
        Some(pop) => {
            let features: Vec<f32> = pop.features.iter().copied().collect();
            let references = trained
                .iter()
                .map(|r| {
                    let predicted = mialab::train::references::predict_classes(
                        &r.network,
                        &features,
                        pop.len(),
                    )?;
                    Ok(predicted
                        .iter()
                        .zip(&pop.labels)
                        .filter(|(p, y)| p == y)
                        .count() as f64
                        / pop.len().max(1) as f64)
                })
                .collect::<Result<Vec<f64>, mialab::train::TrainError>>()
                .map_err(mialab::Error::from)?;
            Some((pop, classes(&pop.features)?, references))
        }
        None => None,
    };
    let accuracies: Vec<_> = trained.iter().map(|r| r.accuracy).collect();
    Ok(RecipeMatch::new(
        records,
        &on_audit,
        population
            .as_ref()
            .map(|(p, t, r)| (*p, t.as_slice(), r.clone())),
        &accuracies,
    ))
}

fn print_summary(matched: &RecipeMatch, log: &TrainingLog<'_>, out: &Path, keep: &Path) {
    let pct = |v: f64| format!("{:.1}%", 100.0 * v);
    println!(
        "trained {} reference models in {:.1} s ({:.0} records×epochs/s)",
        log.models, log.seconds, log.records_epochs_per_second
    );
    println!(
        "accuracy        references (mean)   target\n  train/members   {:>10}          {}\n  held out        {:>10}          {}\n  audit records   {:>10}          {}",
        pct(matched.references_train),
        matched.target_members.map_or("unknown".into(), pct),
        pct(matched.references_held_out),
        matched.target_non_members.map_or("unknown".into(), pct),
        pct(matched.references_audit),
        pct(matched.target_audit),
    );
    if let (Some(r), Some(t)) = (matched.references_population, matched.target_population) {
        println!("  population      {:>10}          {}", pct(r), pct(t));
    }
    if let Some(warning) = &matched.warning {
        println!("warning: {warning}");
    }
    println!(
        "wrote {} reference models, {} and training.json to {}\naudit with: --references {} --keep-mask {}",
        log.models,
        keep.display(),
        out.display(),
        out.display(),
        keep.display()
    );
}

/// One progress bar per model (epochs, with the last loss), or nothing.
struct Bars {
    bars: Vec<ProgressBar>,
    _multi: MultiProgress,
}

impl Bars {
    fn new(models: usize, epochs: usize, quiet: bool) -> Bars {
        let multi = MultiProgress::new();
        let shown = !quiet && std::io::stderr().is_terminal();
        let style = ProgressStyle::with_template(
            "model {prefix:>3} [{bar:30}] {pos}/{len} epochs, loss {msg} ({eta})",
        )
        .expect("static template")
        .progress_chars("=> ");
        let bars = (0..models)
            .map(|k| {
                let bar = if shown {
                    multi.add(ProgressBar::new(epochs as u64))
                } else {
                    ProgressBar::hidden()
                };
                bar.set_style(style.clone());
                bar.set_prefix(k.to_string());
                bar
            })
            .collect();
        Bars {
            bars,
            _multi: multi,
        }
    }

    fn epoch(&self, model: usize, epoch: usize, loss: f64) {
        let bar = &self.bars[model];
        bar.set_position(epoch as u64);
        bar.set_message(format!("{loss:.4}"));
    }

    fn finish(&self) {
        self.bars.iter().for_each(ProgressBar::finish_and_clear);
    }
}
