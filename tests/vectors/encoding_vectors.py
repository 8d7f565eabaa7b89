"""Test vectors for the membership encoding (SPEC.md attack 7), computed with numpy's own
RandomState exactly as the NDSS 2025 code derives them:

    seed  = np.frombuffer(hashlib.md5(x.astype(np.float32).tobytes()).digest(), "<u4")
    x'    = np.random.RandomState(seed).normal(0, 0.1, size=x.shape)
    label = np.random.RandomState(seed).randint(0, C)      # a fresh state

Run from the repository root: python3 tests/vectors/encoding_vectors.py
It rewrites tests/vectors/encoding.json, which the Rust tests read. Values are stored as
their IEEE-754 bit patterns (float32 records as u32, float64 draws as decimal u64 strings)
so that no decimal round trip can move them by an ulp.
"""

import hashlib
import json
import pathlib

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def record(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.random(shape, dtype=np.float32)


def case(shape, seed, classes):
    x = record(shape, seed)
    digest = hashlib.md5(x.astype(np.float32).tobytes()).digest()
    key = np.frombuffer(digest, dtype="<u4")
    encoded = np.random.RandomState(key).normal(0, 0.1, size=x.shape)
    labels = {str(c): int(np.random.RandomState(key).randint(0, c)) for c in classes}
    return {
        "shape": list(shape),
        "record_bits": [int(v) for v in x.ravel().view(np.uint32)],
        "md5_key": [int(k) for k in key],
        "encoded_bits": [str(int(v)) for v in encoded.ravel().view(np.uint64)],
        "secret_labels": labels,
    }


def main():
    cases = [
        case((3,), 1, [2, 3, 10]),
        case((64,), 2, [3]),
        case((1, 4, 4), 3, [10, 7]),
        case((3, 2, 5), 4, [2, 100]),
        case((1, 28, 28), 5, [10]),
    ]
    (HERE / "encoding.json").write_text(
        json.dumps({"numpy": np.__version__, "cases": cases}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
