//! The browser API: the same [`Session`] as the CLI behind `wasm-bindgen`, for the page's
//! Web Worker. A [`Lab`] holds what the user loaded and the signals computed from it; the
//! page sends an [`AuditConfig`] as JSON (the same settings `mialab settings` prints) and
//! the session decides what must run again.
//!
//! Every export returns `Result<_, JsError>` whose message is the engine's error with its
//! chain of causes; a panic hook reports anything unexpected to the console instead of
//! aborting silently.

use crate::audit::AuditOutcome;
use crate::config::AuditConfig;
use crate::model::{Model, ModelOptions, OutputKindChoice};
use crate::progress::Progress;
use crate::provenance::Provenance;
use crate::provided::{self, ProvidedOutputs};
use crate::records::{CsvStream, NpyInputs, RecordSchema, Records, image_archive};
use crate::report::{Histogram, RowQuery};
use crate::session::Session;
use crate::signal::SignalKind;
use serde::Serialize;
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

#[cfg(feature = "gpu")]
mod gpu_audit;
mod inference;
mod job_sets;
mod pool_audit;
mod query_parts;
mod split_audit;
mod training;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The engine's message with every cause, as one readable line.
fn js_error(error: impl Into<crate::Error>) -> JsError {
    let error: crate::Error = error.into();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    JsError::new(&message)
}

fn plain_error(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

/// A progress sink that calls `progress(step, done, total)`.
fn progress_sink(progress: &js_sys::Function) -> impl FnMut(Progress<'_>) + '_ {
    |p: Progress<'_>| {
        let _ = progress.call3(
            &JsValue::NULL,
            &JsValue::from_str(p.step),
            &JsValue::from(p.done as u32),
            &JsValue::from(p.total as u32),
        );
    }
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(plain_error)
}

/// Every attack with its description, needs, and whether it is chosen unless unchecked, for
/// the attack picker.
#[wasm_bindgen(js_name = attackCatalogue)]
pub fn attack_catalogue() -> Result<JsValue, JsError> {
    #[derive(Serialize)]
    struct Entry {
        #[serde(flatten)]
        info: &'static crate::attack::AttackInfo,
        /// Checked unless the user unchecks it: every attack but those that train a model.
        by_default: bool,
    }
    let infos: Vec<_> = crate::attack::catalogue()
        .map(|e| Entry {
            info: e.info,
            by_default: e.info.runs_by_default(),
        })
        .collect();
    to_js(&infos)
}

/// The library's default settings, which the page's form starts from.
#[wasm_bindgen(js_name = defaultConfig)]
pub fn default_config() -> String {
    AuditConfig::default().to_json()
}

/// What the user loaded, and the signals computed from it.
#[wasm_bindgen]
#[derive(Default)]
pub struct Lab {
    session: Session,
    /// The target's ONNX bytes, for the WebGPU check (which loads its own copy).
    model_bytes: Vec<u8>,
    /// The reference models' ONNX bytes, likewise.
    reference_bytes: Vec<Vec<u8>>,
    /// A CSV being read in chunks, and whether it is the population.
    upload: Option<(CsvStream, bool)>,
    /// The last audit's per-record table, which the page reads a page at a time, and the
    /// number of that audit in this Lab (the page names it, so that it never reads rows of a
    /// later audit as those of the results it shows).
    last: Option<(u32, AuditOutcome)>,
    /// An audit begun with attacks left to another worker ([`split_audit`]).
    underway: Option<crate::session::AuditUnderway>,
    /// What [`Lab::signals_for_elsewhere`] computed for the audit about to finish, and how
    /// long that took.
    signals_ahead: Option<(Vec<crate::session::Computed>, f64)>,
    audits: u32,
    /// Outputs provided instead of a model, while the session audits them.
    provided: Option<ProvidedOutputs>,
}

/// Provided outputs as the page shows them after loading.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutputsSummary {
    /// What the class columns are ("provided logits", "provided losses ...").
    output: String,
    classes: usize,
    records: RecordsSummary,
    population: Option<RecordsSummary>,
    references: usize,
    records_without_in: usize,
    records_without_out: usize,
}

/// A record set as the page shows it after loading.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordsSummary {
    source: String,
    records: usize,
    record_shape: Vec<usize>,
    members: Option<usize>,
    non_members: Option<usize>,
    class_names: Option<Vec<String>>,
    classes_seen: usize,
}

