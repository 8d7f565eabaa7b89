//! The one public error type. Each area keeps its own enum (records, model, attack, metrics,
//! report, config) with messages that tell the user what to do; [`Error`] chains them so a
//! caller can match on the area and print the whole chain.

use thiserror::Error;

/// Any failure the engine reports to a user.
#[derive(Debug, Error)]
pub enum Error {
    #[error("could not read the records")]
    Records(#[from] crate::records::RecordsError),
    #[error("could not use the model")]
    Model(#[from] crate::model::ModelError),
    #[error("an attack could not run")]
    Attack(#[from] crate::attack::AttackError),
    #[error("the reference signals do not fit together")]
    Matrix(#[from] crate::signal_matrix::MatrixError),
    #[error("the augmentations do not fit the records")]
    Augment(#[from] crate::augment::AugmentError),
    #[error("could not read the provided outputs")]
    Provided(#[from] crate::provided::ProvidedError),
    #[error("could not read the keep-mask")]
    KeepMask(#[from] crate::keep_mask::KeepMaskError),
    #[error("could not use the signals file")]
    SignalsFile(#[from] crate::signals_file::SignalsFileError),
    #[error("a metric could not be computed")]
    Metrics(#[from] crate::metrics::MetricsError),
    #[error("could not write the report")]
    Report(#[from] crate::report::ReportError),
    #[error("invalid audit settings")]
    Config(#[from] crate::config::ConfigError),
    #[error("the session is not ready")]
    Session(#[from] crate::session::SessionError),
    #[error("could not read the model zoo")]
    Zoo(#[from] crate::zoo::ZooError),
    #[error("could not train")]
    Train(#[from] crate::train::TrainError),
    #[error("could not run the recorded audit again")]
    Verify(#[from] crate::report::verify::VerifyError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
