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
//! | `meta_json` | uint8 | JSON: format, mialab version, model section, record shape, sources |
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
//! | `augmented_<i>_…` | | target φ and reference signals under augmented query i (meta lists them) |
//! | `encoded_probabilities`, `encoded_secret_labels` | float64 `[N, C]`, int64 `[N]` | the target on the membership-encoded queries (NDSS 2025), when computed |
//! | `label_only_fraction_correct` | float64 `[N]` | fraction of each record's perturbed copies the target still labels correctly (label-only attack; meta gives the queries and perturbation), when computed |
//!
//! In numpy: `z = np.load("signals.npz"); ids = bytes(z["record_ids_utf8"]).decode().split("\n")`.

use crate::attack::{AugmentedQuery, EncodedQueries, LabelOnlyQueries};
use crate::audit::{AuditSignals, Provenance};
use crate::augment::Query;
use crate::records::Records;
use crate::report::ModelSection;
use crate::signal::Signals;
use crate::signal_matrix::ReferenceSignals;
use ndarray::{Array1, Array2, Array3, ArrayD, Dimension, IxDyn};
use ndarray_npy::{NpzReader, NpzWriter, ReadNpzError, WriteNpzError};
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use thiserror::Error;

/// The `format` value of files this version writes and reads.
pub const FORMAT: &str = "mialab-signals/1";

/// A signals file that cannot be written or read.
#[derive(Debug, Error)]
pub enum SignalsFileError {
    #[error("cannot write the signals file: {0}")]
    Write(#[from] WriteNpzError),
    #[error("{file} is not a readable .npz signals file: {message}")]
    Read { file: String, message: String },
    #[error("{file} is a '{found}' file; this mialab reads '{FORMAT}'")]
    Format { file: String, found: String },
    #[error("{file}: array '{name}' has shape {found:?}, expected {expected:?}")]
    Shape {
        file: String,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("{file}: {message}")]
    Content { file: String, message: String },
}

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
    pub class_names: Option<Vec<String>>,
    /// Output defences the target's answers went through (`--defence`), in order.
    #[serde(default)]
    pub defences: Vec<String>,
    /// How the label-only attack's perturbed copies were made, when the file holds them.
    #[serde(default)]
    pub label_only: Option<LabelOnlyMeta>,
    /// Augmented queries stored as `augmented_<i>_…`, in this order.
    #[serde(default)]
    pub augmented_queries: Vec<QueryMeta>,
}

/// The label-only queries' settings, beside their `label_only_fraction_correct` arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelOnlyMeta {
    pub queries: usize,
    pub perturbation: String,
}

/// One augmented query as the file names it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueryMeta {
    pub flip: bool,
    pub dx: isize,
    pub dy: isize,
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

