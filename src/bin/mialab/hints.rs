//! What to type next: the library's errors say what is wrong in terms of the audit; here
//! the CLI adds which of its flags would fix it.

use mialab::attack::{AttackError, Need};
use mialab::config::ConfigError;
use mialab::model::ModelError;
use mialab::session::SessionError;

/// A hint for the first error in `error`'s chain that has one.
pub fn hint(error: &anyhow::Error) -> Option<String> {
    error.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<AttackError>() {
            return attack_hint(e);
        }
        if let Some(e) = cause.downcast_ref::<ConfigError>() {
            return match e {
                ConfigError::OutOfRange { name, .. } => setting_flag(name),
                ConfigError::Attack(e) => attack_hint(e),
                ConfigError::Json(_) => None,
            };
        }
        if let Some(ModelError::Gpu(_)) = cause.downcast_ref::<ModelError>() {
            return Some(
                "--backend gpu insists on the GPU kernels; --backend auto falls back to tract"
                    .to_string(),
            );
        }
        if let Some(SessionError::NotInProvidedOutputs { .. }) =
            cause.downcast_ref::<SessionError>()
        {
            return Some(
                "provide what it needs (--reference-outputs with --keep-mask, --population-outputs, or one column per class instead of losses), or choose other attacks with --attack".to_string(),
            );
        }
        if let Some(SessionError::NotInSignalsFile { .. }) = cause.downcast_ref::<SessionError>() {
            return Some(
                "write the signals again with `mialab signals` from the models and the inputs this attack needs, or choose other attacks with --attack".to_string(),
            );
        }
        None
    })
}

fn attack_hint(error: &AttackError) -> Option<String> {
    match error {
        AttackError::Missing { need, .. } => match need {
            Need::Population => Some("pass known non-members with --population".to_string()),
            Need::References(_) => Some(
                "pass reference models with --references DIR and --keep-mask FILE, or audit a --zoo target with its reference set".to_string(),
            ),
            Need::PopulationReferences => {
                Some("pass --population together with --references and --keep-mask".to_string())
            }
            Need::TargetProbabilities => Some(
                "give --outputs with one column per class (logits or probabilities) instead of losses, or choose other attacks with --attack".to_string(),
            ),
            Need::ReferenceProbabilities | Need::Query(_) => None,
        },
        AttackError::Parameter { name, .. } => setting_flag(name),
        AttackError::Unknown { .. } => Some("`mialab attacks` lists them".to_string()),
        _ => None,
    }
}

/// The flag that sets the setting the library calls `name`.
fn setting_flag(name: &str) -> Option<String> {
    let flag = match name {
        "temperature" => "--temperature",
        "alpha" => "--alpha",
        "delta" => "--delta",
        "member prior" => "--member-prior",
        "bootstrap resamples" => "--bootstrap",
        "batch size" => "--batch-size",
        "an operating FPR" => return None,
        "RMIA's a" => "--rmia-a",
        "RMIA's gamma" => "--rmia-gamma",
        "Shokri's L2 penalty" => "--shokri-l2",
        "Shokri's iterations" => "--shokri-iterations",
        "label-only queries" => "--label-only-queries",
        "label-only noise σ" => "--label-only-sigma",
        _ => return None,
    };
    Some(format!("set it with {flag}"))
}