impl RecordsSummary {
    fn of(records: &Records) -> RecordsSummary {
        let counts = records.membership_counts();
        let mut seen = records.labels.clone();
        seen.sort_unstable();
        seen.dedup();
        RecordsSummary {
            source: records.source.clone(),
            records: records.len(),
            record_shape: records.record_shape().to_vec(),
            members: counts.map(|c| c.0),
            non_members: counts.map(|c| c.1),
            class_names: records.classes.clone(),
            classes_seen: seen.len(),
        }
    }
}

fn schema_from(schema_json: Option<String>) -> Result<RecordSchema, JsError> {
    match schema_json.as_deref().map(str::trim) {
        None | Some("") => Ok(RecordSchema::default()),
        Some(text) => RecordSchema::from_json(text).map_err(js_error),
    }
}

/// The files of an uploaded zip (folders dropped from their names), as `{name, bytes}`.
#[wasm_bindgen(js_name = unpackZip)]
pub fn unpack_zip(bytes: &[u8], name: &str) -> Result<js_sys::Array, JsError> {
    let entries = image_archive::unpack_zip(name, bytes).map_err(js_error)?;
    Ok(entries
        .into_iter()
        .map(|entry| {
            let object = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&object, &"name".into(), &entry.name.into());
            let bytes = js_sys::Uint8Array::from(entry.bytes.as_slice());
            let _ = js_sys::Reflect::set(&object, &"bytes".into(), &bytes);
            JsValue::from(object)
        })
        .collect())
}

/// The rows of an images' `labels.csv`: an object from file name to `{label, member}`.
#[wasm_bindgen(js_name = imageLabels)]
pub fn image_labels(
    bytes: &[u8],
    name: &str,
    classes: Option<Vec<String>>,
) -> Result<JsValue, JsError> {
    let rows =
        image_archive::read_image_labels(name, bytes, classes.as_deref()).map_err(js_error)?;
    to_js(&rows)
}

/// How many records of a keep-mask (`[records, models]`) no reference model trained on, and
/// how many every one did.
fn records_without_in_and_out(keep: &ndarray::Array2<bool>) -> (usize, usize) {
    let rows = || keep.rows().into_iter();
    (
        rows().filter(|r| !r.iter().any(|&k| k)).count(),
        rows().filter(|r| r.iter().all(|&k| k)).count(),
    )
}

/// What one attack lacks with the inputs loaded now.
#[derive(Serialize)]
struct Availability {
    id: &'static str,
    missing: Vec<String>,
}

#[wasm_bindgen]
impl Lab {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Lab {
        Lab::default()
    }

    /// Audits outputs the target already gave instead of a model ([`crate::provided`]): a CSV
    /// (label, optional id and member, one column per class or a loss column) or an `.npz`
    /// (TF Privacy's AttackInputData names, or mialab's with reference and population
    /// outputs). Replaces the model, records, population and references loaded before.
    #[wasm_bindgen(js_name = loadOutputs)]
    pub fn load_outputs(&mut self, bytes: &[u8], name: &str) -> Result<JsValue, JsError> {
        let provided = if bytes.starts_with(b"PK") {
            provided::from_npz(name, bytes)
        } else {
            provided::from_csv(name, bytes)
                .map(|set| ProvidedOutputs::new(Provenance::of_bytes(name, bytes), set))
        }
        .map_err(js_error)?;
        self.use_provided(provided)
    }

    /// The target's outputs on population records (CSV), beside outputs already loaded.
    #[wasm_bindgen(js_name = loadPopulationOutputs)]
    pub fn load_population_outputs(
        &mut self,
        bytes: &[u8],
        name: &str,
    ) -> Result<JsValue, JsError> {
        let Some(mut provided) = self.provided.clone() else {
            return Err(plain_error(
                "load the target's outputs on the audit records before its outputs on the population",
            ));
        };
        let set = provided::from_csv(name, bytes).map_err(js_error)?;
        provided.population = Some((set, Provenance::of_bytes(name, bytes)));
        self.use_provided(provided)
    }