/// Writes `signals` of `records` (and `population`) as `.npz` bytes.
pub fn write(
    signals: &AuditSignals,
    records: (&Records, &Provenance),
    population: Option<(&Records, &Provenance)>,
    temperature: f64,
) -> Result<Vec<u8>, SignalsFileError> {
    let meta = SignalsMeta {
        format: FORMAT.to_string(),
        mialab_version: env!("CARGO_PKG_VERSION").to_string(),
        model: signals.model.clone(),
        record_shape: signals.record_shape.clone(),
        temperature,
        records: records.1.clone(),
        population: population.map(|(_, p)| p.clone()),
        references: signals.reference_provenance.clone(),
        class_names: records.0.classes.clone(),
        defences: signals.defences.iter().map(ToString::to_string).collect(),
        label_only: signals.label_only.as_ref().map(|l| LabelOnlyMeta {
            queries: l.queries,
            perturbation: l.perturbation.clone(),
        }),
        augmented_queries: signals
            .augmented
            .iter()
            .map(|a| QueryMeta {
                flip: a.query.flip,
                dx: a.query.dx,
                dy: a.query.dy,
            })
            .collect(),
    };
    let mut npz = NpzWriter::new_compressed(Cursor::new(Vec::new()));
    let json = serde_json::to_vec(&meta).expect("the meta is plain data");
    npz.add_array("meta_json", &Array1::from(json))?;
    write_set(
        &mut npz,
        "",
        records.0,
        &signals.target,
        signals.references.as_ref(),
        true,
    )?;
    if let (Some((pop, _)), Some(pop_signals)) = (population, &signals.population) {
        write_set(
            &mut npz,
            "population_",
            pop,
            pop_signals,
            signals.population_references.as_ref(),
            false,
        )?;
    }
    for (prefix, encoded) in [
        ("", &signals.encoded),
        ("population_", &signals.population_encoded),
    ] {
        if let Some(e) = encoded {
            npz.add_array(format!("{prefix}encoded_probabilities"), &e.probabilities)?;
            let labels: Array1<i64> = e.secret_labels.iter().map(|&y| y as i64).collect();
            npz.add_array(format!("{prefix}encoded_secret_labels"), &labels)?;
        }
    }
    for (prefix, queries) in [
        ("", &signals.label_only),
        ("population_", &signals.population_label_only),
    ] {
        if let Some(q) = queries {
            npz.add_array(
                format!("{prefix}label_only_fraction_correct"),
                &Array1::from(q.fraction_correct.clone()),
            )?;
        }
    }
    for (i, query) in signals.augmented.iter().enumerate() {
        let name = |n: &str| format!("augmented_{i}_{n}");
        npz.add_array(
            name("target_logit_scaled"),
            &Array1::from(query.target_logit_scaled.clone()),
        )?;
        let r = &query.references;
        for (signal, m) in [
            ("logit_scaled", &r.logit_scaled),
            ("confidence", &r.confidence),
            ("loss", &r.loss),
        ] {
            npz.add_array(name(&format!("reference_{signal}")), &m.t())?;
        }
    }
    Ok(npz.finish()?.into_inner())
}

fn write_set(
    npz: &mut NpzWriter<Cursor<Vec<u8>>>,
    prefix: &str,
    records: &Records,
    signals: &Signals,
    references: Option<&ReferenceSignals>,
    with_keep: bool,
) -> Result<(), WriteNpzError> {
    let name = |n: &str| format!("{prefix}{n}");
    npz.add_array(
        name("record_ids_utf8"),
        &Array1::from(records.ids.join("\n").into_bytes()),
    )?;
    let labels: Array1<i64> = records.labels.iter().map(|&y| y as i64).collect();
    npz.add_array(name("labels"), &labels)?;
    if let Some(m) = &records.membership {
        npz.add_array(name("membership"), &Array1::from(m.clone()))?;
    }
    for (signal, values) in [
        ("confidence", &signals.confidence),
        ("loss", &signals.loss),
        ("logit_scaled", &signals.logit_scaled),
        ("entropy", &signals.entropy),
        ("modified_entropy", &signals.modified_entropy),
    ] {
        npz.add_array(
            name(&format!("target_{signal}")),
            &Array1::from(values.clone()),
        )?;
    }
    npz.add_array(
        name("target_correct"),
        &Array1::from(signals.correct.clone()),
    )?;
    npz.add_array(name("target_probabilities"), &signals.probabilities)?;
    if let Some(r) = references {
        if with_keep {
            npz.add_array(name("keep"), &r.keep.t())?;
        }
        for (signal, m) in [
            ("logit_scaled", &r.logit_scaled),
            ("confidence", &r.confidence),
            ("loss", &r.loss),
        ] {
            npz.add_array(name(&format!("reference_{signal}")), &m.t())?;
        }
        if let Some(p) = &r.probabilities {
            npz.add_array(
                name("reference_probabilities"),
                &p.view().permuted_axes([1, 0, 2]),
            )?;
        }
    }
    Ok(())
}

