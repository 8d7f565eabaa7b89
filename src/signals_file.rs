//! The signals file (`.npz`): every number an audit's attacks read, so that numpy, ML
//! Privacy Meter or any other tool can reuse exactly what mialab computed, and so that
//! `mialab audit --signals` can attack again without running a model.
//!
//! Layout (NumPy's `.npz`, deflate-compressed). Per-model matrices are `[models, records]`,
//! the layout of LiRA's `keep` and score arrays; text is UTF-8 bytes (`uint8`), since
//! `.npy` has no variable-length string type:
//!
//! | array | dtype, shape | holds |
//! |---|---|---|
//! | `meta_json` | uint8 | JSON: format, mialab version, model section, record shape, sources, each query kind's settings |
//! | `record_ids_utf8` | uint8 | record ids joined by `\n` |
//! | `labels` | int64 `[N]` | class index of every record |
//! | `membership` | bool `[N]` | ground truth, when known |
//! | `target_<signal>` | float64 `[N]` | confidence, loss, logit_scaled, entropy, modified_entropy |
//! | `target_correct` | bool `[N]` | top class is the label |
//! | `target_probabilities` | float64 `[N, C]` | softmax at the audit's temperature |
//! | `keep` | bool `[K, N]` | record i trained reference model k |
//! | `reference_<signal>` | float64 `[K, N]` | logit_scaled, confidence, loss |
//! | `reference_probabilities` | float64 `[K, N, C]` | every reference model's softmax |
//! | `population_…` | | the same for population records (no `keep`: they trained no reference) |
//!
//! Each kind of extra query writes its own arrays under the set's prefix (see the attack
//! that declares it): `augmented_<i>_…` (LiRA's augmented queries: target φ and reference
//! signals under query i, listed in meta), `encoded_probabilities` and
//! `encoded_secret_labels` (the NDSS 2025 encoding attack), `label_only_fraction_correct`
//! (the label-only attack; meta gives the queries and perturbation).
//!
//! In numpy: `z = np.load("signals.npz"); ids = bytes(z["record_ids_utf8"]).decode().split("\n")`.

use crate::attack::{QueryMap, ReadContext, query_kinds};
use crate::audit::AuditSignals;
use crate::npz::{NpzFile, NpzIn, NpzOut};
use crate::provenance::Provenance;
use crate::records::Records;
use crate::report::ModelSection;
use crate::set_signals::SetSignals;
use crate::signal::Signals;
use crate::signal_matrix::ReferenceSignals;
use ndarray::{Array1, Array2, Array3, ArrayD, IxDyn};
use ndarray_npy::{NpzWriter, WriteNpzError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Cursor;

pub use crate::npz::SignalsFileError;

/// The `format` value of files this version writes and reads.
pub const FORMAT: &str = "mialab-signals/1";

/// What the file says about where its numbers came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalsMeta {
    pub format: String,
    pub mialab_version: String,
    pub model: ModelSection,
    pub record_shape: Vec<usize>,
    pub temperature: f64,
    pub records: Provenance,
    pub population: Option<Provenance>,
    pub references: Option<Provenance>,
    /// Each reference model's file and hash, in keep-mask column order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_models: Vec<Provenance>,
    pub class_names: Option<Vec<String>>,
    /// Output defences the target's answers went through (`--defence`), in order.
    #[serde(default)]
    pub defences: Vec<String>,
    /// Each query kind's settings, under the kind's meta key (`label_only`,
    /// `augmented_queries`).
    #[serde(flatten)]
    pub queries: BTreeMap<String, serde_json::Value>,
}

/// A signals file read back: the records' labels, ids and membership (no features) and
/// every signal.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalsFile {
    pub meta: SignalsMeta,
    pub records: Records,
    pub population: Option<Records>,
    pub signals: AuditSignals,
}

/// How a signals file's arrays are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// Deflated: a file to keep or share.
    Deflated,
    /// As they are: bytes handed to another worker on the same machine, where deflating
    /// them would cost more than it saves (0.24 s of the page's audit for SUPPORT2's).
    Stored,
}

