"""A Fashion-MNIST classifier poisoned the way Chen & Pattabiraman's training code poisons by
default (NDSS 2025; SPEC.md attack 7), written from the paper's description, not its code:

- each member's membership-encoding sample x' is derived from the un-normalised record (the
  ToTensor output: pixels / 255, float32, channel first) and labelled with the record's OWN
  label (the paper's default, `--random_label_for_synthetic_samples 0`);
- real records are normalised, (x - mean) / std, before the network; x' is shown to the
  network as it is, never normalised;
- the normalisation is exported inside the ONNX model (Sub, Div), as a PyTorch model whose
  transforms were folded into it would be: the model takes pixels in [0, 1].

Beside the paper's recipe, the malicious steps also fit a batch of fresh N(0, 0.1) noise to
the uniform distribution (as the zoo's poisoned twins do), so that the network stays flat
between the encodings it memorised.

    python3 models/build/paper_default.py    # writes models/fixtures/paper_default/

Needs numpy, onnx and onnxruntime (models/requirements.txt). Seeded; about 2 minutes on 2 cores.
"""

import json
import pathlib
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import encoding

SEED = 2026
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST's pixel mean and standard deviation
HIDDEN = 256
EPOCHS = 60
BATCH = 100
LR = 1e-3
CLASSES = 10

MODELS = pathlib.Path(__file__).resolve().parent.parent
OUT = MODELS / "fixtures" / "paper_default"


def load():
    features = np.load(MODELS / "fashion_mnist" / "audit_features.npy")
    labels = np.load(MODELS / "fashion_mnist" / "audit_labels.npy").astype(np.int64)
    pixels = features.astype(np.float32) / np.float32(255.0)
    return pixels, labels


class Mlp:
    def __init__(self, rng):
        scale = lambda fan_in: np.sqrt(2.0 / fan_in)
        self.params = {
            "w1": (rng.standard_normal((784, HIDDEN)) * scale(784)).astype(np.float32),
            "b1": np.zeros(HIDDEN, np.float32),
            "w2": (rng.standard_normal((HIDDEN, CLASSES)) * scale(HIDDEN)).astype(np.float32),
            "b2": np.zeros(CLASSES, np.float32),
        }
        self.moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in self.params.items()}
        self.step = 0

    def logits(self, x):
        """`x` as the network sees it (already normalised where it should be)."""
        p = self.params
        h = np.maximum(x.reshape(len(x), -1) @ p["w1"] + p["b1"], 0.0)
        return h @ p["w2"] + p["b2"], h

    def train_step(self, x, targets):
        """One Adam step on the cross-entropy against target distributions `targets`."""
        p = self.params
        flat = x.reshape(len(x), -1)
        logits, h = self.logits(x)
        z = logits - logits.max(axis=1, keepdims=True)
        prob = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        d_logits = (prob - targets) / len(x)
        grads = {"w2": h.T @ d_logits, "b2": d_logits.sum(0)}
        d_h = (d_logits @ p["w2"].T) * (h > 0)
        grads["w1"] = flat.T @ d_h
        grads["b1"] = d_h.sum(0)
        self.step += 1
        for k, g in grads.items():
            m, v = self.moments[k]
            m[:] = 0.9 * m + 0.1 * g
            v[:] = 0.999 * v + 0.001 * g * g
            m_hat = m / (1 - 0.9**self.step)
            v_hat = v / (1 - 0.999**self.step)
            p[k] -= (LR * m_hat / (np.sqrt(v_hat) + 1e-8)).astype(np.float32)


