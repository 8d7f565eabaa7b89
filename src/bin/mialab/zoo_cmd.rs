//! `mialab zoo`: list the bundled data sets, targets and reference sets from
//! `models/manifest.json`, resolve `--zoo DATASET/TARGET` to files, and audit every target
//! in one go (the table in `models/README.md`).

use crate::audit_cmd::{AuditFiles, ReferenceFiles, audit_files};
use crate::settings_args::AttackParamArgs;
use anyhow::{Context, Result};
use mialab::audit::AuditOutcome;
use mialab::config::AuditConfig;
use mialab::model::ModelOptions;
use mialab::records::RecordSchema;
use mialab::report::AttackResult;
use mialab::zoo::Manifest;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ZooArgs {
    /// Folder holding the zoo's manifest.json.
    #[arg(long, value_name = "DIR", default_value = "models")]
    dir: PathBuf,
    /// Audit every target with the population attacks and print one row per target.
    #[arg(long)]
    audit: bool,
    /// Audit every target with every attack, its reference set included, and print one
    /// table per data set: attacks × targets (the table in README.md).
    #[arg(long, conflicts_with = "audit")]
    attack_table: bool,
    /// Attacks for --audit and --attack-table (default: every one the inputs allow).
    #[arg(long = "attack", value_name = "NAME", value_delimiter = ',')]
    attacks: Vec<String>,
    #[command(flatten)]
    attack_params: AttackParamArgs,
    /// Seed of every random choice.
    #[arg(long, default_value_t = AuditConfig::default().seed)]
    seed: u64,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

pub fn load_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the zoo manifest {} (run from the repository root or pass --zoo-dir)",
            path.display()
        )
    })?;
    Manifest::from_json(&text)
        .map_err(mialab::Error::from)
        .with_context(|| format!("in {}", path.display()))
}

/// The files that audit `dataset/target`, and the data set's class names.
pub fn target_files(
    manifest: &Manifest,
    dir: &Path,
    name: &str,
) -> Result<(AuditFiles, Vec<String>)> {
    let (dataset, target) = manifest.target(name).map_err(mialab::Error::from)?;
    let path = |rel: &str| dir.join(rel);
    let files = AuditFiles {
        model: path(&target.model),
        records: path(&dataset.audit.features),
        labels: Some(path(&dataset.audit.labels)),
        membership: Some(path(&target.members)),
        ids: Some(path(&dataset.audit.ids)),
        population: Some(path(&dataset.population.features)),
        population_labels: Some(path(&dataset.population.labels)),
        population_ids: Some(path(&dataset.population.ids)),
        references: dataset.references_of(target).map(|set| ReferenceFiles {
            source: format!("zoo {}/references/{}", dataset.name, set.recipe),
            models: set.models.iter().map(|m| path(&m.model)).collect(),
            keep_mask: path(&set.keep_mask),
        }),
    };
    Ok((files, dataset.classes.clone()))
}

pub fn run(args: &ZooArgs) -> Result<()> {
    let manifest = load_manifest(&args.dir)?;
    if args.audit {
        return audit_all(args, &manifest);
    }
    if args.attack_table {
        return attack_table(args, &manifest);
    }
    for d in &manifest.datasets {
        println!("{}: {}", d.name, d.title);
        println!(
            "  {} audit records, {} population records, input {:?}, classes: {}",
            d.audit.count,
            d.population.count,
            d.input.shape,
            d.classes.join(", ")
        );
        println!("  model: {}", d.architecture);
        for t in &d.targets {
            let dp = t.dp.as_ref().map_or(String::new(), |g| {
                format!(", DP ε={} δ={}", g.epsilon, g.delta)
            });
            let poison = if t.poison.is_some() {
                ", trained with membership-encoding code"
            } else {
                ""
            };
            println!(
                "  target {}/{}: train accuracy {:.3}, test accuracy {:.3}{dp}{poison}",
                d.name, t.name, t.train_accuracy, t.test_accuracy
            );
        }
        for r in &d.reference_sets {
            println!(
                "  references {}: {} models, keep-mask {}",
                r.recipe, r.count, r.keep_mask
            );
        }
    }
    Ok(())
}

