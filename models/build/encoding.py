"""Membership-encoding samples of the NDSS 2025 code-poisoning attack (SPEC.md, attack 7),
derived exactly as the paper's code does, so that mialab's Rust derivation can be checked
against these bytes.

seed  = MD5 of the record's float32 bytes (C order), read as four little-endian uint32
x'    = RandomState(seed).normal(0, 0.1, size=x.shape), as float32
label = RandomState(seed).randint(0, C), drawn from a fresh state
"""

import hashlib

import numpy as np

ENCODING_STD = 0.1


def seed_of(record):
    digest = hashlib.md5(np.ascontiguousarray(record, dtype=np.float32).tobytes()).digest()
    return np.frombuffer(digest, dtype="<u4").copy()


def encoded_sample(record):
    state = np.random.RandomState(seed_of(record))
    return state.normal(0.0, ENCODING_STD, size=np.shape(record)).astype(np.float32)


def secret_label(record, n_classes):
    return int(np.random.RandomState(seed_of(record)).randint(0, n_classes))


def encode_all(records, n_classes):
    samples = np.stack([encoded_sample(r) for r in records])
    labels = np.array([secret_label(r, n_classes) for r in records], dtype=np.int64)
    return samples, labels