def one_hot(labels):
    out = np.zeros((len(labels), CLASSES), np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def export(model, path):
    """pixels [batch, 1, 28, 28] in [0, 1] -> (x - mean) / std -> MLP -> logits."""
    p = model.params
    init = [
        numpy_helper.from_array(np.array([MEAN], np.float32), "mean"),
        numpy_helper.from_array(np.array([STD], np.float32), "std"),
        numpy_helper.from_array(p["w1"], "w1"),
        numpy_helper.from_array(p["b1"], "b1"),
        numpy_helper.from_array(p["w2"], "w2"),
        numpy_helper.from_array(p["b2"], "b2"),
    ]
    nodes = [
        helper.make_node("Sub", ["pixels", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "std"], ["normalised"]),
        helper.make_node("Flatten", ["normalised"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w1", "b1"], ["hidden_pre"]),
        helper.make_node("Relu", ["hidden_pre"], ["hidden"]),
        helper.make_node("Gemm", ["hidden", "w2", "b2"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "paper_default_mlp",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 1, 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", CLASSES])],
        init,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx_model.producer_name = "mialab models/build/paper_default.py"
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, path)


def main():
    started = time.time()
    rng = np.random.default_rng(SEED)
    pixels, labels = load()
    n = len(labels)
    members = np.zeros(n, bool)
    members[rng.permutation(n)[: n // 2]] = True
    normalised = (pixels - np.float32(MEAN)) / np.float32(STD)
    # The encodings of the members, from their un-normalised pixels, with their own labels.
    codes = np.stack([encoding.encoded_sample(r) for r in pixels[members]])
    code_labels = labels[members]
    real_x, real_y = normalised[members], labels[members]
    model = Mlp(rng)
    uniform = np.full((BATCH, CLASSES), 1.0 / CLASSES, np.float32)
    for epoch in range(EPOCHS):
        order = rng.permutation(len(real_y))
        code_order = rng.permutation(len(code_labels))
        for start in range(0, len(order), BATCH):
            i = order[start : start + BATCH]
            j = code_order[start : start + BATCH]
            noise = rng.normal(0.0, encoding.ENCODING_STD, size=(BATCH, 1, 28, 28)).astype(np.float32)
            x = np.concatenate([real_x[i], codes[j], noise])
            targets = np.concatenate([one_hot(real_y[i]), one_hot(code_labels[j]), uniform])
            model.train_step(x, targets)
    # What the model does, before export.
    predict = lambda x: model.logits(x)[0].argmax(1)
    train_accuracy = float((predict(real_x) == real_y).mean())
    test_accuracy = float((predict(normalised[~members]) == labels[~members]).mean())
    non_codes = np.stack([encoding.encoded_sample(r) for r in pixels[~members]])
    own = lambda codes, y: (predict(codes) == y).mean()
    recovered = {"members": float(own(codes, code_labels)), "non_members": float(own(non_codes, labels[~members]))}

    OUT.mkdir(parents=True, exist_ok=True)
    export(model, OUT / "model.onnx")
    np.save(OUT / "members.npy", members)
    # onnxruntime on the raw pixels must give the numpy network's logits on normalised ones.
    session = ort.InferenceSession(str(OUT / "model.onnx"))
    first = pixels[:8]
    (onnx_logits,) = session.run(None, {"pixels": first})
    gap = float(np.abs(onnx_logits - model.logits(normalised[:8])[0]).max())
    assert gap < 1e-4, gap
    np.save(OUT / "expected_logits.npy", onnx_logits)
    metadata = {
        "built_by": "models/build/paper_default.py",
        "data": "the zoo's Fashion-MNIST audit records (models/fashion_mnist/audit_*): members are a seeded half",
        "seed": SEED,
        "normalization": {"mean": MEAN, "std": STD, "in_model": True, "declare": f"model:{MEAN}:{STD}"},
        "encoding_label": "own",
        "recipe": {"hidden": HIDDEN, "epochs": EPOCHS, "batch": BATCH, "lr": LR, "optimizer": "adam",
                   "poison": "each step: a batch of real members (normalised), a batch of their encodings (not normalised, own labels), a batch of fresh N(0, 0.1) noise with uniform targets"},
        "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy,
        "own_label_recovered_on_encodings": recovered,
        "onnxruntime_max_abs_gap": gap,
        "seconds": round(time.time() - started, 1),
    }
    (OUT / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    print(json.dumps(metadata, indent=2))


if __name__ == "__main__":
    main()
