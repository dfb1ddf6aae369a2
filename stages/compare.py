"""Compare all strategies and the majority-class baseline: ``python -m stages.compare``.

Reads ``reports/eval/<strategy>/metrics.json`` for every strategy in params.yaml and the
prepared test set; writes ``reports/comparison.{csv,md}``, ``reports/per_class_recall.csv``,
the plots under ``reports/plots/`` and ``reports/metrics.json``, the test metrics of the
strategy named by ``imbalance`` (the metrics ``dvc exp show`` displays).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from imbalanced_cls import cli
from imbalanced_cls.config import load_params

log = logging.getLogger("stages.compare")

DATA = Path("data/prepared")
EVAL = Path("reports/eval")
REPORTS = Path("reports")
BASELINE = "majority_baseline"


def main() -> None:
    params = load_params()

    from imbalanced_cls.data import load_manifest, load_split
    from imbalanced_cls.metrics import evaluate_probs, prior_probs
    from imbalanced_cls.reports import (
        comparison_table,
        recall_table,
        save_confusion_grid,
        save_recall_plot,
    )

    # Every strategy's results, then the lazy model that always predicts the largest class.
    missing = [s for s in params.strategies if not (EVAL / s / "metrics.json").is_file()]
    if missing:
        raise cli.UsageError(
            f"no evaluation results for {', '.join(missing)} under {EVAL}; run `dvc repro`"
        )
    results = {s: json.loads((EVAL / s / "metrics.json").read_text()) for s in params.strategies}
    manifest = load_manifest(DATA)
    _, targets = load_split(DATA, "test")
    class_names = manifest["class_names"]
    train_counts = manifest["class_counts"]["train"]
    top_k = params.evaluate.top_k
    results[BASELINE] = evaluate_probs(
        targets,
        prior_probs(train_counts, len(targets)),
        num_classes=len(class_names),
        top_k=top_k,
        train_counts=train_counts,
    )

    # Tables.
    table = comparison_table(results, top_k)
    recalls = recall_table(results, class_names)
    REPORTS.mkdir(exist_ok=True)
    table.to_csv(REPORTS / "comparison.csv", index=False)
    recalls.to_csv(REPORTS / "per_class_recall.csv", index=False)
    (REPORTS / "comparison.md").write_text(
        _markdown(table, recalls, manifest, train_counts, len(targets))
    )

    # Plots.
    plots = REPORTS / "plots"
    plots.mkdir(exist_ok=True)
    save_recall_plot(recalls, class_names, train_counts, plots / "per_class_recall.png")
    save_confusion_grid(results, class_names, plots / "confusion_matrices.png")

    # The chosen strategy's metrics, as DVC metrics.
    chosen = results[params.imbalance]
    metrics = {"strategy": params.imbalance}
    metrics.update({k: v for k, v in chosen.items() if isinstance(v, float)})
    metrics["recall"] = dict(zip(class_names, chosen["per_class"]["recall"], strict=True))
    (REPORTS / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    best = table.iloc[table["balanced_accuracy"].idxmax()]
    log.info(
        "compared %d strategies and the baseline; best balanced accuracy %.4f (%s); "
        "reports/metrics.json holds %s",
        len(params.strategies),
        best["balanced_accuracy"],
        best["strategy"],
        params.imbalance,
    )


def _markdown(table, recalls, manifest: dict, train_counts: list[int], n_test: int) -> str:
    from imbalanced_cls.reports import markdown_table

    counts = ", ".join(
        f"{c}: {n}" for c, n in zip(manifest["class_names"], train_counts, strict=True)
    )
    return (
        "\n\n".join(
            [
                "# Strategy comparison",
                f"Dataset `{manifest['dataset']}`, {manifest['profile']} profile, ratio "
                f"{manifest['ratio']:g}; {sum(train_counts)} training images ({counts}); "
                f"{n_test} balanced test images. `{BASELINE}` always predicts the largest "
                "class and ranks classes by training frequency.",
                "## Summary (test set)",
                markdown_table(table),
                "## Per-class recall (test set)",
                markdown_table(recalls),
                "![per-class recall](plots/per_class_recall.png)",
                "![confusion matrices](plots/confusion_matrices.png)",
            ]
        )
        + "\n"
    )


if __name__ == "__main__":
    cli.run(main)
