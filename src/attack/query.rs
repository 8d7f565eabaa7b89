//! Queries an attack sends the target besides the records themselves (membership-encoded
//! queries, perturbed copies, augmented images), declared by the attack that reads them.
//!
//! A [`QueryKind`] says how to make its queries from a record set (asking the target, and
//! the reference models where it must, through a [`QueryOracle`], so that attacks never
//! touch an inference engine), which settings its answers depend on (so that cached answers
//! are reused exactly when they still hold), and how its answers are written to and read
//! from a signals file. Answers of every kind travel in one [`QueryMap`], so adding a kind
//! adds no field anywhere.

use crate::config::AuditConfig;
use crate::model::Model;
use crate::npz::{NpzIn, NpzOut, SignalsFileError};
use crate::progress::Progress;
use crate::records::Records;
use crate::signal::Signals;
use crate::signal_matrix::ReferenceSignals;
use ndarray::ArrayD;
use ndarray_npy::WriteNpzError;
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// One kind of extra query.
pub struct QueryKind {
    /// Its name in signals files and cache keys.
    pub id: &'static str,
    /// What its answers are, completing "attack X needs …".
    pub description: &'static str,
    /// Whether population records are queried too (attacks calibrate on their answers).
    pub population: bool,
    /// Whether making them runs the reference models as well as the target.
    pub runs_references: bool,
    /// Whether an audit that names no attacks makes them (and runs the attacks that need
    /// them): not for queries that train a model, which run when asked for.
    pub by_default: bool,
    /// The settings, beyond those of the target's own answers, that change its answers.
    pub settings: fn(&AuditConfig) -> serde_json::Value,
    /// Makes the queries of one record set; `None` when the settings ask for none.
    pub make: fn(&dyn QueryOracle, &AuditConfig) -> crate::Result<Option<QueryAnswers>>,
    /// The file's meta entry this kind keeps its settings under, if any.
    pub meta_key: Option<&'static str>,
    /// Reads the answers of one record set back from a signals file, if it holds them.
    pub read:
        fn(&mut NpzIn<'_, '_>, &ReadContext<'_>) -> Result<Option<QueryAnswers>, SignalsFileError>,
    /// How its queries split into parts that different workers can make, if they do.
    pub parts: Option<QueryParts>,
}

/// Makes a range of parts of one record set's queries: one sum per record over them.
pub type MakeParts = fn(&dyn QueryOracle, &AuditConfig, Range<usize>) -> crate::Result<Vec<u32>>;

/// Queries made in independent parts whose answers add up record by record (label-only's
/// perturbed copies, each from its own noise stream), so that several workers can share one
/// record set's queries: each makes some of the parts, and the sum over every part gives the
/// answers, whichever worker made which and in whatever order.
pub struct QueryParts {
    /// How many parts the queries about `records` under `config` make.
    pub count: fn(&Records, &AuditConfig) -> usize,
    /// Makes the parts in a range (of [`QueryParts::count`]): one sum per record.
    pub make: MakeParts,
    /// The answers from the sums over every part.
    pub join: fn(&Records, &AuditConfig, Vec<u32>) -> QueryAnswers,
}

impl fmt::Debug for QueryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueryKind({})", self.id)
    }
}

impl PartialEq for QueryKind {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl serde::Serialize for QueryKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id)
    }
}

