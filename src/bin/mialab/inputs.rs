//! Reading the files a command names into the library's types.

use crate::audit_cmd::ReferenceFiles;
use anyhow::{Context, Result, bail};
use mialab::keep_mask;
use mialab::model::{Model, ModelError, ModelOptions};
use mialab::provenance::Provenance;
use mialab::records::{NpyInputs, RecordSchema, Records, read_csv_file, read_file};
use ndarray::Array2;
use std::path::{Path, PathBuf};

/// How the columns of a CSV are assigned, from flags and an optional schema file.
#[derive(clap::Args, Debug, Clone)]
pub struct SchemaArgs {
    /// JSON schema naming the label, id, member, feature columns and class list.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// Label column (default "label").
    #[arg(long, value_name = "COLUMN")]
    pub label: Option<String>,
    /// Record id column (default: "id" when present, else ids from each record's content).
    #[arg(long, value_name = "COLUMN")]
    pub id: Option<String>,
    /// Membership column with 0/1 values (default: "member" when present).
    #[arg(long, value_name = "COLUMN")]
    pub member: Option<String>,
    /// Class names in model output order, comma-separated: labels are then names.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub classes: Option<Vec<String>>,
}

impl SchemaArgs {
    pub fn resolve(&self) -> Result<RecordSchema> {
        let mut schema = match &self.schema {
            Some(path) => {
                let text = String::from_utf8(read_file(path)?)
                    .with_context(|| format!("{} is not UTF-8 text", path.display()))?;
                RecordSchema::from_json(&text)
                    .map_err(mialab::Error::from)
                    .with_context(|| format!("in {}", path.display()))?
            }
            None => RecordSchema::default(),
        };
        if let Some(label) = &self.label {
            schema.label = label.clone();
        }
        if self.id.is_some() {
            schema.id = self.id.clone();
        }
        if self.member.is_some() {
            schema.member = self.member.clone();
        }
        if self.classes.is_some() {
            schema.classes = self.classes.clone();
        }
        Ok(schema)
    }
}

/// A loaded model with where it came from.
pub fn load_model(path: &Path, options: &ModelOptions) -> Result<(Model, Provenance)> {
    let bytes = std::fs::read(path)
        .map_err(|source| ModelError::Read {
            path: path.display().to_string(),
            source,
        })
        .map_err(mialab::Error::from)?;
    let model = Model::from_bytes(&bytes, options)
        .map_err(mialab::Error::from)
        .with_context(|| format!("loading {}", path.display()))?;
    Ok((model, Provenance::of_bytes(&display_name(path), &bytes)))
}

/// Files that go with `.npy` features.
#[derive(Default, Clone, Copy)]
pub struct NpyCompanions<'a> {
    pub labels: Option<&'a Path>,
    pub membership: Option<&'a Path>,
    pub ids: Option<&'a Path>,
}

/// Loads a record set from CSV, or from `.npy` features plus labels (membership, ids).
pub fn load_records(
    path: &Path,
    companions: NpyCompanions<'_>,
    schema: &RecordSchema,
) -> Result<(Records, Provenance)> {
    let NpyCompanions {
        labels,
        membership,
        ids,
    } = companions;
    let name = display_name(path);
    let is_npy = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if !is_npy {
        if labels.is_some() || membership.is_some() || ids.is_some() {
            bail!(
                "--labels, --membership and --ids go with .npy features; {name} is read as CSV, whose columns the schema names"
            );
        }
        let (records, sha256) = read_csv_file(path, &name, schema).map_err(mialab::Error::from)?;
        return Ok((
            records,
            Provenance {
                source: name,
                sha256,
            },
        ));
    }
    let bytes = read_file(path).map_err(mialab::Error::from)?;
    let Some(labels) = labels else {
        bail!(
            "{name} is a .npy array of features: pass its labels with --labels (and --membership if known)"
        );
    };
    let label_bytes = read_file(labels).map_err(mialab::Error::from)?;
    let member_bytes = membership
        .map(read_file)
        .transpose()
        .map_err(mialab::Error::from)?;
    let id_bytes = ids
        .map(read_file)
        .transpose()
        .map_err(mialab::Error::from)?;
    let (label_name, member_name) = (display_name(labels), membership.map(display_name));
    let ids_name = ids.map(display_name);
    let records = Records::from_npy(&NpyInputs {
        features: (&name, &bytes),
        labels: (&label_name, &label_bytes),
        membership: member_name.as_deref().zip(member_bytes.as_deref()),
        ids: ids_name.as_deref().zip(id_bytes.as_deref()),
        classes: schema.classes.clone(),
    })
    .map_err(mialab::Error::from)?;
    Ok((records, Provenance::of_bytes(&name, &bytes)))
}

/// The reference models with their files' provenance, their keep-mask and its provenance.
pub type LoadedReferences = (Vec<(Model, Provenance)>, Array2<bool>, Provenance);

/// Loads reference models and their keep-mask (`[records, models]`, rows in the order of the
/// audit records' `ids`).
pub fn load_references(
    files: &ReferenceFiles,
    options: &ModelOptions,
    ids: &[String],
) -> Result<LoadedReferences> {
    let models = files
        .models
        .iter()
        .map(|path| {
            load_model(path, options).map(|(m, p)| {
                let source = path.display().to_string();
                (m, Provenance { source, ..p })
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes = read_file(&files.keep_mask).map_err(mialab::Error::from)?;
    let name = display_name(&files.keep_mask);
    let is_csv = files
        .keep_mask
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let keep = if is_csv {
        let names: Vec<String> = files
            .models
            .iter()
            .map(|p| {
                p.file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned())
            })
            .collect();
        keep_mask::from_csv(&name, &bytes, &names, ids)
    } else {
        keep_mask::from_npy(&name, &bytes, models.len(), ids.len())
    }
    .map_err(mialab::Error::from)?;
    Ok((models, keep, Provenance::of_bytes(&files.source, &bytes)))
}

/// The path as the user wrote it, for messages and reports.
pub fn display_name(path: &Path) -> String {
    path.display().to_string()
}
