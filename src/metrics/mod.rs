//! Metrics of SPEC.md over `(scores, membership)`: pure functions, no I/O, no model.
//!
//! Scores follow the crate-wide sign convention: higher means more likely a member, and a
//! record is called a member at threshold `t` when its score is `>= t`.

pub mod bootstrap;
pub mod confusion;
pub mod intervals;
pub mod operating;
pub mod privacy;
pub mod roc;
pub mod threshold;

pub use bootstrap::{auc_bootstrap_interval, auc_bootstrap_intervals};
pub use confusion::Confusion;
pub use intervals::clopper_pearson;
pub use privacy::{EpsilonBound, epsilon_lower_bound};
pub use roc::Roc;

use thiserror::Error;

/// Why a metric cannot be computed.
#[derive(Debug, Error, PartialEq)]
pub enum MetricsError {
    #[error("{scores} scores but {labels} membership labels: they must have one entry per record")]
    LengthMismatch { scores: usize, labels: usize },
    #[error(
        "ROC metrics need both members and non-members with known membership; got {members} members and {non_members} non-members"
    )]
    OneClassOnly { members: usize, non_members: usize },
    #[error(
        "score of record {index} is NaN; an attack must return a number for every scored record"
    )]
    NanScore { index: usize },
    #[error("{name} must be in {range}, got {value}")]
    OutOfRange {
        name: &'static str,
        range: &'static str,
        value: f64,
    },
    #[error("the bootstrap needs at least {min} resamples, got {got}")]
    TooFewResamples { min: usize, got: usize },
}

/// Checks the inputs every ROC-style metric shares and returns (#members, #non-members).
pub(crate) fn check_inputs(
    scores: &[f64],
    members: &[bool],
) -> Result<(usize, usize), MetricsError> {
    if scores.len() != members.len() {
        return Err(MetricsError::LengthMismatch {
            scores: scores.len(),
            labels: members.len(),
        });
    }
    if let Some(index) = scores.iter().position(|s| s.is_nan()) {
        return Err(MetricsError::NanScore { index });
    }
    let n_members = members.iter().filter(|&&m| m).count();
    let n_non = members.len() - n_members;
    if n_members == 0 || n_non == 0 {
        return Err(MetricsError::OneClassOnly {
            members: n_members,
            non_members: n_non,
        });
    }
    Ok((n_members, n_non))
}

/// Checks a probability-like parameter lies in the open interval (0, 1).
pub(crate) fn check_open_unit(name: &'static str, value: f64) -> Result<(), MetricsError> {
    if value > 0.0 && value < 1.0 {
        Ok(())
    } else {
        Err(MetricsError::OutOfRange {
            name,
            range: "(0, 1)",
            value,
        })
    }
}

/// How many of `n` non-members a rule may flag at false-positive rate `alpha`:
/// `floor(alpha·n)`, or `None` when `alpha` is positive but below `1/n`, a rate `n`
/// non-members cannot resolve ("not measurable"). `alpha == 0` allows none.
pub(crate) fn allowed_false_positives(alpha: f64, n: usize) -> Option<usize> {
    let allowed = alpha * n as f64;
    if alpha > 0.0 && allowed < 1.0 - 1e-9 {
        return None;
    }
    Some((allowed + 1e-9).floor() as usize)
}
