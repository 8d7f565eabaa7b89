"""The zoo's two data sets, prepared once into fixed, id-stable record pools.

Each prepared set is a dict with the float32 features the models take, integer labels,
stable record ids, class and feature names, and the split of the pool into the audit set
(the LiRA population: targets and references train on random halves of it) and the
population set (records no model ever trains on; thresholds and RMIA's z come from it).
"""

import gzip
import pathlib

import numpy as np

FASHION_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")  # Debian: dataset-fashion-mnist

SUPPORT2_CLASSES = ["died within 30 days", "died in 31-180 days", "alive at 180 days"]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]

# Harrell's recommended "normal" fill-ins for SUPPORT2 physiology left unmeasured
# (hbiostat.org/data/repo/Csupport2.html): a missing lab usually means it looked normal.
SUPPORT2_NORMAL_VALUES = {
    "num_alb": 3.5, "num_pafi": 333.3, "num_bili": 1.01, "num_crea": 1.01,
    "num_bun": 6.51, "num_wblc": 9.0, "num_urine": 2502.0,
}
# Dropped: outcomes recorded after admission (sfdm2 is functional status at two months and
# says "<2 mo. follow-up" for the dead; dnr is a do-not-resuscitate order written during the
# stay), another prognostic model's outputs (surv2m, surv6m), and a duplicate (fac_num_co).
SUPPORT2_DROPPED = ["fac_sfdm2", "fac_dnr", "num_surv2m", "num_surv6m", "fac_num_co"]
SUPPORT2_CATEGORICAL = [
    "fac_sex", "fac_dzgroup", "fac_dzclass", "fac_race", "fac_diabetes",
    "fac_dementia", "fac_ca", "fac_income",
]


def survival_class(time_days, died):
    """0: died within 30 days of entry, 1: died in days 31-180, 2: alive at day 180.

    Every censored patient was followed for at least 344 days, so no record is ambiguous.
    """
    cls = np.full(len(time_days), 2, dtype=np.int64)
    cls[(died == 1) & (time_days <= 30)] = 0
    cls[(died == 1) & (time_days > 30) & (time_days <= 180)] = 1
    return cls


def split_pool(n_pool, n_population, seed):
    """Sorted indices of the audit set and of the held-out population set."""
    order = np.random.default_rng(seed).permutation(n_pool)
    return np.sort(order[n_population:]), np.sort(order[:n_population])


def load_support2(seed, n_population=1105):
    from SurvSet.data import SurvLoader  # PyPI SurvSet ships SUPPORT2 inside the package

    df = SurvLoader().load_dataset("support2")["df"].sort_values("pid").reset_index(drop=True)
    labels = survival_class(df["time"].to_numpy(), df["event"].to_numpy())
    ids = np.array([f"support2-{int(p)}" for p in df["pid"]])
    df = df.drop(columns=["pid", "event", "time"] + SUPPORT2_DROPPED)

    numeric = [c for c in df.columns if c.startswith("num_")]
    columns, names = [], []
    for c in numeric:
        values = df[c].astype(float)
        missing = values.isna().to_numpy()
        if missing.mean() > 0.05:
            columns.append(missing.astype(np.float64))
            names.append(f"{c[4:]}_missing")
        fill = SUPPORT2_NORMAL_VALUES.get(c, float(values.median()))
        values = values.fillna(fill).to_numpy()
        columns.append((values - values.mean()) / values.std())
        names.append(c[4:])
    for c in SUPPORT2_CATEGORICAL:
        values = df[c].astype(str).to_numpy()
        for level in sorted(set(values)):
            columns.append((values == level).astype(np.float64))
            names.append(f"{c[4:]}={level}")
    features = np.stack(columns, axis=1).astype(np.float32)

    audit, population = split_pool(len(labels), n_population, seed)
    return {
        "name": "support2",
        "features": features,
        "labels": labels,
        "ids": ids,
        "classes": SUPPORT2_CLASSES,
        "feature_names": names,
        "audit": audit,
        "population": population,
    }


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_fashion(seed, n_pool=10000, n_population=2000):
    """A fixed random pool from Fashion-MNIST's 60,000 training images (uint8, [N,1,28,28])."""
    images = read_idx(FASHION_DIR / "train-images-idx3-ubyte.gz")
    labels = read_idx(FASHION_DIR / "train-labels-idx1-ubyte.gz").astype(np.int64)
    chosen = np.sort(np.random.default_rng(seed).choice(len(labels), n_pool, replace=False))
    audit, population = split_pool(n_pool, n_population, seed + 1)
    return {
        "name": "fashion_mnist",
        "pixels": images[chosen][:, None, :, :].copy(),
        "features": images[chosen][:, None, :, :].astype(np.float32) / np.float32(255),
        "labels": labels[chosen],
        "ids": np.array([f"fmnist-train-{int(i)}" for i in chosen]),
        "classes": FASHION_CLASSES,
        "feature_names": [],
        "audit": audit,
        "population": population,
    }