/// Reads a signals file; `file` names it in messages.
pub fn read(file: &str, bytes: &[u8]) -> Result<SignalsFile, SignalsFileError> {
    let mut reader = Reader::new(file, bytes)?;
    let meta_bytes: Array1<u8> = reader.array("meta_json", None)?;
    let meta: SignalsMeta = serde_json::from_slice(meta_bytes.as_slice().unwrap_or_default())
        .map_err(|e| SignalsFileError::Content {
            file: file.to_string(),
            message: format!("meta_json is not the expected JSON: {e}"),
        })?;
    if meta.format != FORMAT {
        return Err(SignalsFileError::Format {
            file: file.to_string(),
            found: meta.format,
        });
    }
    let (records, target, references) = reader.set("", &meta, true)?;
    let (population, population_signals, population_references) =
        match reader.has("population_labels") {
            true => {
                let (r, s, refs) = reader.set("population_", &meta, false)?;
                (Some(r), Some(s), refs)
            }
            false => (None, None, None),
        };
    let mut augmented = Vec::with_capacity(meta.augmented_queries.len());
    if let Some(refs) = &references {
        for (i, q) in meta.augmented_queries.iter().enumerate() {
            augmented.push(reader.augmented_query(i, *q, refs)?);
        }
    }
    let classes = meta.model.classes;
    let encoded = reader.encoded("", records.len(), classes)?;
    let population_encoded = match &population {
        Some(p) => reader.encoded("population_", p.len(), classes)?,
        None => None,
    };
    let mut label_only_set = |prefix: &str, n: usize| -> Result<_, SignalsFileError> {
        let name = format!("{prefix}label_only_fraction_correct");
        match &meta.label_only {
            Some(m) if reader.has(&name) => Ok(Some(LabelOnlyQueries {
                fraction_correct: reader.vector(&name, n)?,
                queries: m.queries,
                perturbation: m.perturbation.clone(),
            })),
            _ => Ok(None),
        }
    };
    let label_only = label_only_set("", records.len())?;
    let population_label_only = match &population {
        Some(p) => label_only_set("population_", p.len())?,
        None => None,
    };
    let signals = AuditSignals {
        model: meta.model.clone(),
        record_shape: meta.record_shape.clone(),
        target,
        population: population_signals,
        reference_provenance: references.as_ref().and(meta.references.clone()),
        references,
        population_references,
        augmented,
        encoded,
        population_encoded,
        label_only,
        population_label_only,
        defences: meta
            .defences
            .iter()
            .map(|d| d.parse())
            .collect::<Result<_, crate::defence::DefenceError>>()
            .map_err(|e| SignalsFileError::Content {
                file: file.to_string(),
                message: format!("its defences: {e}"),
            })?,
    };
    Ok(SignalsFile {
        meta,
        records,
        population,
        signals,
    })
}

struct Reader<'a> {
    file: &'a str,
    npz: NpzReader<Cursor<&'a [u8]>>,
    names: Vec<String>,
}

