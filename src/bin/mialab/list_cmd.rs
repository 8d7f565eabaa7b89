//! `mialab attacks` and `mialab inspect`: read-only listings.

use crate::inputs::load_model;
use anyhow::Result;
use mialab::attack::{ReferenceUse, catalogue};
use mialab::model::ModelOptions;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct AttacksArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// The ONNX model.
    model: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn attacks(args: &AttacksArgs) -> Result<()> {
    if args.json {
        let infos: Vec<_> = catalogue().map(|e| e.info).collect();
        println!("{}", serde_json::to_string_pretty(&infos)?);
        return Ok(());
    }
    for entry in catalogue() {
        let info = entry.info;
        let mut needs = Vec::new();
        if info.needs.population {
            needs.push("--population");
        }
        match info.needs.references {
            ReferenceUse::NotUsed => {}
            ReferenceUse::OutOnly => needs.push("--references (OUT models)"),
            ReferenceUse::InAndOut => needs.push("--references (IN and OUT models)"),
        }
        let needs = if needs.is_empty() {
            String::new()
        } else {
            format!(" (needs {})", needs.join(", "))
        };
        println!(
            "{}{needs}\n  {}\n  {}\n  {}\n",
            info.id, info.title, info.paper, info.summary
        );
    }
    Ok(())
}

pub fn inspect(args: &InspectArgs) -> Result<()> {
    let (model, provenance) = load_model(&args.model, &ModelOptions::default())?;
    let info = model.info();
    if args.json {
        println!("{}", serde_json::to_string_pretty(info)?);
        return Ok(());
    }
    println!(
        "model:      {} (sha256 {})",
        provenance.source, provenance.sha256
    );
    println!(
        "producer:   {}  opset {}",
        info.producer,
        info.opset.map_or("?".to_string(), |o| o.to_string())
    );
    println!(
        "input:      {}  (one record: {:?})",
        info.input, info.record_shape
    );
    for output in &info.outputs {
        let used = if output.name == info.used_output {
            "  <- class scores"
        } else {
            ""
        };
        println!("output:     {output}{used}");
    }
    println!("classes:    {}", info.output_width.max(2));
    println!("parameters: {}", info.parameters);
    for rewrite in &info.rewrites {
        println!("rewritten:  {rewrite}");
    }
    let ops: Vec<String> = info
        .operators
        .iter()
        .map(|(op, n)| format!("{op} x{n}"))
        .collect();
    println!("operators:  {}", ops.join(", "));
    Ok(())
}