fn audit_all(args: &ZooArgs, manifest: &Manifest) -> Result<()> {
    let attacks = if args.attacks.is_empty() {
        mialab::attack::population_attacks()
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        args.attacks.clone()
    };
    let config = AuditConfig {
        attacks,
        seed: args.seed,
        ..AuditConfig::default()
    };
    println!(
        "| target | train acc | test acc | DP ε | loss AUC | loss TPR@1% | loss TPR@0.1% | strongest population attack (by AUC) | AUC | TPR@1% | TPR@0.1% |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for name in manifest.target_names() {
        let (_, target) = manifest.target(&name).map_err(mialab::Error::from)?;
        let outcome = audit_target(args, manifest, &name, &config, false)?;
        let attacks = &outcome.report.attacks;
        let loss = attacks.iter().find(|a| a.id == "loss");
        let strongest = attacks
            .iter()
            .filter(|a| a.metrics.is_some())
            .max_by(|a, b| auc(a).total_cmp(&auc(b)));
        let dp = target
            .dp
            .as_ref()
            .map_or("-".to_string(), |g| format!("{:.2}", g.epsilon));
        println!(
            "| {} | {:.3} | {:.3} | {dp} | {} | {} |",
            name,
            target.train_accuracy,
            target.test_accuracy,
            cells(loss),
            strongest.map_or("-".to_string(), |a| format!(
                "{} | {}",
                a.id,
                cells(Some(a))
            )),
        );
    }
    Ok(())
}

fn attack_table(args: &ZooArgs, manifest: &Manifest) -> Result<()> {
    let mut config = AuditConfig {
        attacks: args.attacks.clone(),
        seed: args.seed,
        ..AuditConfig::default()
    };
    args.attack_params.apply(&mut config);
    for dataset in &manifest.datasets {
        let mut columns: Vec<(String, Vec<AttackResult>)> = Vec::new();
        for target in &dataset.targets {
            let name = format!("{}/{}", dataset.name, target.name);
            let outcome = audit_target(args, manifest, &name, &config, true)?;
            columns.push((target.name.clone(), outcome.report.attacks));
        }
        println!("\n{} (AUC · TPR@1% FPR · TPR@0.1% FPR)\n", dataset.title);
        let header: Vec<&str> = columns.iter().map(|(t, _)| t.as_str()).collect();
        println!("| attack | {} |", header.join(" | "));
        println!("|---|{}", "---|".repeat(header.len()));
        let Some((_, first)) = columns.first() else {
            continue;
        };
        for attack in first {
            let cells: Vec<String> = columns
                .iter()
                .map(|(_, results)| {
                    results
                        .iter()
                        .find(|a| a.id == attack.id)
                        .map_or("-".to_string(), |a| cells(Some(a)).replace(" | ", " · "))
                })
                .collect();
            println!("| {} | {} |", attack.id, cells.join(" | "));
        }
    }
    Ok(())
}

/// Audits one zoo target, with or without its reference set.
fn audit_target(
    args: &ZooArgs,
    manifest: &Manifest,
    name: &str,
    config: &AuditConfig,
    with_references: bool,
) -> Result<AuditOutcome> {
    let (mut files, classes) = target_files(manifest, &args.dir, name)?;
    if !with_references {
        files.references = None;
    }
    let schema = RecordSchema {
        classes: Some(classes),
        ..RecordSchema::default()
    };
    let (outcome, _) = audit_files(
        &files,
        &schema,
        &ModelOptions::default(),
        config,
        args.quiet,
    )
    .with_context(|| format!("auditing {name}"))?;
    Ok(outcome)
}

fn auc(a: &AttackResult) -> f64 {
    a.metrics.as_ref().map_or(f64::NAN, |m| m.auc)
}

/// "AUC | TPR@1% | TPR@0.1%" of one attack.
fn cells(attack: Option<&AttackResult>) -> String {
    let Some(m) = attack.and_then(|a| a.metrics.as_ref()) else {
        return "- | - | -".to_string();
    };
    let tpr = |fpr: f64| {
        m.tpr_at_fpr
            .iter()
            .find(|t| (t.fpr - fpr).abs() < 1e-12)
            .and_then(|t| t.tpr)
            .map_or("n/m".to_string(), |v| format!("{:.2}%", 100.0 * v))
    };
    format!("{:.3} | {} | {}", m.auc, tpr(1e-2), tpr(1e-3))
}
