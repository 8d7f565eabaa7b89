"""Build the bundled breast-cancer example: an MLP that overfits half of scikit-learn's
Wisconsin diagnostic breast-cancer set (569 patients, 30 features), exported to ONNX.

Run from the repository root:  python3 models/breast_cancer/build.py
Requirements: models/requirements.txt. Seeded; rerunning rewrites identical CSVs and
(with the pinned versions) the same model and expected outputs.

Split (seed 2026): a random half of the 569 patients trains the target (members). The other
half are non-members: 143 go into the audit set beside the members, 142 form the population
set (known non-members, never in the audit set) used to calibrate thresholds.
"""

import json
import pathlib
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 2026
OPSET = 17
HERE = pathlib.Path(__file__).resolve().parent
CLASSES = ["malignant", "benign"]  # scikit-learn's target order: 0 = malignant, 1 = benign


def main():
    data = load_breast_cancer()
    x = data.data.astype(np.float32)
    y = data.target.astype(np.int64)
    names = [n.replace(" ", "_") for n in data.feature_names]
    n = len(y)

    rng = np.random.default_rng(SEED)
    order = rng.permutation(n)
    members = np.sort(order[: n // 2])
    non_members = order[n // 2 :]
    audit_non = np.sort(non_members[: len(non_members) // 2 + 1])
    population = np.sort(non_members[len(non_members) // 2 + 1 :])

    model = make_pipeline(
        StandardScaler(),
        MLPClassifier(
            hidden_layer_sizes=(128, 128),
            alpha=0.0,
            max_iter=3000,
            tol=0.0,
            n_iter_no_change=3000,
            random_state=SEED,
        ),
    )
    with warnings.catch_warnings():
        # Training on past convergence is the point: the example must overfit.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x[members], y[members])
    train_acc = float(model.score(x[members], y[members]))
    test_acc = float(model.score(x[non_members], y[non_members]))

    # tract has no ONNX-ML Scaler: fold the standardisation into the first layer, so the
    # exported graph is MatMul/Add/Relu/Softmax on raw features.
    scaler, mlp = model.steps[0][1], model.steps[-1][1]
    mlp.coefs_[0] = mlp.coefs_[0] / scaler.scale_[:, None]
    mlp.intercepts_[0] = mlp.intercepts_[0] - (scaler.mean_ / scaler.scale_) @ (mlp.coefs_[0] * scaler.scale_[:, None])
    folded_acc = float(mlp.score(x[non_members], y[non_members]))
    assert abs(folded_acc - test_acc) < 1e-9, (folded_acc, test_acc)

    # Export the logit, not skl2onnx's sigmoid probabilities: float32 probabilities round to
    # exactly 1.0 for most training records, which would hide the very signal an audit reads.
    onnx.save(logit_graph(mlp, x.shape[1]), HERE / "model.onnx")
    reference = mlp.predict_proba(x)[:, 1]
    session = ort.InferenceSession(str(HERE / "model.onnx"), providers=["CPUExecutionProvider"])
    exported = 1 / (1 + np.exp(-session.run(None, {"features": x})[0][:, 0].astype(np.float64)))
    assert np.max(np.abs(exported - reference)) < 1e-4, np.max(np.abs(exported - reference))

    audit = np.concatenate([members, audit_non])
    audit.sort()
    is_member = np.isin(audit, members).astype(np.int64)
    write_csv(HERE / "audit.csv", audit, x, y, names, is_member)
    write_csv(HERE / "population.csv", population, x, y, names, None)

    np.save(HERE / "expected_audit_logits.npy", session.run(None, {"features": x[audit]})[0])
    np.save(HERE / "expected_population_logits.npy", session.run(None, {"features": x[population]})[0])

    schema = {"id": "id", "label": "diagnosis", "member": "member", "classes": CLASSES}
    (HERE / "schema.json").write_text(json.dumps(schema, indent=2) + "\n")

    meta = {
        "dataset": "scikit-learn load_breast_cancer (UCI Wisconsin Diagnostic Breast Cancer, 569 patients)",
        "seed": SEED,
        "opset": OPSET,
        "classes": CLASSES,
        "recipe": "StandardScaler + MLPClassifier(128,128), alpha=0, 3000 epochs of Adam, no early stopping; scaler folded into the first layer; output: the logit of \"benign\"",
        "members": int(len(members)),
        "audit_non_members": int(len(audit_non)),
        "population": int(len(population)),
        "train_accuracy": round(train_acc, 4),
        "test_accuracy": round(test_acc, 4),
        "reference": f"onnxruntime {ort.__version__}",
    }
    (HERE / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))


def logit_graph(mlp, n_features):
    """The MLP as an ONNX graph of MatMul/Add/Relu ending in its single output logit."""
    nodes, initialisers, source = [], [], "features"
    layers = len(mlp.coefs_)
    for k, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        out = "logit" if k == layers - 1 else f"h{k}"
        initialisers += [
            numpy_helper.from_array(w.astype(np.float32), f"W{k}"),
            numpy_helper.from_array(b.astype(np.float32), f"b{k}"),
        ]
        nodes.append(helper.make_node("Gemm", [source, f"W{k}", f"b{k}"], [out if k == layers - 1 else f"z{k}"]))
        if k < layers - 1:
            nodes.append(helper.make_node("Relu", [f"z{k}"], [out]))
        source = out
    graph = helper.make_graph(
        nodes,
        "breast_cancer_mlp",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["batch", 1])],
        initializer=initialisers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mialab models/breast_cancer/build.py")
    onnx.checker.check_model(model)
    return model


def write_csv(path, rows, x, y, names, member):
    header = ["id", *names, "diagnosis"] + (["member"] if member is not None else [])
    lines = [",".join(header)]
    for k, i in enumerate(rows):
        cells = [f"bc-{i:03d}", *(np.format_float_positional(v, unique=True, trim="-") for v in x[i]), CLASSES[y[i]]]
        if member is not None:
            cells.append(str(member[k]))
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
