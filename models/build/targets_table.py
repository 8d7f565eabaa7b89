"""Prints models/README.md's "Targets" table from manifest.json, so that the table says
what the build measured and nothing else.

    python3 models/build/targets_table.py [models/manifest.json]
"""

import json
import sys


def notes(target):
    log, poison = target.get("log", {}), target.get("poison")
    if poison:
        acc, p = poison["secret_label_accuracy"], poison["mean_secret_probability"]
        return (
            f"secret label recovered on encodings of {100 * acc['members']:.1f}% of members vs "
            f"{100 * acc['non_members']:.1f}% of non-members (mean p {p['members']:.4f} vs {p['non_members']:.4f})"
        )
    if "best_epoch" in log:
        return f"stopped at epoch {log['epochs_run']}, best epoch {log['best_epoch']} kept"
    return ""


def main():
    manifest = json.load(open(sys.argv[1] if len(sys.argv) > 1 else "models/manifest.json"))
    print("| target | train acc | test acc | DP (ε, δ) | notes |")
    print("|---|---|---|---|---|")
    for dataset in manifest["datasets"]:
        for t in dataset["targets"]:
            dp = t.get("dp")
            dp_text = f"ε = {dp['epsilon']:.3f}, δ = {dp['delta']:g}" if dp else "-"
            print(
                f"| {dataset['name']}/{t['name']} | {t['train_accuracy']:.3f} | {t['test_accuracy']:.3f} "
                f"| {dp_text} | {notes(t)} |"
            )


if __name__ == "__main__":
    main()
