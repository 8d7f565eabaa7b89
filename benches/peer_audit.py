"""The Python peer of `mialab audit --zoo fashion_mnist/overfit --attack
lira-online,rmia-online,loss`: the same audit as a practitioner would write it with
onnxruntime and numpy, following ../shared/SPEC.md (LiRA online with the fixed per-side
variance mialab's `auto` picks for 16 references, RMIA online with a = 0.3 unused and
γ = 1, the loss attack), and prints its wall time and each attack's AUC, which must equal
mialab's. It computes less than mialab's audit (no bootstrap interval, operating points or
report), so the comparison flatters it.

    python3 benches/peer_audit.py [--mialab target/release/mialab] [DATASET/RECIPE]

Times the peer as a process (interpreter start and imports included, as mialab's process
start is) with onnxruntime on one thread and on every core; with --mialab, also `mialab
--threads N audit ...` at 1 thread and every core, checks each attack's AUC equals the
peer's to 1e-5 (the two engines round float32 differently: fashion_mnist's agree to 1e-6),
and prints the time ratios. Best of three runs each.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort


def logits(path, features, threads, batch=256):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: features[i:i + batch]})[0] for i in range(0, len(features), batch)])


def signals(z, labels):
    """confidence p_y, loss, and LiRA's φ = z_y - logsumexp_{j≠y} z_j, in float64."""
    z = z.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    rows = np.arange(len(labels))
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    others = z.copy()
    others[rows, labels] = -np.inf
    m = others.max(axis=1, keepdims=True)
    phi = z[rows, labels] - (m[:, 0] + np.log(np.exp(others - m).sum(axis=1)))
    return np.exp(log_p[rows, labels]), -np.maximum(log_p[rows, labels], np.log(1e-45)), phi


def auc(scores, members):
    """Mann-Whitney with ties counted ½ (the trapezoid AUC)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    pos = members.sum()
    return (ranks[members].sum() - pos * (pos + 1) / 2) / (pos * (len(scores) - pos))


def peer(target, threads):
    """The audit's AUCs, computed from the models' outputs; its wall time is the caller's."""
    dataset, recipe = target.split("/")
    zoo = f"models/{dataset}"
    load = lambda what: np.load(f"{zoo}/{what}_features.npy")
    audit, population = load("audit"), load("population")
    if audit.dtype == np.uint8:
        audit, population = audit.astype(np.float32) / 255, population.astype(np.float32) / 255
    y, y_pop = np.load(f"{zoo}/audit_labels.npy").astype(int), np.load(f"{zoo}/population_labels.npy").astype(int)
    members = np.load(f"{zoo}/targets/{recipe}.members.npy").astype(bool)
    keep = np.load(f"{zoo}/references/{recipe}/keep.npy").astype(bool)
    refs = [f"{zoo}/references/{recipe}/ref-{k:02d}.onnx" for k in range(len(keep))]

    conf_t, loss_t, phi_t = signals(logits(f"{zoo}/targets/{recipe}.onnx", audit, threads), y)
    conf_tz, _, _ = signals(logits(f"{zoo}/targets/{recipe}.onnx", population, threads), y_pop)
    ref_audit = [signals(logits(r, audit, threads), y) for r in refs]
    ref_pop = [signals(logits(r, population, threads), y_pop) for r in refs]

    phi = np.stack([s[2] for s in ref_audit])  # [K, N]
    inside, outside = np.where(keep, phi, np.nan), np.where(keep, np.nan, phi)
    mu_in, mu_out = np.nanmedian(inside, axis=0), np.nanmedian(outside, axis=0)
    sd_in, sd_out = max(phi[keep].std(), 1e-6), max(phi[~keep].std(), 1e-6)
    log_pdf = lambda x, mu, sd: -0.5 * ((x - mu) / sd) ** 2 - np.log(sd)
    lira = log_pdf(phi_t, mu_in, sd_in) - log_pdf(phi_t, mu_out, sd_out)

    ratio_x = conf_t / np.stack([s[0] for s in ref_audit]).mean(axis=0)
    ratio_z = np.sort(conf_tz / np.stack([s[0] for s in ref_pop]).mean(axis=0))
    rmia = np.searchsorted(ratio_z, ratio_x, side="right") / len(ratio_z)
    return {"loss": auc(-loss_t, members), "lira-online": auc(lira, members), "rmia-online": auc(rmia, members)}


def best_of_three(run):
    best, result = float("inf"), None
    for _ in range(3):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def peer_process(target, threads):
    out = subprocess.run([sys.executable, __file__, "--once", target, str(threads)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def mialab(binary, target, threads):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([binary, "--threads", str(threads), "audit", "--zoo", target, "--attack", "lira-online,rmia-online,loss",
                        "-q", "--out", f"{out}/report.json"], check=True, stdout=subprocess.DEVNULL)
        with open(f"{out}/report.json") as f:
            return {a["id"]: a["metrics"]["auc"] for a in json.load(f)["attacks"]}


def main():
    args = sys.argv[1:]
    if args[:1] == ["--once"]:
        print(json.dumps(peer(args[1], int(args[2]))))
        return
    binary = None
    if "--mialab" in args:
        binary = args[args.index("--mialab") + 1]
        del args[args.index("--mialab"):args.index("--mialab") + 2]
    target = args[0] if args else "fashion_mnist/overfit"
    cores = os.cpu_count()
    print(f"{target}: lira-online, rmia-online, loss; wall seconds, best of 3; {cores} CPU threads")
    for threads in [1, cores]:
        seconds, aucs = best_of_three(lambda: peer_process(target, threads))
        line = f"threads {threads}: python peer (onnxruntime + numpy) {seconds:.2f} s"
        if binary:
            ours, our_aucs = best_of_three(lambda: mialab(binary, target, threads))
            for attack, value in aucs.items():
                if abs(our_aucs[attack] - value) > 1e-5:
                    raise SystemExit(f"{attack}: mialab AUC {our_aucs[attack]:.6f}, the peer's {value:.6f}")
            line += f", mialab {ours:.2f} s, mialab / peer time {ours / seconds:.2f}"
        print(line + "; AUCs " + ", ".join(f"{k} {v:.6f}" for k, v in aucs.items()))


if __name__ == "__main__":
    main()
