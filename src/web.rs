//! The browser API: the same engine as the CLI behind `wasm-bindgen`, for the page's Web
//! Worker. A [`Lab`] holds what the user loaded and the signals computed from it, so that
//! switching attacks or their parameters never runs a model again.
//!
//! Every export returns `Result<_, JsError>` whose message is the engine's error with its
//! chain of causes; a panic hook reports anything unexpected to the console instead of
//! aborting silently.

use crate::attack::{AttackParams, LiraParams, LiraVariance, RmiaA, RmiaParams, ShokriParams};
use crate::audit::{
    AuditConfig, AuditData, AuditInput, AuditSignals, Provenance, ReferenceInput, attack_signals,
    compute_signals,
};
use crate::augment::Augmentations;
use crate::model::{Model, ModelOptions, OutputKindChoice};
use crate::progress::Progress;
use crate::records::{NpyInputs, RecordSchema, Records};
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

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

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(plain_error)
}

/// Every attack with its description, for the attack picker.
#[wasm_bindgen(js_name = attackCatalogue)]
pub fn attack_catalogue() -> Result<JsValue, JsError> {
    let infos: Vec<_> = crate::attack::catalogue().map(|e| e.info).collect();
    to_js(&infos)
}

/// Settings the page sends; absent fields keep the CLI's defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WebConfig {
    attacks: Vec<String>,
    seed: Option<u64>,
    bootstrap: Option<usize>,
    temperature: Option<f64>,
    output_kind: Option<String>,
    lira_variance: Option<String>,
    rmia_a: Option<serde_json::Value>,
    rmia_gamma: Option<f64>,
    augment_flip: bool,
    augment_shift: usize,
    /// Output defences, as the CLI's `--defence` writes them (`top1`, `round:2`, ...).
    defences: Vec<String>,
}

impl WebConfig {
    fn audit_config(&self) -> Result<AuditConfig, JsError> {
        let defaults = AuditConfig::default();
        let output_kind = match self.output_kind.as_deref() {
            None | Some("auto") => OutputKindChoice::Auto,
            Some("logits") => OutputKindChoice::Logits,
            Some("probabilities") => OutputKindChoice::Probabilities,
            Some(other) => {
                return Err(plain_error(format!(
                    "output kind '{other}' is not auto, logits or probabilities"
                )));
            }
        };
        let variance = match self.lira_variance.as_deref() {
            None | Some("auto") => LiraVariance::Auto,
            Some("fixed") => LiraVariance::Fixed,
            Some("per-record") => LiraVariance::PerRecord,
            Some(other) => {
                return Err(plain_error(format!(
                    "LiRA variance '{other}' is not auto, fixed or per-record"
                )));
            }
        };
        let a = match &self.rmia_a {
            None => RmiaA::Fixed(RmiaParams::DEFAULT_A),
            Some(serde_json::Value::String(s)) if s == "tune" => RmiaA::Tuned,
            Some(v) => RmiaA::Fixed(v.as_f64().ok_or_else(|| {
                plain_error(format!("RMIA's a must be a number or \"tune\", got {v}"))
            })?),
        };
        let config = AuditConfig {
            attacks: self.attacks.clone(),
            seed: self.seed.unwrap_or(defaults.seed),
            bootstrap_resamples: self.bootstrap.unwrap_or(defaults.bootstrap_resamples),
            temperature: self.temperature.unwrap_or(defaults.temperature),
            output_kind,
            attack_params: AttackParams {
                lira: LiraParams { variance },
                rmia: RmiaParams {
                    a,
                    gamma: self.rmia_gamma.unwrap_or(1.0),
                },
                shokri: ShokriParams::default(),
                code_poison: crate::attack::EncodedLabel::Secret,
                label_only: crate::attack::LabelOnlyParams::default(),
            },
            augmentations: Augmentations {
                flip: self.augment_flip,
                shift: self.augment_shift,
            },
            defences: self
                .defences
                .iter()
                .map(|d| d.parse::<crate::defence::Defence>())
                .collect::<Result<_, _>>()
                .map_err(plain_error)?,
            ..defaults
        };
        config.validate().map_err(js_error)?;
        Ok(config)
    }
}

/// A record set and where it came from.
struct Loaded {
    records: Records,
    provenance: Provenance,
}

/// What the user loaded, and the signals computed from it.
#[wasm_bindgen]
#[derive(Default)]
pub struct Lab {
    model: Option<(Model, Provenance)>,
    /// The target's ONNX bytes, for the WebGPU check (which loads its own copy).
    model_bytes: Vec<u8>,
    /// The reference models' ONNX bytes, likewise.
    reference_bytes: Vec<Vec<u8>>,
    records: Option<Loaded>,
    population: Option<Loaded>,
    reference_models: Vec<Model>,
    reference_names: Vec<String>,
    keep: Option<(Array2<bool>, Provenance)>,
    signals: Option<AuditSignals>,
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

#[wasm_bindgen]
impl Lab {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Lab {
        Lab::default()
    }

