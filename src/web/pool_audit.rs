//! The page's audit on every core. One wasm instance runs on one thread, and the audit runs
//! synchronously in one worker; so before an audit the page asks the [`Lab`] for a
//! [`PoolJob`] (the model runs over whole record sets the audit would make now, with each
//! model's ONNX bytes and the records), splits its models across a pool of Web Workers that
//! each load them into their own instance ([`super::inference::InferenceModel`]), and hands
//! the outputs back ([`Lab::remember_pool_outputs`]). The audit's own calls for those models
//! on those records then find them, reported as the CPU engine would report its own run: the
//! same engine loads the same bytes, so the report is the same whatever the pool's size
//! (`tests/browser/pool.test.mjs`).

use super::job_sets::{JobSet, job_sets};
use super::{Lab, js_error, plain_error};
use crate::config::AuditConfig;
use crate::session::{QueryAhead, QueryPartRange, share_query_parts};
use ndarray::Array2;
use wasm_bindgen::prelude::*;

/// One model of a job: its load-unique id (which the pool's workers cache it by) and bytes.
struct JobModel {
    id: u64,
    bytes: Vec<u8>,
    width: usize,
}

/// What a pool of workers runs before an audit: models over record sets, and what came back.
#[wasm_bindgen]
pub struct PoolJob {
    models: Vec<JobModel>,
    sets: Vec<JobSet>,
    /// For each set, the models (indices into `models`) to run over it.
    runs: Vec<Vec<usize>>,
    /// The outputs accepted so far, by (model, set).
    outputs: Vec<(usize, usize, Array2<f32>)>,
    batch_size: usize,
    /// The target-only queries the audit's worker makes meanwhile, some of whose parts the
    /// pool's workers may make ([`super::query_parts`]).
    queries: Vec<QueryAhead>,
}

#[wasm_bindgen]
impl PoolJob {
    /// How many models the job holds (the target first, then the references).
    #[wasm_bindgen(getter)]
    pub fn models(&self) -> usize {
        self.models.len()
    }

    /// How many record sets (the audit records, then the population if it runs).
    #[wasm_bindgen(getter)]
    pub fn sets(&self) -> usize {
        self.sets.len()
    }

    /// Records per inference call, as the audit's settings ask.
    #[wasm_bindgen(getter, js_name = batchSize)]
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Whether the audit's own worker has queries to make meanwhile
    /// ([`Lab::prepare_queries`]): a core the pool should leave to it.
    #[wasm_bindgen(getter, js_name = queriesAhead)]
    pub fn queries_ahead(&self) -> bool {
        !self.queries.is_empty()
    }

    /// Whether there is nothing to run.
    #[wasm_bindgen(getter)]
    pub fn empty(&self) -> bool {
        self.runs.iter().all(Vec::is_empty)
    }

    /// Model `model`'s id: the same id is the same loaded model.
    #[wasm_bindgen(js_name = modelKey)]
    pub fn model_key(&self, model: usize) -> String {
        self.models
            .get(model)
            .map_or_else(String::new, |m| m.id.to_string())
    }

    /// Model `model`'s ONNX bytes.
    #[wasm_bindgen(js_name = modelBytes)]
    pub fn model_bytes(&self, model: usize) -> Vec<u8> {
        self.models
            .get(model)
            .map_or_else(Vec::new, |m| m.bytes.clone())
    }

    /// Record set `set`'s values, one record after another.
    #[wasm_bindgen(js_name = setFeatures)]
    pub fn set_features(&self, set: usize) -> Vec<f32> {
        self.sets
            .get(set)
            .map_or_else(Vec::new, |s| s.features.clone())
    }

    /// Set `set`'s labels, one per record.
    #[wasm_bindgen(js_name = setLabels)]
    pub fn set_labels(&self, set: usize) -> Vec<u32> {
        self.sets
            .get(set)
            .map_or_else(Vec::new, |s| s.labels.clone())
    }

    /// The parts of the target-only queries each of `threads` model workers should make
    /// besides its model runs (a list of `{kind, set, start, end}` per worker), so that they
    /// and the audit's worker, which makes the rest, finish at about the same time.
    #[wasm_bindgen(js_name = queryShares)]
    pub fn query_shares(&self, threads: usize) -> Result<JsValue, JsError> {
        let model_runs: usize = self
            .runs
            .iter()
            .zip(&self.sets)
            .map(|(models, set)| models.len() * set.records)
            .sum();
        super::to_js(&share_query_parts(&self.queries, model_runs, threads))
    }

    /// The models to run over set `set`.
    #[wasm_bindgen(js_name = setModels)]
    pub fn set_models(&self, set: usize) -> Vec<usize> {
        self.runs.get(set).cloned().unwrap_or_default()
    }

    /// Takes model `model`'s outputs over set `set`, one record's after another.
    pub fn accept(&mut self, model: usize, set: usize, values: Vec<f32>) -> Result<(), JsError> {
        let wanted = self.runs.get(set).is_some_and(|r| r.contains(&model));
        if !wanted {
            return Err(plain_error(format!(
                "model {model} is not to run over record set {set}"
            )));
        }
        let (records, width) = (self.sets[set].records, self.models[model].width);
        let output = Array2::from_shape_vec((records, width), values).map_err(|_| {
            plain_error(format!(
                "a worker returned the wrong number of outputs for model {model}: {records} records × {width} were expected"
            ))
        })?;
        self.outputs.retain(|(m, s, _)| (*m, *s) != (model, set));
        self.outputs.push((model, set, output));
        Ok(())
    }
}