    fn use_provided(&mut self, provided: ProvidedOutputs) -> Result<JsValue, JsError> {
        let file = provided
            .clone()
            .into_signals_file(OutputKindChoice::Auto)
            .map_err(js_error)?;
        let keep = file.signals.audit.references.as_ref().map(|r| &r.keep);
        let (records_without_in, records_without_out) =
            keep.map_or((0, 0), records_without_in_and_out);
        let summary = OutputsSummary {
            output: file.signals.model.output.clone(),
            classes: file.signals.model.classes,
            records: RecordsSummary::of(&file.records),
            population: file.population.as_ref().map(RecordsSummary::of),
            references: keep.map_or(0, |k| k.ncols()),
            records_without_in,
            records_without_out,
        };
        self.session = Session::from_provided_outputs(file);
        self.model_bytes.clear();
        self.reference_bytes.clear();
        self.provided = Some(provided);
        to_js(&summary)
    }

    /// Leaves provided outputs for inputs a model runs on: a fresh session.
    fn leave_provided(&mut self) {
        if self.provided.take().is_some() {
            self.session = Session::new();
        }
    }

    /// Loads the target model; returns its inputs, outputs, operators and parameter count.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&mut self, bytes: &[u8], name: &str) -> Result<JsValue, JsError> {
        let model = Model::from_bytes(bytes, &ModelOptions::default()).map_err(js_error)?;
        self.leave_provided();
        let info = to_js(model.info())?;
        self.session
            .set_target(model, Provenance::of_bytes(name, bytes));
        self.model_bytes = bytes.to_vec();
        Ok(info)
    }

    /// The ONNX bytes of the target and then every reference model.
    #[wasm_bindgen(js_name = allModelBytes)]
    pub fn all_model_bytes(&self) -> js_sys::Array {
        std::iter::once(&self.model_bytes)
            .chain(&self.reference_bytes)
            .map(|b| js_sys::Uint8Array::from(b.as_slice()))
            .collect()
    }

    /// The first `limit` audit records' features, one record after another.
    #[wasm_bindgen(js_name = auditFeatures)]
    pub fn audit_features(&self, limit: usize) -> Result<Vec<f32>, JsError> {
        let records = self.session.records().map_err(js_error)?;
        let features = records.features.as_standard_layout();
        let per_record: usize = records.record_shape().iter().product();
        let values = features.as_slice().unwrap_or_default();
        Ok(values[..values.len().min(limit * per_record)].to_vec())
    }

    /// Starts reading audit (`population = false`) or population records from a CSV of
    /// `total_bytes` that arrives in chunks ([`Lab::push_csv`], then [`Lab::finish_csv`]), its
    /// columns named by `schema_json` as in `mialab audit --schema`;
    /// what is loaded now stays until the file has been read whole and checked.
    #[wasm_bindgen(js_name = beginCsv)]
    pub fn begin_csv(
        &mut self,
        population: bool,
        name: &str,
        schema_json: Option<String>,
        total_bytes: f64,
    ) -> Result<(), JsError> {
        let mut schema = schema_from(schema_json)?;
        if population {
            schema = schema.for_population();
        }
        let mut stream = CsvStream::new(name, &schema).map_err(js_error)?;
        stream.expect_bytes(total_bytes as u64);
        self.upload = Some((stream, population));
        Ok(())
    }

    /// Reads the next chunk of the CSV begun with [`Lab::begin_csv`]; returns the records read
    /// so far. An error ends the upload.
    #[wasm_bindgen(js_name = pushCsv)]
    pub fn push_csv(&mut self, chunk: &[u8]) -> Result<usize, JsError> {
        let Some((stream, _)) = self.upload.as_mut() else {
            return Err(plain_error("no CSV upload is in progress"));
        };
        match stream.push(chunk) {
            Ok(()) => Ok(stream.records()),
            Err(e) => {
                self.upload = None;
                Err(js_error(e))
            }
        }
    }

    /// Checks the CSV read in chunks and makes it the audit set or the population.
    #[wasm_bindgen(js_name = finishCsv)]
    pub fn finish_csv(&mut self) -> Result<JsValue, JsError> {
        let Some((stream, population)) = self.upload.take() else {
            return Err(plain_error("no CSV upload is in progress"));
        };
        let (records, sha256) = stream.finish().map_err(js_error)?;
        if population {
            records.check_population().map_err(js_error)?;
        }
        self.leave_provided();
        let summary = to_js(&RecordsSummary::of(&records))?;
        let provenance = Provenance {
            source: records.source.clone(),
            sha256,
        };
        if population {
            self.session.set_population(Some((records, provenance)));
        } else {
            self.session.set_records(records, provenance);
        }
        Ok(summary)
    }

    /// Loads audit (`population = false`) or population records from `.npy` arrays.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = loadRecordsNpy)]
    pub fn load_records_npy(
        &mut self,
        population: bool,
        name: &str,
        features: &[u8],
        labels: &[u8],
        membership: Option<Vec<u8>>,
        ids: Option<Vec<u8>>,
        classes: Option<Vec<String>>,
    ) -> Result<JsValue, JsError> {
        let (labels_name, members_name, ids_name) = (
            format!("{name} labels"),
            format!("{name} membership"),
            format!("{name} ids"),
        );
        let records = Records::from_npy(&NpyInputs {
            features: (name, features),
            labels: (&labels_name, labels),
            membership: membership.as_deref().map(|m| (members_name.as_str(), m)),
            ids: ids.as_deref().map(|i| (ids_name.as_str(), i)),
            classes,
        })
        .map_err(js_error)?;
        if population {
            records.check_population().map_err(js_error)?;
        }
        self.leave_provided();
        let summary = to_js(&RecordsSummary::of(&records))?;
        let provenance = Provenance::of_bytes(name, features);
        if population {
            self.session.set_population(Some((records, provenance)));
        } else {
            self.session.set_records(records, provenance);
        }
        Ok(summary)
    }

    /// Forgets the population records.
    #[wasm_bindgen(js_name = clearPopulation)]
    pub fn clear_population(&mut self) {
        self.session.set_population(None);
    }

    /// Adds one reference model; keep-mask columns follow the order they are added.
    #[wasm_bindgen(js_name = addReferenceModel)]
    pub fn add_reference_model(&mut self, bytes: &[u8], name: &str) -> Result<usize, JsError> {
        let model = Model::from_bytes(bytes, &ModelOptions::default()).map_err(js_error)?;
        self.leave_provided();
        self.reference_bytes.push(bytes.to_vec());
        Ok(self
            .session
            .add_reference(model, Provenance::of_bytes(name, bytes)))
    }

    /// Forgets the reference models and their keep-mask.
    #[wasm_bindgen(js_name = clearReferences)]
    pub fn clear_references(&mut self) {
        self.reference_bytes.clear();
        self.session.clear_references();
    }

    /// Reads the keep-mask (NPY `[models, records]` or CSV named by model file) for the
    /// reference models and audit records already loaded; returns records without IN/OUT.
    #[wasm_bindgen(js_name = loadKeepMask)]
    pub fn load_keep_mask(&mut self, bytes: &[u8], name: &str) -> Result<JsValue, JsError> {
        let ids = self
            .session
            .records()
            .map_err(|_| plain_error("load the audit records before the keep-mask"))?
            .ids
            .clone();
        let names = self.session.reference_names().to_vec();
        let keep = if name.to_ascii_lowercase().ends_with(".csv") {
            crate::keep_mask::from_csv(name, bytes, &names, &ids)
        } else {
            crate::keep_mask::from_npy(name, bytes, names.len(), ids.len())
        }
        .map_err(js_error)?;
        let (without_in, without_out) = records_without_in_and_out(&keep);
        self.session
            .set_keep_mask(keep, Provenance::of_bytes(name, bytes))
            .map_err(js_error)?;
        to_js(&serde_json::json!({
            "models": names.len(),
            "records": ids.len(),
            "recordsWithoutIn": without_in,
            "recordsWithoutOut": without_out,
        }))
    }

    /// Every attack with what it still lacks (an empty list: it can run).
    pub fn availability(&self) -> Result<JsValue, JsError> {
        let rows: Vec<Availability> = self
            .session
            .availability()
            .into_iter()
            .map(|(id, missing)| Availability {
                id,
                missing: missing.iter().map(ToString::to_string).collect(),
            })
            .collect();
        to_js(&rows)
    }

    /// Runs the audit `config_json` (an [`AuditConfig`] as JSON) asks for, running only the
    /// models whose signals the request invalidates; `progress` is called as
    /// `progress(step, done, total)`. Returns `{report, perRecord, perRecordCsv, perClass,
    /// run}` as JSON text (the report exactly as `mialab audit --out` writes it; `run` says
    /// what was computed and how long the models and the attacks took).
    pub fn audit(
        &mut self,
        config_json: &str,
        progress: &js_sys::Function,
    ) -> Result<String, JsError> {
        let config = AuditConfig::from_json(config_json).map_err(js_error)?;
        let mut sink = progress_sink(progress);
        let run = self.session.audit(&config, &mut sink).map_err(js_error)?;
        self.audit_result(run)
    }
}

