"""Test vectors for Shokri's per-class classifier (src/attack/logistic.rs): L2-penalised
logistic regression with an unpenalised intercept, fitted by scikit-learn's L-BFGS solver
(an independent algorithm from mialab's Newton steps) to a tight tolerance.

scikit-learn minimises C·Σ ln(1 + exp(-s·(w·x + b))) + ½|w|²; with C = 1/l2 its minimiser is
mialab's. Run from the repository root with scikit-learn installed:
python3 tests/vectors/logistic_vectors.py. It rewrites tests/vectors/logistic.json; floats are
written with repr, which reads back to the same double.
"""

import json
import pathlib

import numpy as np
from sklearn.linear_model import LogisticRegression

HERE = pathlib.Path(__file__).resolve().parent


def sorted_probabilities(rng, rows, classes, member_sharpness):
    """Shokri's features: sorted softmax vectors, members' sharper than non-members'."""
    members = rng.random(rows) < 0.5
    logits = rng.normal(size=(rows, classes)) * np.where(members, member_sharpness, 1.0)[:, None]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return -np.sort(-p, axis=1), members


def case(name, x, members, l2):
    model = LogisticRegression(C=1.0 / l2, solver="lbfgs", tol=1e-13, max_iter=100000)
    model.fit(x, members)
    probabilities = model.predict_proba(x)[:, list(model.classes_).index(True)]
    return {
        "name": name,
        "l2": l2,
        "width": x.shape[1],
        "rows": [float(v) for v in x.ravel()],
        "members": [bool(m) for m in members],
        "probabilities": [float(p) for p in probabilities],
    }


def main():
    rng = np.random.default_rng(20261205)
    x = rng.uniform(-2, 2, size=(300, 2))
    members = rng.random(300) < 1 / (1 + np.exp(-(1.5 * x[:, 0] - 0.5 * x[:, 1] + 0.3)))
    cases = [case("two free features", x, members, 0.7)]
    x, members = sorted_probabilities(rng, 600, 3, 3.0)
    cases.append(case("three sorted probabilities", x, members, 1e-3))
    x, members = sorted_probabilities(rng, 400, 6, 2.0)
    cases.append(case("six sorted probabilities", x, members, 1.0))
    (HERE / "logistic.json").write_text(json.dumps(cases, indent=0) + "\n")


if __name__ == "__main__":
    main()