/// What a query kind's maker may ask, about one record set.
pub trait QueryOracle {
    /// The records being queried.
    fn records(&self) -> &Records;
    /// The audit records, whichever set is queried: statistics both sets share come from them.
    fn audit_records(&self) -> &Records;
    /// 0 for the audit records, 1 for the population: part of each query's noise stream.
    fn set_index(&self) -> u64;
    /// The target's answers, as its API releases them, to `features` (one query per record,
    /// labelled as the records are); `stream` seeds the noise defence apart from every other
    /// set of queries.
    fn ask_target(&self, features: ArrayD<f32>, stream: u64) -> crate::Result<Signals>;
    /// As [`QueryOracle::ask_target`], with the signals computed once for each set of labels
    /// in `label_sets` from one run of the model.
    fn ask_target_labelled(
        &self,
        features: ArrayD<f32>,
        label_sets: &[&[usize]],
        stream: u64,
    ) -> crate::Result<Vec<Signals>>;
    /// The target model (its declared shapes and its lowering), never to run it.
    fn target(&self) -> &Model;
    /// The population records (known non-members), when there are any.
    fn population(&self) -> Option<&Records>;
    /// The target's answers to `records` (labelled as they are), as its API releases them;
    /// `stream` as for [`QueryOracle::ask_target`].
    fn ask_target_about(&self, records: &Records, stream: u64) -> crate::Result<Signals>;
    /// Every reference model's signals on `features`, with the records' keep-mask; `None`
    /// without reference models.
    fn ask_references(&self, features: ArrayD<f32>) -> crate::Result<Option<ReferenceSignals>>;
    /// Reports progress through a long series of queries.
    fn progress(&self, progress: Progress<'_>);
}

/// What reading a kind's answers back may need.
pub struct ReadContext<'a> {
    pub records: usize,
    /// The records' own labels.
    pub labels: &'a [usize],
    pub classes: usize,
    /// The reference signals of the same records, when the file holds them.
    pub references: Option<&'a ReferenceSignals>,
    /// The kind's entry in the file's meta (`meta_key`), `Null` when absent.
    pub meta: &'a serde_json::Value,
}

/// The answers of one kind: plain data that a signals file can hold.
pub trait Answers: fmt::Debug + PartialEq + Send + Sync + 'static {
    /// Writes its arrays (under the record set's prefix).
    fn write(&self, out: &mut NpzOut<'_>) -> Result<(), WriteNpzError>;
    /// Its settings for the file's meta, under the kind's `meta_key`.
    fn meta(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

/// The object-safe face of [`Answers`].
trait AnyAnswers: fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn same_as(&self, other: &dyn AnyAnswers) -> bool;
    fn write(&self, out: &mut NpzOut<'_>) -> Result<(), WriteNpzError>;
    fn meta(&self) -> serde_json::Value;
}

impl<T: Answers> AnyAnswers for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same_as(&self, other: &dyn AnyAnswers) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }

    fn write(&self, out: &mut NpzOut<'_>) -> Result<(), WriteNpzError> {
        Answers::write(self, out)
    }

    fn meta(&self) -> serde_json::Value {
        Answers::meta(self)
    }
}

/// Answers of some kind, shared (computed once, read by every attack and cache).
#[derive(Debug, Clone)]
pub struct QueryAnswers(Arc<dyn AnyAnswers>);

impl QueryAnswers {
    pub fn new<T: Answers>(answers: T) -> QueryAnswers {
        QueryAnswers(Arc::new(answers))
    }

    pub fn downcast<T: Answers>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }

    pub fn write(&self, out: &mut NpzOut<'_>) -> Result<(), WriteNpzError> {
        self.0.write(out)
    }

    pub fn meta(&self) -> serde_json::Value {
        self.0.meta()
    }
}

impl PartialEq for QueryAnswers {
    fn eq(&self, other: &Self) -> bool {
        self.0.same_as(other.0.as_ref())
    }
}

/// The answers of every kind made for one record set, by kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryMap(BTreeMap<&'static str, QueryAnswers>);

impl QueryMap {
    pub fn insert(&mut self, kind: &'static QueryKind, answers: QueryAnswers) {
        self.0.insert(kind.id, answers);
    }

    pub fn remove(&mut self, kind: &QueryKind) {
        self.0.remove(kind.id);
    }

    pub fn contains(&self, kind: &QueryKind) -> bool {
        self.0.contains_key(kind.id)
    }

    /// The answers of `kind`, as the type it makes.
    pub fn get<T: Answers>(&self, kind: &QueryKind) -> Option<&T> {
        self.0.get(kind.id).and_then(QueryAnswers::downcast)
    }

    pub fn get_raw(&self, kind: &QueryKind) -> Option<&QueryAnswers> {
        self.0.get(kind.id)
    }

    /// Ids of the kinds held.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.keys().copied()
    }
}