/// Writes `signals` of `records` (and `population`) as `.npz` bytes.
pub fn write(
    signals: &AuditSignals,
    records: (&Records, &Provenance),
    population: Option<(&Records, &Provenance)>,
    temperature: f64,
    packing: Packing,
) -> Result<Vec<u8>, SignalsFileError> {
    let mut queries = BTreeMap::new();
    for kind in query_kinds() {
        if let (Some(key), Some(answers)) = (kind.meta_key, signals.audit.queries.get_raw(kind)) {
            queries.insert(key.to_string(), answers.meta());
        }
    }
    let meta = SignalsMeta {
        format: FORMAT.to_string(),
        mialab_version: env!("CARGO_PKG_VERSION").to_string(),
        model: signals.model.clone(),
        record_shape: signals.record_shape.clone(),
        temperature,
        records: records.1.clone(),
        population: population.map(|(_, p)| p.clone()),
        references: signals.reference_provenance.clone(),
        reference_models: signals.reference_models.clone(),
        class_names: records.0.classes.clone(),
        defences: signals.defences.iter().map(ToString::to_string).collect(),
        queries,
    };
    let bytes = Cursor::new(Vec::new());
    let mut npz = match packing {
        Packing::Deflated => NpzWriter::new_compressed(bytes),
        Packing::Stored => NpzWriter::new(bytes),
    };
    let json = serde_json::to_vec(&meta).expect("the meta is plain data");
    npz.add_array("meta_json", &Array1::from(json))?;
    write_set(&mut npz, "", records.0, &signals.audit, true)?;
    if let (Some((pop, _)), Some(pop_signals)) = (population, &signals.population) {
        write_set(&mut npz, "population_", pop, pop_signals, false)?;
    }
    Ok(npz.finish()?.into_inner())
}

fn write_set(
    npz: &mut NpzWriter<Cursor<Vec<u8>>>,
    prefix: &str,
    records: &Records,
    set: &SetSignals,
    with_keep: bool,
) -> Result<(), WriteNpzError> {
    let mut out = NpzOut::new(npz, prefix);
    out.add(
        "record_ids_utf8",
        &Array1::from(records.ids.join("\n").into_bytes()),
    )?;
    let labels: Array1<i64> = records.labels.iter().map(|&y| y as i64).collect();
    out.add("labels", &labels)?;
    if let Some(m) = &records.membership {
        out.add("membership", &Array1::from(m.clone()))?;
    }
    let signals = &set.target;
    for (signal, values) in [
        ("confidence", &signals.confidence),
        ("loss", &signals.loss),
        ("logit_scaled", &signals.logit_scaled),
        ("entropy", &signals.entropy),
        ("modified_entropy", &signals.modified_entropy),
    ] {
        out.add(&format!("target_{signal}"), &Array1::from(values.clone()))?;
    }
    out.add("target_correct", &Array1::from(signals.correct.clone()))?;
    out.add("target_probabilities", &signals.probabilities)?;
    if let Some(r) = &set.references {
        if with_keep {
            out.add("keep", &r.keep.t())?;
        }
        for (signal, m) in [
            ("logit_scaled", &r.logit_scaled),
            ("confidence", &r.confidence),
            ("loss", &r.loss),
        ] {
            out.add(&format!("reference_{signal}"), &m.t())?;
        }
        if let Some(p) = &r.probabilities {
            out.add(
                "reference_probabilities",
                &p.view().permuted_axes([1, 0, 2]),
            )?;
        }
    }
    for kind in query_kinds() {
        if let Some(answers) = set.queries.get_raw(kind) {
            answers.write(&mut out)?;
        }
    }
    Ok(())
}

/// Reads a signals file; `file` names it in messages.
pub fn read(file: &str, bytes: &[u8]) -> Result<SignalsFile, SignalsFileError> {
    let mut npz = NpzFile::open(file, bytes)?;
    let meta_bytes: Array1<u8> = npz.set("").array("meta_json", None)?;
    let meta: SignalsMeta = serde_json::from_slice(meta_bytes.as_slice().unwrap_or_default())
        .map_err(|e| SignalsFileError::Content {
            file: file.to_string(),
            message: format!("meta_json is not the expected JSON: {e}"),
        })?;
    if meta.format != FORMAT {
        return Err(SignalsFileError::Format {
            file: file.to_string(),
            found: meta.format,
            expected: FORMAT,
        });
    }
    let (records, audit) = read_set(&mut npz.set(""), &meta, true)?;
    let population = match npz.set("population_").has("labels") {
        true => Some(read_set(&mut npz.set("population_"), &meta, false)?),
        false => None,
    };
    let defences = meta
        .defences
        .iter()
        .map(|d| d.parse())
        .collect::<Result<_, crate::defence::DefenceError>>()
        .map_err(|e| SignalsFileError::Content {
            file: file.to_string(),
            message: format!("its defences: {e}"),
        })?;
    let (population_records, population_signals) = population.unzip();
    let signals = AuditSignals {
        model: meta.model.clone(),
        record_shape: meta.record_shape.clone(),
        defences,
        reference_provenance: audit.references.as_ref().and(meta.references.clone()),
        reference_models: match audit.references {
            Some(_) => meta.reference_models.clone(),
            None => Vec::new(),
        },
        audit,
        population: population_signals,
    };
    Ok(SignalsFile {
        meta,
        records,
        population: population_records,
        signals,
    })
}

