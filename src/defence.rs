//! Output defences: what a deployed model's API releases instead of its full prediction.
//!
//! A defence is applied to the target's output on every query an attacker makes (the audit
//! records, the population, encoded and perturbed copies) and never to reference models,
//! which the auditor trains and reads in full. Defences compose in the order given, each on
//! the probabilities the previous one released. Under [`Defence::Top1`] the API releases a
//! label and nothing else: attacks that read scores have nothing to threshold (they are
//! reported as blocked), while label-only attacks keep their signal.

use crate::model::{ModelOutput, OutputKind};
use crate::signal::{argmax, softmax, temper_probabilities};
use ndarray::Array2;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// One transformation of the released probability vector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Defence {
    /// Only the predicted class (a one-hot vector).
    Top1,
    /// The k largest probabilities; the others are withheld (released as 0).
    TopK(usize),
    /// Probabilities rounded to this many decimals.
    Round(u32),
    /// Softmax temperature applied by the API: `p^(1/T)` renormalised.
    Temperature(f64),
    /// Gaussian noise of this standard deviation added to every probability, then clipped at
    /// 0 and renormalised (seeded: the same audit gives the same noise).
    Noise(f64),
}

/// A defence written wrongly.
#[derive(Debug, Error, PartialEq)]
pub enum DefenceError {
    #[error(
        "unknown defence '{0}'; use top1, topk:K, round:D, temperature:T or noise:SIGMA (e.g. round:2)"
    )]
    Unknown(String),
    #[error("defence '{name}' needs {rule}, got '{value}'")]
    BadValue {
        name: &'static str,
        rule: &'static str,
        value: String,
    },
}

impl FromStr for Defence {
    type Err = DefenceError;

    fn from_str(text: &str) -> Result<Defence, DefenceError> {
        let text = text.trim();
        let (name, value) = match text.split_once(':') {
            Some((n, v)) => (n.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (text.to_ascii_lowercase(), None),
        };
        let bad = |name, rule, value: &str| DefenceError::BadValue {
            name,
            rule,
            value: value.to_string(),
        };
        let positive = |name, v: Option<&str>| -> Result<f64, DefenceError> {
            let v = v.unwrap_or("");
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
                _ => Err(bad(name, "a positive number", v)),
            }
        };
        match (name.as_str(), value) {
            ("top1" | "label" | "label-only", None) => Ok(Defence::Top1),
            ("topk", v) => match v.unwrap_or("").parse::<usize>() {
                Ok(k) if k >= 1 => Ok(Defence::TopK(k)),
                _ => Err(bad(
                    "topk",
                    "a whole number of classes ≥ 1",
                    v.unwrap_or(""),
                )),
            },
            ("round", v) => match v.unwrap_or("").parse::<u32>() {
                Ok(d) if d <= 15 => Ok(Defence::Round(d)),
                _ => Err(bad(
                    "round",
                    "a number of decimals from 0 to 15",
                    v.unwrap_or(""),
                )),
            },
            ("temperature", v) => Ok(Defence::Temperature(positive("temperature", v)?)),
            ("noise", v) => Ok(Defence::Noise(positive("noise", v)?)),
            _ => Err(DefenceError::Unknown(text.to_string())),
        }
    }
}

impl fmt::Display for Defence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Defence::Top1 => write!(f, "top1"),
            Defence::TopK(k) => write!(f, "topk:{k}"),
            Defence::Round(d) => write!(f, "round:{d}"),
            Defence::Temperature(t) => write!(f, "temperature:{t}"),
            Defence::Noise(s) => write!(f, "noise:{s}"),
        }
    }
}

impl TryFrom<String> for Defence {
    type Error = DefenceError;

    fn try_from(text: String) -> Result<Defence, DefenceError> {
        text.parse()
    }
}

impl From<Defence> for String {
    fn from(d: Defence) -> String {
        d.to_string()
    }
}

/// Whether an API behind `defences` releases labels only.
pub fn releases_labels_only(defences: &[Defence]) -> bool {
    defences.contains(&Defence::Top1)
}

/// What the API releases for `output` behind `defences` (probabilities, one row per query).
/// `seed` and `stream` seed the noise defence, so that different query sets get different
/// noise and the same audit the same noise. No defences: the output is returned unchanged.
pub fn release(defences: &[Defence], output: &ModelOutput, seed: u64, stream: u64) -> ModelOutput {
    if defences.is_empty() {
        return output.clone();
    }
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed ^ stream.rotate_left(40));
    let mut values = Array2::zeros(output.values.raw_dim());
    for (row, mut out) in output.values.rows().into_iter().zip(values.rows_mut()) {
        let mut p = match output.kind {
            OutputKind::Logits => softmax(&row.to_vec()),
            OutputKind::Probabilities => row.to_vec(),
        };
        for defence in defences {
            p = apply(*defence, p, &mut rng);
        }
        out.iter_mut().zip(&p).for_each(|(cell, v)| *cell = *v);
    }
    ModelOutput {
        kind: OutputKind::Probabilities,
        values,
        expanded_single: output.expanded_single,
    }
}