impl Lab {
    /// An audit's result as the page reads it (see [`Lab::audit`]); its outcome is kept for
    /// the per-record table.
    fn audit_result(&mut self, mut run: crate::session::AuditRun) -> Result<String, JsError> {
        self.underway = None;
        if let Some((computed, seconds)) = self.signals_ahead.take() {
            run.computed.splice(0..0, computed);
            run.signal_seconds += seconds;
        }
        self.audits += 1;
        let table = &run.outcome.per_record;
        let histograms: BTreeMap<&str, Histogram> = table
            .attack_ids()
            .filter_map(|id| {
                let (members, others) = table.scores_by_membership(id)?;
                Some((id, Histogram::of(&members, &others, HISTOGRAM_BINS, false)))
            })
            .collect();
        let (members, others) = table.signal_by_membership(SignalKind::Loss);
        // One pass straight to text: the report's ROC curves make it megabytes.
        let text = serde_json::to_string(&AuditResult {
            report: &run.outcome.report,
            per_record: serde_json::json!({
                "header": table.header, "records": table.len(), "table": self.audits
            }),
            histograms,
            loss_histogram: Histogram::of(&members, &others, HISTOGRAM_BINS, true),
            per_class: &run.outcome.per_class,
            run: serde_json::json!({
                "cached": run.cached(),
                "computed": run.computed,
                "signalSeconds": run.signal_seconds,
                "attackSeconds": run.attack_seconds,
            }),
        })
        .map_err(plain_error)?;
        self.last = Some((self.audits, run.outcome));
        Ok(text)
    }
}

