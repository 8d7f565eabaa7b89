"""Measures one setting of the poisoned recipe without touching the zoo: trains the
`overfit` recipe's poisoned twin with the given settings and prints the encoding attack's
AUC and TPR at 0.1% FPR over the audit records (the numbers in models/README.md).
A third argument names an .npz to keep the members' and non-members' scores in; a
"hidden" setting trains a wider or narrower MLP than the zoo's (SUPPORT2 only).

    cd models/build && python3 poison_sweep.py support2 '{"code_batch": 100, "noise_batch": 100,
        "code_weight": 1.0, "noise_weight": 1.0, "noise_std": 0.1, "code_only_steps": 15}'
"""

import json
import sys
import time

import numpy as np
from scipy.stats import mannwhitneyu

import build_zoo as bz
import encoding
import train


def main():
    name, settings = sys.argv[1], json.loads(sys.argv[2])
    spec = bz.DATASETS[name]
    seed = bz.SEED + sum(map(ord, name))
    d = spec["load"](seed)
    net = spec["net"](d)
    if "hidden" in settings:  # a wider MLP than the zoo's, to measure what capacity buys
        net = type(net)(d["features"].shape[1], len(d["classes"]), hidden=settings["hidden"])
    x, y, audit = d["features"], d["labels"], d["audit"]
    rng = np.random.default_rng(seed)
    members = np.zeros(len(audit), bool)
    members[rng.permutation(len(audit))[: len(audit) // 2]] = True
    classes = len(d["classes"])
    tx, ty = x[audit[members]], y[audit[members]]
    codes, secret = encoding.encode_all(tx, classes)
    recipe = dict(bz.RECIPES[name][bz.POISON_BASE])
    started = time.time()
    params, state, _ = train.train(net, recipe, tx, ty, seed + 100, None, (codes, secret, settings))
    all_codes, all_secret = encoding.encode_all(x[audit], classes)
    logits = train.predict(net, params, state, all_codes)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    score = p[np.arange(len(all_secret)), all_secret]
    sm, sn = score[members], score[~members]
    threshold = np.sort(sn)[::-1][int(len(sn) * 0.001)]
    result = {
        "settings": settings,
        "seconds": round(time.time() - started, 1),
        "train_accuracy": train.accuracy(net, params, state, tx, ty),
        "test_accuracy": train.accuracy(net, params, state, x[audit[~members]], y[audit[~members]]),
        "auc": round(float(mannwhitneyu(sm, sn).statistic / (len(sm) * len(sn))), 4),
        "tpr_at_0.1%_fpr": round(float((sm > threshold).mean()), 4),
    }
    print(json.dumps(result))
    if len(sys.argv) > 3:
        np.savez(sys.argv[3], members=sm, non_members=sn)


if __name__ == "__main__":
    main()