    /// Loads the target model; returns its inputs, outputs, operators and parameter count.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&mut self, bytes: &[u8], name: &str) -> Result<JsValue, JsError> {
        let model = Model::from_bytes(bytes, &ModelOptions::default()).map_err(js_error)?;
        let info = to_js(model.info())?;
        self.model = Some((model, Provenance::of_bytes(name, bytes)));
        self.model_bytes = bytes.to_vec();
        self.signals = None;
        Ok(info)
    }

    /// The loaded target's ONNX bytes (empty before one is loaded).
    #[wasm_bindgen(js_name = targetBytes)]
    pub fn target_bytes(&self) -> Vec<u8> {
        self.model_bytes.clone()
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
        let loaded = self
            .records
            .as_ref()
            .ok_or_else(|| plain_error("load audit records first"))?;
        let features = loaded.records.features.as_standard_layout();
        let per_record: usize = loaded.records.record_shape().iter().product();
        let values = features.as_slice().unwrap_or_default();
        Ok(values[..values.len().min(limit * per_record)].to_vec())
    }

    /// Loads the audit records from CSV; `schema_json` as in `mialab audit --schema`.
    #[wasm_bindgen(js_name = loadRecordsCsv)]
    pub fn load_records_csv(
        &mut self,
        bytes: &[u8],
        name: &str,
        schema_json: Option<String>,
    ) -> Result<JsValue, JsError> {
        let schema = schema_from(schema_json)?;
        let records = Records::from_csv(bytes, name, &schema).map_err(js_error)?;
        let summary = to_js(&RecordsSummary::of(&records))?;
        self.records = Some(Loaded {
            records,
            provenance: Provenance::of_bytes(name, bytes),
        });
        self.keep = None;
        self.signals = None;
        Ok(summary)
    }

    /// Loads the population records (known non-members) from CSV.
    #[wasm_bindgen(js_name = loadPopulationCsv)]
    pub fn load_population_csv(
        &mut self,
        bytes: &[u8],
        name: &str,
        schema_json: Option<String>,
    ) -> Result<JsValue, JsError> {
        let schema = schema_from(schema_json)?.for_population();
        let records = Records::from_csv(bytes, name, &schema).map_err(js_error)?;
        records.check_population().map_err(js_error)?;
        let summary = to_js(&RecordsSummary::of(&records))?;
        self.population = Some(Loaded {
            records,
            provenance: Provenance::of_bytes(name, bytes),
        });
        self.signals = None;
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
        let summary = to_js(&RecordsSummary::of(&records))?;
        let loaded = Some(Loaded {
            records,
            provenance: Provenance::of_bytes(name, features),
        });
        if population {
            self.population = loaded;
        } else {
            self.records = loaded;
            self.keep = None;
        }
        self.signals = None;
        Ok(summary)
    }

    /// Forgets the population records.
    #[wasm_bindgen(js_name = clearPopulation)]
    pub fn clear_population(&mut self) {
        self.population = None;
        self.signals = None;
    }

    /// Adds one reference model; keep-mask columns follow the order they are added.
    #[wasm_bindgen(js_name = addReferenceModel)]
    pub fn add_reference_model(&mut self, bytes: &[u8], name: &str) -> Result<usize, JsError> {
        let model = Model::from_bytes(bytes, &ModelOptions::default()).map_err(js_error)?;
        self.reference_models.push(model);
        self.reference_bytes.push(bytes.to_vec());
        self.reference_names.push(name.to_string());
        self.keep = None;
        self.signals = None;
        Ok(self.reference_models.len())
    }

    /// Forgets the reference models and their keep-mask.
    #[wasm_bindgen(js_name = clearReferences)]
    pub fn clear_references(&mut self) {
        self.reference_models.clear();
        self.reference_bytes.clear();
        self.reference_names.clear();
        self.keep = None;
        self.signals = None;
    }

    /// Reads the keep-mask (NPY `[models, records]` or CSV named by model file) for the
    /// reference models and audit records already loaded; returns records without IN/OUT.
    #[wasm_bindgen(js_name = loadKeepMask)]
    pub fn load_keep_mask(&mut self, bytes: &[u8], name: &str) -> Result<JsValue, JsError> {
        let records = self
            .records
            .as_ref()
            .ok_or_else(|| plain_error("load the audit records before the keep-mask"))?;
        let n = records.records.len();
        let names = self.reference_names.clone();
        let keep = if name.to_ascii_lowercase().ends_with(".csv") {
            crate::keep_mask::from_csv(name, bytes, &names, n)
        } else {
            crate::keep_mask::from_npy(name, bytes, names.len(), n)
        }
        .map_err(js_error)?;
        let without_in = keep
            .rows()
            .into_iter()
            .filter(|r| !r.iter().any(|&k| k))
            .count();
        let without_out = keep
            .rows()
            .into_iter()
            .filter(|r| r.iter().all(|&k| k))
            .count();
        self.keep = Some((keep, Provenance::of_bytes(name, bytes)));
        self.signals = None;
        to_js(&serde_json::json!({
            "models": names.len(),
            "records": n,
            "recordsWithoutIn": without_in,
            "recordsWithoutOut": without_out,
        }))
    }