fn apply(defence: Defence, p: Vec<f64>, rng: &mut rand::rngs::ChaCha8Rng) -> Vec<f64> {
    match defence {
        Defence::Top1 => {
            let top = argmax(&p);
            (0..p.len())
                .map(|j| f64::from(u8::from(j == top)))
                .collect()
        }
        Defence::TopK(k) => {
            let mut order: Vec<usize> = (0..p.len()).collect();
            order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
            let mut kept = vec![0.0; p.len()];
            for &j in order.iter().take(k) {
                kept[j] = p[j];
            }
            kept
        }
        Defence::Round(d) => {
            let scale = 10f64.powi(d as i32);
            p.iter().map(|v| (v * scale).round() / scale).collect()
        }
        Defence::Temperature(t) => temper_probabilities(&p, t),
        Defence::Noise(sigma) => {
            let normal = Normal::new(0.0, sigma).expect("sigma validated positive and finite");
            let noisy: Vec<f64> = p
                .iter()
                .map(|v| (v + normal.sample(rng)).max(0.0))
                .collect();
            let sum: f64 = noisy.iter().sum();
            if sum > 0.0 {
                noisy.into_iter().map(|v| v / sum).collect()
            } else {
                vec![1.0 / p.len() as f64; p.len()]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn probabilities(values: Array2<f64>) -> ModelOutput {
        ModelOutput {
            kind: OutputKind::Probabilities,
            values,
            expanded_single: false,
        }
    }

    fn released(defences: &[Defence], values: Array2<f64>) -> Array2<f64> {
        release(defences, &probabilities(values), 7, 0).values
    }

    #[test]
    fn parses_every_defence_and_prints_it_back() {
        for text in ["top1", "topk:2", "round:2", "temperature:2", "noise:0.05"] {
            let d: Defence = text.parse().unwrap();
            assert_eq!(d.to_string(), text);
        }
        assert_eq!("label-only".parse::<Defence>(), Ok(Defence::Top1));
    }

    #[test]
    fn refuses_bad_defences_with_the_rule() {
        let err = "round:x".parse::<Defence>().unwrap_err().to_string();
        assert!(err.contains("decimals from 0 to 15"), "{err}");
        let err = "noise:-1".parse::<Defence>().unwrap_err().to_string();
        assert!(err.contains("positive number"), "{err}");
        let err = "topk:0".parse::<Defence>().unwrap_err().to_string();
        assert!(err.contains("≥ 1"), "{err}");
        let err = "blur".parse::<Defence>().unwrap_err().to_string();
        assert!(err.contains("unknown defence 'blur'"), "{err}");
    }

    #[test]
    fn top1_releases_a_one_hot_label_from_logits_too() {
        let logits = ModelOutput {
            kind: OutputKind::Logits,
            values: array![[0.1, 2.0, -1.0], [3.0, 3.0, 0.0]],
            expanded_single: false,
        };
        let out = release(&[Defence::Top1], &logits, 0, 0);
        assert_eq!(out.kind, OutputKind::Probabilities);
        assert_eq!(out.values, array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]);
        assert!(releases_labels_only(&[Defence::Round(2), Defence::Top1]));
        assert!(!releases_labels_only(&[Defence::Round(2)]));
    }

    #[test]
    fn topk_withholds_the_rest_and_round_rounds() {
        let p = array![[0.5, 0.3, 0.15, 0.05]];
        assert_eq!(
            released(&[Defence::TopK(2)], p.clone()),
            array![[0.5, 0.3, 0.0, 0.0]]
        );
        assert_eq!(
            released(&[Defence::Round(1)], array![[0.66, 0.24, 0.1]]),
            array![[0.7, 0.2, 0.1]]
        );
        assert_eq!(
            released(&[Defence::TopK(1), Defence::Round(0)], p),
            array![[1.0, 0.0, 0.0, 0.0]]
        );
    }

    #[test]
    fn temperature_flattens_without_changing_the_label() {
        let out = released(&[Defence::Temperature(4.0)], array![[0.9, 0.09, 0.01]]);
        let row = out.row(0).to_vec();
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(row[0] < 0.9 && row[0] > row[1] && row[1] > row[2]);
    }

    #[test]
    fn noise_is_seeded_nonnegative_and_normalised() {
        let p = array![[0.7, 0.2, 0.1], [0.0, 0.0, 1.0]];
        let a = released(&[Defence::Noise(0.5)], p.clone());
        let b = released(&[Defence::Noise(0.5)], p.clone());
        assert_eq!(a, b);
        let other_stream = release(&[Defence::Noise(0.5)], &probabilities(p.clone()), 7, 1);
        assert_ne!(a, other_stream.values);
        for row in a.rows() {
            assert!(row.iter().all(|v| *v >= 0.0));
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        assert_ne!(a, p);
    }

    #[test]
    fn no_defence_releases_the_output_itself() {
        let out = probabilities(array![[0.2, 0.8]]);
        assert_eq!(release(&[], &out, 0, 0), out);
    }
}
