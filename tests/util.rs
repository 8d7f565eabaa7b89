//! Shared helpers: repository paths, named tolerances, running the CLI, scratch files.

use ndarray::ArrayD;
use ndarray_npy::ReadNpyExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How closely two numbers must agree, named for why.
#[derive(Debug, Clone, Copy)]
pub enum Tol {
    /// Bit for bit.
    Exact,
    /// Same float32 graph run by two CPU engines (tract vs onnxruntime), or the same formula
    /// computed two ways in float64.
    Close,
    /// A deeper float32 graph (convolutions, batch norm, thousands of terms per sum) run by
    /// two engines that accumulate in different orders.
    DeepGraph,
}

impl Tol {
    pub fn accepts(self, a: f64, b: f64) -> bool {
        match self {
            Tol::Exact => a == b,
            Tol::Close => (a - b).abs() <= 1e-5 * (1.0 + a.abs().max(b.abs())),
            Tol::DeepGraph => (a - b).abs() <= 1e-4 * (1.0 + a.abs().max(b.abs())),
        }
    }

    pub fn assert_all(self, actual: &[f64], expected: &[f64], what: &str) {
        assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!(
                self.accepts(*a, *e),
                "{what}[{i}]: {a} vs {e} not within {self:?}"
            );
        }
    }
}

/// A path inside the repository.
pub fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The bundled example's files.
pub fn example(file: &str) -> PathBuf {
    repo(&format!("models/breast_cancer/{file}"))
}

pub fn read_npy_f32(path: &Path) -> ArrayD<f32> {
    ArrayD::<f32>::read_npy(std::fs::File::open(path).unwrap()).unwrap()
}

/// Runs the `mialab` binary with `args`.
pub fn mialab<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mialab"))
        .args(args)
        .output()
        .expect("run mialab")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Arguments that audit the bundled example, before any extras.
pub fn example_audit_args() -> Vec<String> {
    let path = |f: &str| example(f).display().to_string();
    vec![
        "audit".to_string(),
        "--model".to_string(),
        path("model.onnx"),
        "--records".to_string(),
        path("audit.csv"),
        "--population".to_string(),
        path("population.csv"),
        "--schema".to_string(),
        path("schema.json"),
    ]
}

/// The entry of attack `id` in a report's `attacks`.
pub fn attack_in<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["attacks"]
        .as_array()
        .expect("a report's attacks")
        .iter()
        .find(|a| a["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing from the report"))
}