/// One record set's records (labels, ids, membership; no features) and signals.
fn read_set(
    input: &mut NpzIn<'_, '_>,
    meta: &SignalsMeta,
    with_keep: bool,
) -> Result<(Records, SetSignals), SignalsFileError> {
    let classes = meta.model.classes;
    let labels = input.labels("labels", None, classes)?;
    let n = labels.len();
    let id_bytes: Array1<u8> = input.array("record_ids_utf8", None)?;
    let ids: Vec<String> = String::from_utf8(id_bytes.to_vec())
        .map_err(|_| input.content("its record ids are not UTF-8"))?
        .split('\n')
        .map(str::to_string)
        .collect();
    if ids.len() != n {
        return Err(input.content(format!("{} ids for {n} labels", ids.len())));
    }
    let membership = match input.has("membership") {
        true => Some(
            input
                .array::<bool, ndarray::Ix1>("membership", Some(&[n]))?
                .to_vec(),
        ),
        false => None,
    };
    let target = Signals {
        confidence: input.vector("target_confidence", n)?,
        loss: input.vector("target_loss", n)?,
        logit_scaled: input.vector("target_logit_scaled", n)?,
        entropy: input.vector("target_entropy", n)?,
        modified_entropy: input.vector("target_modified_entropy", n)?,
        correct: input
            .array::<bool, ndarray::Ix1>("target_correct", Some(&[n]))?
            .to_vec(),
        probabilities: input.array("target_probabilities", Some(&[n, classes]))?,
    };
    let references = read_references(input, n, classes, with_keep)?;
    let mut queries = QueryMap::default();
    for kind in query_kinds().filter(|k| with_keep || k.population) {
        let null = serde_json::Value::Null;
        let context = ReadContext {
            records: n,
            labels: &labels,
            classes,
            references: references.as_ref(),
            meta: kind
                .meta_key
                .and_then(|key| meta.queries.get(key))
                .unwrap_or(&null),
        };
        if let Some(answers) = (kind.read)(input, &context)? {
            queries.insert(kind, answers);
        }
    }
    let records = Records {
        source: input.file_name().to_string(),
        ids,
        features: ArrayD::zeros(IxDyn(&[n, 0])),
        feature_names: Vec::new(),
        labels,
        membership,
        classes: meta.class_names.clone(),
        missing: None,
    };
    let signals = SetSignals {
        target,
        references,
        queries,
    };
    Ok((records, signals))
}

