//! The page's attacks on more than one core. An attack that fits a model as it scores
//! (Shokri's per-class classifiers) takes longer than all the others together, and the
//! audit runs synchronously in one worker; so the page writes the session's signals as a
//! signals file, hands it to an idle model worker that scores that attack
//! ([`score_for_audit`], a session of its own over the file), measures every other attack
//! meanwhile ([`Lab::begin_audit`]), and measures the worker's scores when they come
//! ([`Lab::finish_audit`]). A signals file holds the signals exactly and each attack's
//! interval is its own whatever else is measured beside it, so the report is the one
//! [`Lab::audit`] gives (`tests/browser/pool.test.mjs`).

use super::{Lab, js_error, plain_error, progress_sink};
use crate::Session;
use crate::audit::measure::ScoresMadeElsewhere;
use crate::config::AuditConfig;
use crate::progress::NoProgress;
use crate::signals_file::Packing;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Lab {
    /// The attacks of the audit `config_json` worth scoring in a worker of their own (they
    /// fit a model), when it has others to measure meanwhile; empty otherwise.
    #[wasm_bindgen(js_name = attacksElsewhere)]
    pub fn attacks_elsewhere(&self, config_json: &str) -> Result<Vec<String>, JsError> {
        let config = AuditConfig::from_json(config_json).map_err(js_error)?;
        self.session
            .attacks_to_score_elsewhere(&config)
            .map_err(js_error)
    }

    /// Computes the signals the audit `config_json` needs and returns them as a signals file
    /// (`.npz` bytes) for another worker to score attacks over.
    #[wasm_bindgen(js_name = signalsForElsewhere)]
    pub fn signals_for_elsewhere(
        &mut self,
        config_json: &str,
        progress: &js_sys::Function,
    ) -> Result<Vec<u8>, JsError> {
        let config = AuditConfig::from_json(config_json).map_err(js_error)?;
        let mut sink = progress_sink(progress);
        let started = crate::clock::seconds();
        let computed = self
            .session
            .compute_signals(&config, &mut sink)
            .map_err(js_error)?;
        self.signals_ahead = Some((computed, crate::clock::seconds() - started));
        self.session
            .signals_file(config.signals.temperature, Packing::Stored)
            .map_err(js_error)
    }

    /// Begins the audit `config_json` with the attacks `elsewhere` left to another worker:
    /// every other attack is scored and measured now.
    #[wasm_bindgen(js_name = beginAudit)]
    pub fn begin_audit(
        &mut self,
        config_json: &str,
        elsewhere: Vec<String>,
        progress: &js_sys::Function,
    ) -> Result<(), JsError> {
        let config = AuditConfig::from_json(config_json).map_err(js_error)?;
        let mut sink = progress_sink(progress);
        let underway = self.session.begin_audit(&config, &elsewhere, &mut sink);
        let underway = underway.map_err(|e| {
            self.signals_ahead = None;
            js_error(e)
        })?;
        self.underway = Some(underway);
        Ok(())
    }

    /// Finishes the audit begun last with the other worker's scores (what
    /// [`score_for_audit`] returned); returns what [`Lab::audit`] returns.
    #[wasm_bindgen(js_name = finishAudit)]
    pub fn finish_audit(
        &mut self,
        made: JsValue,
        progress: &js_sys::Function,
    ) -> Result<String, JsError> {
        let underway = self
            .underway
            .take()
            .ok_or_else(|| plain_error("no audit was begun to finish"))?;
        let made: Vec<ScoresMadeElsewhere> =
            serde_wasm_bindgen::from_value(made).map_err(plain_error)?;
        let mut sink = progress_sink(progress);
        let run = self
            .session
            .finish_audit(underway, made, &mut sink)
            .map_err(js_error)?;
        self.audit_result(run)
    }
}

/// Scores `attacks` for another worker's audit `config_json` over `signals` (the bytes of
/// the signals file it wrote): a session of its own over the file, measuring nothing.
#[wasm_bindgen(js_name = scoreForAudit)]
pub fn score_for_audit(
    signals: &[u8],
    config_json: &str,
    attacks: Vec<String>,
) -> Result<JsValue, JsError> {
    let mut config = AuditConfig::from_json(config_json).map_err(js_error)?;
    config.attacks = attacks;
    let file = crate::signals_file::read("the audit's signals", signals).map_err(js_error)?;
    let made = Session::from_signals_file(file)
        .score_for_elsewhere(&config, &mut NoProgress)
        .map_err(js_error)?;
    // Not the JSON-compatible form: a score may be infinite.
    serde_wasm_bindgen::to_value(&made).map_err(plain_error)
}