impl<'a> Reader<'a> {
    fn new(file: &'a str, bytes: &'a [u8]) -> Result<Reader<'a>, SignalsFileError> {
        let error = |e: ReadNpzError| SignalsFileError::Read {
            file: file.to_string(),
            message: e.to_string(),
        };
        let mut npz = NpzReader::new(Cursor::new(bytes)).map_err(error)?;
        let names = npz.names().map_err(error)?;
        Ok(Reader { file, npz, names })
    }

    fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// Reads `name` as an array of `D`, checking its shape when `expected` is given.
    fn array<T, D>(
        &mut self,
        name: &str,
        expected: Option<&[usize]>,
    ) -> Result<ndarray::Array<T, D>, SignalsFileError>
    where
        T: ndarray_npy::ReadableElement,
        D: Dimension,
    {
        let array: ArrayD<T> = self.npz.by_name(name).map_err(|e| SignalsFileError::Read {
            file: self.file.to_string(),
            message: format!("array '{name}': {e}"),
        })?;
        let found = array.shape().to_vec();
        let shape_error = |expected: Vec<usize>| SignalsFileError::Shape {
            file: self.file.to_string(),
            name: name.to_string(),
            expected,
            found: found.clone(),
        };
        if let Some(expected) = expected
            && expected != found.as_slice()
        {
            return Err(shape_error(expected.to_vec()));
        }
        array
            .into_dimensionality::<D>()
            .map_err(|_| shape_error(vec![0; D::NDIM.unwrap_or(0)]))
    }

    fn vector(&mut self, name: &str, n: usize) -> Result<Vec<f64>, SignalsFileError> {
        Ok(self.array::<f64, ndarray::Ix1>(name, Some(&[n]))?.to_vec())
    }

    /// The target's outputs on encoded queries, when the file holds them.
    fn encoded(
        &mut self,
        prefix: &str,
        n: usize,
        classes: usize,
    ) -> Result<Option<EncodedQueries>, SignalsFileError> {
        let name = |s: &str| format!("{prefix}encoded_{s}");
        if !self.has(&name("probabilities")) {
            return Ok(None);
        }
        let probabilities = self.array(&name("probabilities"), Some(&[n, classes]))?;
        let labels: Array1<i64> = self.array(&name("secret_labels"), Some(&[n]))?;
        let secret_labels = labels
            .iter()
            .map(|&y| usize::try_from(y).ok().filter(|&y| y < classes))
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| SignalsFileError::Content {
                file: self.file.to_string(),
                message: format!(
                    "{} holds a label outside 0..{classes}",
                    name("secret_labels")
                ),
            })?;
        Ok(Some(EncodedQueries {
            probabilities,
            secret_labels,
        }))
    }

    fn augmented_query(
        &mut self,
        i: usize,
        q: QueryMeta,
        plain: &ReferenceSignals,
    ) -> Result<AugmentedQuery, SignalsFileError> {
        let (n, k) = plain.keep.dim();
        let name = |s: &str| format!("augmented_{i}_{s}");
        let target_logit_scaled = self.vector(&name("target_logit_scaled"), n)?;
        let mut matrix = |s: &str| -> Result<Array2<f64>, SignalsFileError> {
            Ok(self
                .array::<f64, ndarray::Ix2>(&name(&format!("reference_{s}")), Some(&[k, n]))?
                .reversed_axes())
        };
        let (phi, confidence, loss) = (
            matrix("logit_scaled")?,
            matrix("confidence")?,
            matrix("loss")?,
        );
        let references =
            ReferenceSignals::new(phi, confidence, loss, plain.keep.clone()).map_err(|e| {
                SignalsFileError::Content {
                    file: self.file.to_string(),
                    message: e.to_string(),
                }
            })?;
        Ok(AugmentedQuery {
            query: Query {
                flip: q.flip,
                dx: q.dx,
                dy: q.dy,
            },
            target_logit_scaled,
            references,
        })
    }

    fn set(
        &mut self,
        prefix: &str,
        meta: &SignalsMeta,
        with_keep: bool,
    ) -> Result<(Records, Signals, Option<ReferenceSignals>), SignalsFileError> {
        let name = |n: &str| format!("{prefix}{n}");
        let labels: Array1<i64> = self.array(&name("labels"), None)?;
        let n = labels.len();
        let classes = meta.model.classes;
        let labels = labels
            .iter()
            .map(|&y| {
                usize::try_from(y)
                    .ok()
                    .filter(|&y| y < classes)
                    .ok_or_else(|| SignalsFileError::Content {
                        file: self.file.to_string(),
                        message: format!(
                            "{} holds label {y}, outside 0..{classes}",
                            name("labels")
                        ),
                    })
            })
            .collect::<Result<Vec<usize>, _>>()?;
        let id_bytes: Array1<u8> = self.array(&name("record_ids_utf8"), None)?;
        let ids: Vec<String> = String::from_utf8(id_bytes.to_vec())
            .map_err(|_| SignalsFileError::Content {
                file: self.file.to_string(),
                message: format!("{} is not UTF-8", name("record_ids_utf8")),
            })?
            .split('\n')
            .map(str::to_string)
            .collect();
        if ids.len() != n {
            return Err(SignalsFileError::Content {
                file: self.file.to_string(),
                message: format!("{} ids for {n} labels", ids.len()),
            });
        }
        let membership = match self.has(&name("membership")) {
            true => Some(
                self.array::<bool, ndarray::Ix1>(&name("membership"), Some(&[n]))?
                    .to_vec(),
            ),
            false => None,
        };
        let signals = Signals {
            confidence: self.vector(&name("target_confidence"), n)?,
            loss: self.vector(&name("target_loss"), n)?,
            logit_scaled: self.vector(&name("target_logit_scaled"), n)?,
            entropy: self.vector(&name("target_entropy"), n)?,
            modified_entropy: self.vector(&name("target_modified_entropy"), n)?,
            correct: self
                .array::<bool, ndarray::Ix1>(&name("target_correct"), Some(&[n]))?
                .to_vec(),
            probabilities: self.array(&name("target_probabilities"), Some(&[n, classes]))?,
        };
        let references = if self.has(&name("reference_logit_scaled")) {
            let phi: Array2<f64> = self.array(&name("reference_logit_scaled"), None)?;
            let k = phi.nrows();
            let keep: Array2<bool> = if with_keep {
                self.array(&name("keep"), Some(&[k, n]))?
            } else {
                Array2::from_elem((k, n), false)
            };
            let confidence: Array2<f64> =
                self.array(&name("reference_confidence"), Some(&[k, n]))?;
            let loss: Array2<f64> = self.array(&name("reference_loss"), Some(&[k, n]))?;
            let matrix = ReferenceSignals::new(
                phi.reversed_axes(),
                confidence.reversed_axes(),
                loss.reversed_axes(),
                keep.reversed_axes(),
            )
            .map_err(|e| SignalsFileError::Content {
                file: self.file.to_string(),
                message: e.to_string(),
            })?;
            Some(match self.has(&name("reference_probabilities")) {
                true => {
                    let p: Array3<f64> =
                        self.array(&name("reference_probabilities"), Some(&[k, n, classes]))?;
                    matrix
                        .with_probabilities(
                            p.permuted_axes([1, 0, 2]).as_standard_layout().into_owned(),
                        )
                        .map_err(|e| SignalsFileError::Content {
                            file: self.file.to_string(),
                            message: e.to_string(),
                        })?
                }
                false => matrix,
            })
        } else {
            None
        };
        let records = Records {
            source: self.file.to_string(),
            ids,
            features: ArrayD::zeros(IxDyn(&[n, 0])),
            feature_names: Vec::new(),
            labels,
            membership,
            classes: meta.class_names.clone(),
        };
        Ok((records, signals, references))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
            target: signals_of(&[0.9, 0.2, 0.6]),
            population: Some(signals_of(&[0.4])),
            references: Some(refs.clone()),
            population_references: Some(pop_refs),
            reference_provenance: Some(provenance("refs")),
            encoded: Some(EncodedQueries {
                probabilities: array![[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]],
                secret_labels: vec![1, 0, 1],
            }),
            population_encoded: Some(EncodedQueries {
                probabilities: array![[0.9, 0.1]],
                secret_labels: vec![0],
            }),
            label_only: Some(LabelOnlyQueries {
                fraction_correct: vec![1.0, 0.25, 0.5],
                queries: 4,
                perturbation: "noise".into(),
            }),
            population_label_only: Some(LabelOnlyQueries {
                fraction_correct: vec![0.75],
                queries: 4,
                perturbation: "noise".into(),
            }),
            augmented: vec![AugmentedQuery {
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
        let audit = records(&["a", "b", "c"], Some(vec![true, false, true]));
        let population = records(&["z"], None);
        let bytes = write(
            &signals,
            (&audit, &provenance("audit.csv")),
            Some((&population, &provenance("pop.csv"))),
            1.0,
        )
        .unwrap();
        let back = read("s.npz", &bytes).unwrap();
        assert_eq!(back.signals, signals);
        assert_eq!(back.records.ids, audit.ids);
        assert_eq!(back.records.membership, audit.membership);
        assert_eq!(back.population.unwrap().ids, vec!["z".to_string()]);
        assert_eq!(back.meta.records.source, "audit.csv");
        assert_eq!(back.meta.defences, vec!["round:2".to_string()]);
    }
}