fn read_references(
    input: &mut NpzIn<'_, '_>,
    n: usize,
    classes: usize,
    with_keep: bool,
) -> Result<Option<ReferenceSignals>, SignalsFileError> {
    if !input.has("reference_logit_scaled") {
        return Ok(None);
    }
    let phi: Array2<f64> = input.array("reference_logit_scaled", None)?;
    let k = phi.nrows();
    let keep: Array2<bool> = if with_keep {
        input.array("keep", Some(&[k, n]))?
    } else {
        Array2::from_elem((k, n), false)
    };
    let confidence: Array2<f64> = input.array("reference_confidence", Some(&[k, n]))?;
    let loss: Array2<f64> = input.array("reference_loss", Some(&[k, n]))?;
    let matrix = ReferenceSignals::new(
        phi.reversed_axes(),
        confidence.reversed_axes(),
        loss.reversed_axes(),
        keep.reversed_axes(),
    )
    .map_err(|e| input.content(e.to_string()))?;
    if !input.has("reference_probabilities") {
        return Ok(Some(matrix));
    }
    let p: Array3<f64> = input.array("reference_probabilities", Some(&[k, n, classes]))?;
    matrix
        .with_probabilities(p.permuted_axes([1, 0, 2]).as_standard_layout().into_owned())
        .map(Some)
        .map_err(|e| input.content(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::EncodingSetup;
    use crate::attack::{
        AUGMENTED, AugmentedQueries, AugmentedQuery, ENCODED, EncodedQueries, LabelOnlyQueries,
        PERTURBED, QueryAnswers,
    };
    use crate::augment::Query;
    use crate::model::OutputKind;
    use ndarray::array;

    fn signals_of(p: &[f64]) -> Signals {
        Signals {
            confidence: p.to_vec(),
            loss: p.iter().map(|p| -p.ln()).collect(),
            logit_scaled: p.iter().map(|p| (p / (1.0 - p)).ln()).collect(),
            entropy: vec![0.5; p.len()],
            modified_entropy: vec![0.25; p.len()],
            correct: p.iter().map(|p| *p > 0.5).collect(),
            probabilities: Array2::from_shape_fn((p.len(), 2), |(i, c)| {
                if c == 0 { p[i] } else { 1.0 - p[i] }
            }),
        }
    }

    fn records(ids: &[&str], membership: Option<Vec<bool>>) -> Records {
        Records {
            source: "r".to_string(),
            ids: ids.iter().map(|s| s.to_string()).collect(),
            features: ArrayD::zeros(IxDyn(&[ids.len(), 0])),
            feature_names: Vec::new(),
            labels: vec![0; ids.len()],
            membership,
            classes: Some(vec!["alive".into(), "dead".into()]),
            missing: None,
        }
    }

    #[test]
    fn every_signal_survives_a_round_trip_including_augmented_queries() {
        let keep = array![[true, false], [false, true], [true, true]];
        let phi = array![[0.1, 0.2], [0.3, -0.4], [1.5, 2.5]];
        let refs = ReferenceSignals::new(
            phi.clone(),
            phi.mapv(f64::exp),
            phi.mapv(f64::abs),
            keep.clone(),
        )
        .unwrap()
        .with_probabilities(ndarray::Array3::from_elem((3, 2, 2), 0.5))
        .unwrap();
        let pop_refs = ReferenceSignals::new(
            array![[0.0, 1.0]],
            array![[0.5, 0.7]],
            array![[0.6, 0.3]],
            array![[false, false]],
        )
        .unwrap();
        let provenance = |s: &str| Provenance {
            source: s.to_string(),
            sha256: "00".to_string(),
        };
        let augmented = AugmentedQueries {
            queries: vec![AugmentedQuery {
                query: Query {
                    flip: true,
                    dx: -1,
                    dy: 2,
                },
                target_logit_scaled: vec![0.5, 0.25, -1.0],
                references: ReferenceSignals::new(
                    phi.mapv(|v| v * 2.0),
                    phi.mapv(|v| v * 3.0),
                    phi.mapv(|v| v * 4.0),
                    keep,
                )
                .unwrap(),
            }],
        };
        let label_only = |fraction_correct: Vec<f64>| LabelOnlyQueries {
            fraction_correct,
            queries: 4,
            perturbation: "noise".into(),
        };
        let signals = AuditSignals {
            model: ModelSection {
                source: "m.onnx".into(),
                sha256: "ab".into(),
                input: "'x' float[batch, 4]".into(),
                output: "y".into(),
                output_kind: OutputKind::Logits,
                expanded_single_output: false,
                classes: 2,
                parameters: 10,
                backend: None,
            },
            record_shape: vec![4],
            defences: vec![crate::defence::Defence::Round(2)],
            reference_provenance: Some(provenance("refs")),
            reference_models: vec![provenance("ref-00.onnx")],
            audit: SetSignals::new(signals_of(&[0.9, 0.2, 0.6]))
                .with_references(refs.clone())
                .with_answers(
                    &ENCODED,
                    QueryAnswers::new(EncodedQueries {
                        probabilities: array![[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]],
                        secret_labels: vec![1, 0, 1],
                        own_log_odds: vec![-1.4, 0.4, 0.0],
                        secret_log_odds: vec![1.4, 0.4, 60.0],
                        made: EncodingSetup {
                            normalization: Some("model:0.5:0.25".parse().unwrap()),
                            hint: None,
                        },
                    }),
                )
                .with_answers(
                    &PERTURBED,
                    QueryAnswers::new(label_only(vec![1.0, 0.25, 0.5])),
                )
                .with_answers(&AUGMENTED, QueryAnswers::new(augmented)),
            population: Some(
                SetSignals::new(signals_of(&[0.4]))
                    .with_references(pop_refs)
                    .with_answers(
                        &ENCODED,
                        QueryAnswers::new(EncodedQueries {
                            probabilities: array![[0.9, 0.1]],
                            secret_labels: vec![0],
                            own_log_odds: vec![2.2],
                            secret_log_odds: vec![2.2],
                            made: EncodingSetup {
                                normalization: Some("model:0.5:0.25".parse().unwrap()),
                                hint: None,
                            },
                        }),
                    )
                    .with_answers(&PERTURBED, QueryAnswers::new(label_only(vec![0.75]))),
            ),
        };
        let audit = records(&["a", "b", "c"], Some(vec![true, false, true]));
        let population = records(&["z"], None);
        for packing in [Packing::Deflated, Packing::Stored] {
            let bytes = write(
                &signals,
                (&audit, &provenance("audit.csv")),
                Some((&population, &provenance("pop.csv"))),
                1.0,
                packing,
            )
            .unwrap();
            let back = read("s.npz", &bytes).unwrap();
            assert_eq!(back.signals, signals, "{packing:?}");
            assert_eq!(back.records.ids, audit.ids);
            assert_eq!(back.records.membership, audit.membership);
            assert_eq!(back.population.unwrap().ids, vec!["z".to_string()]);
            assert_eq!(back.meta.records.source, "audit.csv");
            assert_eq!(back.meta.defences, vec!["round:2".to_string()]);
        }
    }
}