#[wasm_bindgen]
impl Lab {
    /// The pool job for an audit with `config_json`: the target and reference runs over the
    /// audit and population records the audit would make now. `undefined` where a pool cannot
    /// stand in for the audit's own runs (outputs provided instead of a model, the engine
    /// choice is tract or the GPU, or auto without a reason the GPU is not used).
    #[wasm_bindgen(js_name = poolJob)]
    pub fn pool_job(&self, config_json: &str) -> Result<Option<PoolJob>, JsError> {
        let config = AuditConfig::from_json(config_json).map_err(js_error)?;
        let session = &self.session;
        let (Some(target), Ok(sets)) = (session.target(), job_sets(session)) else {
            return Ok(None);
        };
        if session
            .engine()
            .cpu_used(target, config.signals.backend)
            .is_none()
        {
            return Ok(None);
        }
        let (Ok(pending), Ok(queries)) = (
            session.pending_runs(&config),
            session.queries_to_make(&config),
        ) else {
            return Ok(None);
        };
        let references = session.loaded_references();
        // Records a model cannot read are the audit's to refuse, in its own words.
        let readable = std::iter::once(target).chain(references).all(|m| {
            sets.iter()
                .all(|set| m.check_records(&set.shape, "").is_ok())
        });
        if !readable {
            return Ok(None);
        }
        let models: Vec<JobModel> = std::iter::once((target, &self.model_bytes))
            .chain(references.iter().zip(&self.reference_bytes))
            .map(|(model, bytes)| JobModel {
                id: model.id(),
                bytes: bytes.clone(),
                width: model.info().output_width,
            })
            .collect();
        let runs = (0..sets.len())
            .map(|set| {
                let mut run = Vec::new();
                if pending.target[set] {
                    run.push(0);
                }
                if pending.references[set] {
                    run.extend(1..models.len());
                }
                run
            })
            .collect();
        Ok(Some(PoolJob {
            models,
            sets,
            runs,
            outputs: Vec::new(),
            batch_size: config.signals.batch_size,
            queries,
        }))
    }

    /// Makes the extra queries the audit `config_json` would make that run only the target
    /// (label-only's noisy copies, the encoded queries), while the pool's workers run the
    /// models; the audit takes them if nothing they depend on changed in between. The parts
    /// in `elsewhere` (`{kind, set, start, end}` ranges, from [`PoolJob::query_shares`]) are
    /// left to the pool's workers ([`Lab::accept_query_parts`]). `progress(step, done,
    /// total)` is called as they are made.
    #[wasm_bindgen(js_name = prepareQueries)]
    pub fn prepare_queries(
        &mut self,
        config_json: &str,
        elsewhere: JsValue,
        progress: &js_sys::Function,
    ) -> Result<(), JsError> {
        let config = AuditConfig::from_json(config_json).map_err(js_error)?;
        let elsewhere: Vec<QueryPartRange> = if elsewhere.is_undefined() {
            Vec::new()
        } else {
            serde_wasm_bindgen::from_value(elsewhere).map_err(plain_error)?
        };
        let mut sink = super::progress_sink(progress);
        self.session
            .prepare_queries(&config, &elsewhere, &mut sink)
            .map_err(js_error)
    }

    /// Adds a model worker's sums (one per record) over the query parts `part`
    /// (`{kind, set, start, end}`) that [`Lab::prepare_queries`] left to it.
    #[wasm_bindgen(js_name = acceptQueryParts)]
    pub fn accept_query_parts(&mut self, part: JsValue, sums: &[u32]) -> Result<(), JsError> {
        let part: QueryPartRange = serde_wasm_bindgen::from_value(part).map_err(plain_error)?;
        self.session
            .accept_query_parts(&part, sums)
            .map_err(js_error)
    }

    /// Hands a pool job's outputs to the session's engine, reported as its own CPU runs under
    /// the job's engine choice; every run the job asked for must have come back.
    #[wasm_bindgen(js_name = rememberPoolOutputs)]
    pub fn remember_pool_outputs(
        &mut self,
        job: PoolJob,
        config_json: &str,
    ) -> Result<(), JsError> {
        let config = AuditConfig::from_json(config_json).map_err(js_error)?;
        let asked: usize = job.runs.iter().map(Vec::len).sum();
        if job.outputs.len() != asked {
            return Err(plain_error(format!(
                "the workers returned {} of the {asked} model runs",
                job.outputs.len()
            )));
        }
        let session = &self.session;
        let models: Vec<_> = session
            .target()
            .into_iter()
            .chain(session.loaded_references())
            .collect();
        let engine = session.engine();
        for (model, set, output) in job.outputs {
            let loaded = models
                .get(model)
                .filter(|m| m.id() == job.models[model].id)
                .ok_or_else(|| plain_error("the models changed while the workers ran them"))?;
            let used = engine
                .cpu_used(loaded, config.signals.backend)
                .ok_or_else(|| plain_error("the engine choice changed while the workers ran"))?;
            engine.remember(loaded.id(), job.sets[set].fingerprint, output, used);
        }
        Ok(())
    }
}
