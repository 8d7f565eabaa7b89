//! The page's extra queries on more than one core. While the model workers run the target and
//! its references, the audit's worker makes the queries that need only the target; those that
//! split into parts (label-only's perturbed copies, [`crate::attack::QueryParts`]) are shared
//! out so that every thread finishes at about the same time
//! ([`crate::session::share_query_parts`]). A model worker
//! makes its share with a [`QueryMaker`] (the same query code over the same target and
//! records) and returns one sum per record and part range, which the audit's worker adds to
//! its own ([`super::Lab::accept_query_parts`]); sums add up the same whoever made which part,
//! so the report is the one a single thread gives (`tests/browser/pool.test.mjs`).

use super::{js_error, plain_error};
use crate::attack::query_kinds;
use crate::audit::compute::{ModelInputs, RecordSet, set_query_parts};
use crate::config::AuditConfig;
use crate::engine::Engine;
use crate::model::{Model, ModelOptions};
use crate::progress::NoProgress;
use crate::records::Records;
use ndarray::{ArrayD, IxDyn};
use wasm_bindgen::prelude::*;

/// Makes parts of the target-only queries in a model worker: the target loaded as the audit
/// loads it, the audit's records (and population) with their labels, and its settings.
#[wasm_bindgen]
pub struct QueryMaker {
    engine: Engine,
    target: Model,
    config: AuditConfig,
    /// The audit records, then the population if any.
    sets: Vec<Records>,
}

#[wasm_bindgen]
impl QueryMaker {
    /// `target`: the model's ONNX bytes; `config_json`: the audit's settings.
    #[wasm_bindgen(constructor)]
    pub fn new(target: &[u8], config_json: &str) -> Result<QueryMaker, JsError> {
        Ok(QueryMaker {
            engine: Engine::default(),
            target: Model::from_bytes(target, &ModelOptions::default()).map_err(js_error)?,
            config: AuditConfig::from_json(config_json).map_err(js_error)?,
            sets: Vec::new(),
        })
    }

    /// Adds the next record set (the audit records first): values one record after another,
    /// and each record's label.
    #[wasm_bindgen(js_name = addSet)]
    pub fn add_set(&mut self, features: &[f32], labels: &[u32]) -> Result<(), JsError> {
        let shape = [&[labels.len()][..], &self.target.info().record_shape].concat();
        let features = ArrayD::from_shape_vec(IxDyn(&shape), features.to_vec()).map_err(|_| {
            plain_error(format!(
                "{} values are not {} records of the model's shape",
                features.len(),
                labels.len()
            ))
        })?;
        self.sets.push(Records {
            source: String::new(),
            ids: Vec::new(),
            features,
            feature_names: Vec::new(),
            labels: labels.iter().map(|&l| l as usize).collect(),
            membership: None,
            classes: None,
            missing: None,
        });
        Ok(())
    }

    /// Parts `start..end` of the `kind` queries about set `set`: one sum per record.
    pub fn make(
        &self,
        kind: &str,
        set: usize,
        start: usize,
        end: usize,
    ) -> Result<Vec<u32>, JsError> {
        let kind = query_kinds()
            .find(|k| k.id == kind)
            .ok_or_else(|| plain_error(format!("no query kind is called {kind}")))?;
        let (Some(audit), Some(records)) = (self.sets.first(), self.sets.get(set)) else {
            return Err(plain_error(format!("record set {set} was not added")));
        };
        let inputs = ModelInputs {
            engine: &self.engine,
            target: &self.target,
            audit,
            population: self.sets.get(1),
            references: None,
        };
        let which = if set == 0 {
            RecordSet::Audit
        } else {
            RecordSet::Population
        };
        let part = start..end;
        set_query_parts(
            kind,
            &inputs,
            records,
            which,
            &self.config,
            part,
            &mut NoProgress,
        )
        .map_err(js_error)?
        .ok_or_else(|| plain_error(format!("the {} queries do not split into parts", kind.id)))
    }
}