/// What [`Lab::audit`] returns, as the page reads it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditResult<'a> {
    report: &'a crate::report::Report,
    per_record: serde_json::Value,
    histograms: BTreeMap<&'a str, Histogram>,
    loss_histogram: Histogram,
    per_class: &'a crate::report::PerClassTable,
    run: serde_json::Value,
}

#[wasm_bindgen]
impl Lab {
    /// Rows of audit `table`'s per-record table: `query_json` is a [`RowQuery`] (`sort`,
    /// `ascending`, `search`, `offset`, `limit`); returns `{matching, rows: [[index, cells]]}`.
    #[wasm_bindgen(js_name = recordRows)]
    pub fn record_rows(&self, table: u32, query_json: &str) -> Result<JsValue, JsError> {
        let table = &self.outcome(table)?.per_record;
        let query: RowQuery = serde_json::from_str(query_json).map_err(plain_error)?;
        to_js(&table.select(&query).map_err(plain_error)?)
    }

    /// Rows `start..start + count` of audit `table`'s per-record table as CSV bytes (the
    /// header line before row 0), so that the page assembles a large table's file in parts.
    #[wasm_bindgen(js_name = perRecordCsv)]
    pub fn per_record_csv(
        &self,
        table: u32,
        start: usize,
        count: usize,
    ) -> Result<Vec<u8>, JsError> {
        let table = &self.outcome(table)?.per_record;
        let mut bytes = Vec::new();
        table
            .write_csv(&mut bytes, start..start.saturating_add(count))
            .map_err(js_error)?;
        Ok(bytes)
    }

    /// The report to hand over of audit `table`: one self-contained HTML file.
    #[wasm_bindgen(js_name = htmlReport)]
    pub fn html_report(&self, table: u32) -> Result<String, JsError> {
        let outcome = self.outcome(table)?;
        Ok(crate::report::html::render(
            &outcome.report,
            &outcome.per_class,
            &outcome.per_record,
        ))
    }

    /// What audit `number` found, while it is the last one.
    fn outcome(&self, number: u32) -> Result<&AuditOutcome, JsError> {
        match &self.last {
            Some((n, outcome)) if *n == number => Ok(outcome),
            Some(_) => Err(plain_error(
                "these results' records were replaced by a later run: run the audit again to read them",
            )),
            None => Err(plain_error("no audit has run yet")),
        }
    }
}

/// Bars of the page's histograms.
const HISTOGRAM_BINS: usize = 40;

/// Records the WebGPU check runs through the direct kernels (one invocation per output value:
/// on SwiftShader about 30 records × models per second).
#[cfg(feature = "gpu")]
const DIRECT_CHECK_RECORDS: usize = 20;