    /// Runs the target (and reference models) over every record set once; `progress` is
    /// called as `progress(step, done, total)`.
    #[wasm_bindgen(js_name = computeSignals)]
    pub fn compute_signals(
        &mut self,
        config: JsValue,
        progress: &js_sys::Function,
    ) -> Result<JsValue, JsError> {
        let config = self.config(config)?;
        let (model, model_provenance) = self
            .model
            .as_ref()
            .ok_or_else(|| plain_error("load a model first"))?;
        let data = self.data()?;
        let models = &self.reference_models;
        let references = match (&self.keep, models.is_empty()) {
            (_, true) => None,
            (Some((keep, provenance)), false) => Some(ReferenceInput {
                models,
                names: self.reference_names.clone(),
                keep: keep.clone(),
                provenance: provenance.clone(),
            }),
            (None, false) => {
                return Err(plain_error(
                    "reference models need a keep-mask saying which audit records each trained on",
                ));
            }
        };
        let input = AuditInput {
            model,
            model_provenance: model_provenance.clone(),
            data,
            references,
        };
        let mut sink = |p: Progress<'_>| {
            let _ = progress.call3(
                &JsValue::NULL,
                &JsValue::from_str(p.step),
                &JsValue::from(p.done as u32),
                &JsValue::from(p.total as u32),
            );
        };
        let signals = compute_signals(&input, &config, &mut sink).map_err(js_error)?;
        let summary = serde_json::json!({
            "records": signals.target.len(),
            "population": signals.population.as_ref().map(|p| p.len()),
            "referenceModels": signals.references.as_ref().map(|r| r.models()),
            "available": {
                "population": signals.available().population,
                "references": signals.available().references,
            },
        });
        self.signals = Some(signals);
        to_js(&summary)
    }

    /// Runs the chosen attacks over the computed signals; returns `{report, perRecord}` as
    /// JSON text (the report exactly as `mialab audit --out` writes it).
    #[wasm_bindgen(js_name = runAttacks)]
    pub fn run_attacks(&self, config: JsValue) -> Result<String, JsError> {
        let config = self.config(config)?;
        let signals = self
            .signals
            .as_ref()
            .ok_or_else(|| plain_error("compute the signals first"))?;
        let outcome = attack_signals(
            &self.data()?,
            signals,
            &config,
            &mut crate::progress::NoProgress,
        )
        .map_err(js_error)?;
        let report: serde_json::Value =
            serde_json::from_str(&outcome.report.to_json().map_err(js_error)?)
                .map_err(plain_error)?;
        let table = &outcome.per_record;
        serde_json::to_string(&serde_json::json!({
            "report": report,
            "perRecord": {"header": table.header, "rows": table.rows},
            "perRecordCsv": table.to_csv().map_err(js_error)?,
        }))
        .map_err(plain_error)
    }
}

impl Lab {
    fn config(&self, config: JsValue) -> Result<AuditConfig, JsError> {
        let web: WebConfig = if config.is_undefined() || config.is_null() {
            WebConfig::default()
        } else {
            serde_wasm_bindgen::from_value(config).map_err(plain_error)?
        };
        web.audit_config()
    }

    fn data(&self) -> Result<AuditData<'_>, JsError> {
        let records = self
            .records
            .as_ref()
            .ok_or_else(|| plain_error("load the audit records first"))?;
        Ok(AuditData {
            records: &records.records,
            records_provenance: records.provenance.clone(),
            population: self
                .population
                .as_ref()
                .map(|p| (&p.records, p.provenance.clone())),
        })
    }
}

/// The WebGPU check and benchmark: runs the models in `models` (ONNX bytes: the target, then
/// its references) over the records in `features` (one record after another) with tract,
/// model by model, and with the GPU kernels on the browser's WebGPU adapter, all models in
/// each dispatch; reports both engines' records × models per second and the largest
/// difference between their outputs. Where the browser has no WebGPU or a graph does not
/// lower, says why.
#[cfg(feature = "gpu")]
#[wasm_bindgen(js_name = webgpuCheck)]
pub async fn webgpu_check(models: js_sys::Array, features: Vec<f32>) -> Result<JsValue, JsError> {
    use crate::gpu::Gpu;
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
    let max_abs_diff = cpu
        .iter()
        .zip(&out)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let work = (records * models.len()) as f64;
    to_js(&serde_json::json!({
        "available": true,
        "adapter": gpu.adapter(),
        "software": gpu.is_software(),
        "kernels": plans[0].describe(),
        "models": models.len(),
        "records": records,
        "cpuSeconds": cpu_seconds,
        "gpuSeconds": gpu_seconds,
        "cpuRate": work / cpu_seconds.max(1e-3),
        "gpuRate": work / gpu_seconds.max(1e-3),
        "maxAbsDiff": max_abs_diff,
        "compared": cpu.len().min(out.len()),
    }))
}