/// The WebGPU check and benchmark: runs the models in `models` (ONNX bytes: the target, then
/// its references) over the records in `features` (one record after another) on the CPU engine
/// the audit uses (mialab's kernels, or tract), model by model, and with the GPU kernels on the browser's WebGPU adapter, all models in
/// each dispatch; reports both engines' records × models per second and GFLOP/s, the first
/// (direct) kernels' over the first [`DIRECT_CHECK_RECORDS`] records beside them, and how far
/// the outputs are apart ([`crate::engine::compare`]). Where the browser has no WebGPU or a
/// graph does not lower, says why.
#[cfg(feature = "gpu")]
#[wasm_bindgen(js_name = webgpuCheck)]
pub async fn webgpu_check(models: js_sys::Array, features: Vec<f32>) -> Result<JsValue, JsError> {
    use crate::gpu::{Gpu, KernelSet};
    let models: Vec<Model> = models
        .iter()
        .map(|bytes| {
            let bytes = js_sys::Uint8Array::new(&bytes).to_vec();
            Model::from_bytes(&bytes, &ModelOptions::default()).map_err(js_error)
        })
        .collect::<Result<_, _>>()?;
    let Some(target) = models.first() else {
        return Err(plain_error("load a model first"));
    };
    let per_record: usize = target.info().record_shape.iter().product();
    let records = features.len() / per_record.max(1);
    if records == 0 {
        return Err(plain_error("load audit records first"));
    }
    let unavailable =
        |reason: String| to_js(&serde_json::json!({"available": false, "reason": reason}));
    let plans = match models
        .iter()
        .map(|m| m.gpu_plan().map(|p| p.as_ref()))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(plans) => plans,
        Err(e) => return unavailable(e.to_string()),
    };
    let gpu = match Gpu::open().await {
        Ok(gpu) => gpu,
        Err(e) => return unavailable(e.to_string()),
    };
    let Some(set) = gpu.upload_set(&plans) else {
        return unavailable(
            "the reference models do not share the target's architecture".to_string(),
        );
    };
    let shape: Vec<usize> = std::iter::once(records)
        .chain(target.info().record_shape.iter().copied())
        .collect();
    let inputs = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&shape), features)
        .map_err(|e| plain_error(format!("the records do not fit the model: {e}")))?;
    let started = js_sys::Date::now();
    let mut cpu = Vec::new();
    for model in &models {
        let out = model
            .predict(
                &inputs,
                crate::model::DEFAULT_BATCH_SIZE,
                &mut crate::progress::NoProgress,
            )
            .map_err(js_error)?;
        cpu.extend(out.iter().copied());
    }
    let cpu_seconds = (js_sys::Date::now() - started) / 1000.0;
    let started = js_sys::Date::now();
    let values = inputs.as_slice().unwrap_or_default();
    let out = gpu
        .run_async(&set, values, records, crate::model::DEFAULT_BATCH_SIZE)
        .await
        .map_err(plain_error)?;
    let gpu_seconds = (js_sys::Date::now() - started) / 1000.0;
    let direct_records = records.min(DIRECT_CHECK_RECORDS);
    let direct = gpu
        .upload_set_with(&plans, KernelSet::Direct)
        .ok_or_else(|| {
            plain_error("the reference models do not share the target's architecture")
        })?;
    let started = js_sys::Date::now();
    gpu.run_async(
        &direct,
        &values[..direct_records * per_record],
        direct_records,
        direct_records,
    )
    .await
    .map_err(plain_error)?;
    let direct_seconds = (js_sys::Date::now() - started) / 1000.0;
    let comparison = crate::engine::compare(&cpu, &out);
    let work = (records * models.len()) as f64;
    to_js(&serde_json::json!({
        "available": true,
        "adapter": gpu.adapter(),
        "software": gpu.is_software(),
        "kernels": set.describe_dispatches(),
        "cpuEngine": target.cpu_engine(crate::model::CpuEngine::Kernels),
        "models": models.len(),
        "records": records,
        "cpuSeconds": cpu_seconds,
        "gpuSeconds": gpu_seconds,
        "cpuRate": work / cpu_seconds.max(1e-3),
        "gpuRate": work / gpu_seconds.max(1e-3),
        "directRecords": direct_records,
        "directRate": (direct_records * models.len()) as f64 / direct_seconds.max(1e-3),
        "flopsPerRecord": plans[0].flops_per_record() as f64,
        "maxAbsDiff": comparison.max_abs_diff,
        "compared": comparison.compared,
    }))
}
