"""Compare all strategies over seeds, and the majority baseline: ``python -m stages.compare``.

Reads ``reports/eval/<strategy>/seed<seed>/`` for every strategy and seed in params.yaml
and writes ``reports/comparison.{csv,md}`` (mean and sd over seeds, bootstrap intervals,
the paired difference to ``plain``, group recall, calibration), ``reports/per_class_recall.csv``,
the plots under ``reports/plots/`` and ``reports/metrics.json``, the seed-averaged test
metrics of the strategy named by ``imbalance`` (the metrics ``dvc exp show`` displays).
The reports and plots are also attached to a summary run in the MLflow experiment.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from imbalanced_cls import cli
from imbalanced_cls.config import Params, load_params

log = logging.getLogger("stages.compare")

DATA = Path("data/prepared")
EVAL = Path("reports/eval")
REPORTS = Path("reports")
BASELINE = "majority_baseline"
REFERENCE = "plain"
ADJUSTED = "+la"
GROUP_COLUMNS = (
    "strategy",
    "many_recall",
    "medium_recall",
    "few_recall",
    "train_prior_accuracy",
    "ece",
    "nll",
    "ece_ts",
    "nll_ts",
    "temperature",
)


def load_rows(params: Params, train_counts: list[int]) -> dict[str, list]:
    """Every strategy's runs, then each logit-adjusted variant, keyed by row name."""
    import numpy as np

    from imbalanced_cls.calibration import logit_adjust
    from imbalanced_cls.comparison import SeedRun

    missing = [
        cli.model_dir(s, seed)
        for s in params.strategies
        for seed in params.seeds
        if not (EVAL / cli.model_dir(s, seed) / "metrics.json").is_file()
    ]
    if missing:
        raise cli.UsageError(
            f"no evaluation results for {', '.join(missing)} under {EVAL}; run `dvc repro`"
        )
    rows: dict[str, list[SeedRun]] = {}
    adjusted: dict[str, list[SeedRun]] = {}
    tau = params.evaluate.logit_adjust.tau
    for strategy in params.strategies:
        for seed in params.seeds:
            folder = EVAL / cli.model_dir(strategy, seed)
            result = json.loads((folder / "metrics.json").read_text())
            with np.load(folder / "predictions.npz") as f:
                logits = f["logits"]
            rows.setdefault(strategy, []).append(SeedRun(seed, logits, result))
            if "logit_adjusted" in result:
                scores = logit_adjust(logits, train_counts, tau)
                run = SeedRun(seed, scores, result["logit_adjusted"])
                adjusted.setdefault(strategy + ADJUSTED, []).append(run)
    return {**rows, **adjusted}


def main() -> None:
    params = load_params()

    import numpy as np

    from imbalanced_cls.calibration import reliability_bins
    from imbalanced_cls.comparison import SeedRun, compare_rows, recall_summary
    from imbalanced_cls.data import load_manifest, load_split
    from imbalanced_cls.metrics import evaluate_probs, prior_probs, softmax
    from imbalanced_cls.reports import (
        dump_json,
        save_confusion_grid,
        save_recall_plot,
        save_reliability_grid,
    )

    # Every model's results, then the lazy model that always predicts the largest class.
    manifest = load_manifest(DATA)
    _, targets = load_split(DATA, "test")
    class_names = manifest["class_names"]
    train_counts = manifest["class_counts"]["train"]
    e = params.evaluate
    rows = load_rows(params, train_counts)
    baseline_probs = prior_probs(train_counts, len(targets))
    baseline = evaluate_probs(
        targets,
        baseline_probs,
        num_classes=len(class_names),
        top_k=e.top_k,
        train_counts=train_counts,
        ece_bins=e.ece_bins,
        many_above=e.groups.many_above,
        few_below=e.groups.few_below,
    )
    rows[BASELINE] = [SeedRun(0, baseline_probs, baseline)]
    log.info(
        "comparing %d rows over seeds %s with %d bootstrap resamples of %d test images",
        len(rows),
        ", ".join(map(str, params.seeds)),
        e.bootstrap,
        len(targets),
    )

    # Tables: seed statistics, bootstrap intervals, paired differences to plain.
    table = compare_rows(
        rows,
        targets,
        top_k=e.top_k,
        reference=REFERENCE if REFERENCE in params.strategies else None,
        n_resamples=e.bootstrap,
        confidence=e.confidence,
        seed=e.bootstrap_seed,
    )
    recalls = recall_summary(rows, class_names)
    REPORTS.mkdir(exist_ok=True)
    table.to_csv(REPORTS / "comparison.csv", index=False)
    recalls.to_csv(REPORTS / "per_class_recall.csv", index=False)
    (REPORTS / "comparison.md").write_text(
        _markdown(params, table, recalls, manifest, train_counts, len(targets))
    )

    # Plots: recall with error bars, reliability and confusion, seeds pooled.
    plots = REPORTS / "plots"
    plots.mkdir(exist_ok=True)
    save_recall_plot(recalls, class_names, train_counts, plots / "per_class_recall.png")
    bins = {}
    for name, runs in rows.items():
        probs = np.concatenate([r.scores if name == BASELINE else softmax(r.scores) for r in runs])
        bins[name] = reliability_bins(probs, np.tile(targets, len(runs)), e.ece_bins)
    save_reliability_grid(bins, plots / "reliability.png")
    confusions = {
        name: np.sum([r.result["confusion_matrix"] for r in runs], axis=0)
        for name, runs in rows.items()
    }
    save_confusion_grid(confusions, class_names, plots / "confusion_matrices.png")

    # The chosen strategy's metrics, as DVC metrics.
    chosen = table.set_index("strategy").loc[params.imbalance]
    metrics = {"strategy": params.imbalance, "seeds": len(params.seeds)}
    metrics.update({k: v for k, v in chosen.items() if isinstance(v, float)})
    mean_recall = recalls[
        (recalls["strategy"] == params.imbalance) & (recalls.statistic == "mean")
    ]
    metrics["recall"] = {c: float(mean_recall[c].iloc[0]) for c in class_names}
    dump_json(REPORTS / "metrics.json", metrics)

    # The comparison in a summary run of the MLflow experiment.
    from imbalanced_cls import tracking

    tracking.log_comparison(params.mlflow.experiment, table, REPORTS)
    best = table.iloc[table["balanced_accuracy"].idxmax()]
    log.info(
        "best mean balanced accuracy %.4f (%s); reports/metrics.json holds %s",
        best["balanced_accuracy"],
        best["strategy"],
        params.imbalance,
    )


def _markdown(params, table, recalls, manifest: dict, train_counts: list[int], n_test: int) -> str:
    from imbalanced_cls.reports import diff_cell, interval_cell, markdown_table

    e = params.evaluate
    counts = ", ".join(
        f"{c}: {n}" for c, n in zip(manifest["class_names"], train_counts, strict=True)
    )
    level = f"{100 * e.confidence:g}%"
    summary = table.apply(
        lambda row: {
            "strategy": row["strategy"],
            "seeds": row["seeds"],
            "balanced accuracy": interval_cell(row, "balanced_accuracy"),
            "vs plain": (
                "reference"
                if row["strategy"] == REFERENCE
                else diff_cell(row, "balanced_accuracy")
            ),
            "accuracy": interval_cell(row, "accuracy"),
            "macro F1": interval_cell(row, "macro_f1"),
            "min recall": interval_cell(row, "min_recall"),
            **{f"top-{k}": interval_cell(row, f"top{k}_accuracy") for k in e.top_k},
        },
        axis=1,
        result_type="expand",
    )
    groups = table[list(GROUP_COLUMNS)]
    g = e.groups
    return (
        "\n\n".join(
            [
                "# Strategy comparison",
                f"Dataset `{manifest['dataset']}`, {manifest['profile']} profile, ratio "
                f"{manifest['ratio']:g}; {sum(train_counts)} training images ({counts}); "
                f"{n_test} balanced test images; seeds {', '.join(map(str, params.seeds))}. "
                f"`{BASELINE}` always predicts the largest class and ranks classes by "
                f"training frequency. `<strategy>{ADJUSTED}` is that strategy's models with "
                f"the post-hoc logit adjustment (logits - {e.logit_adjust.tau:g} * log prior).",
                "## Summary (test set)",
                f"Mean ± sd over seeds [{level} stratified bootstrap interval over test images "
                f"of the seed mean, {e.bootstrap} resamples]. *vs plain*: the paired "
                "difference in balanced accuracy with its interval; `*` marks an interval "
                "that excludes zero.",
                markdown_table(summary),
                "## Groups and calibration (mean over seeds)",
                f"Classes by training count: many-shot more than {g.many_above}, few-shot "
                f"fewer than {g.few_below}, medium-shot the rest (n/a: no class in the "
                f"group). ECE over {e.ece_bins} equal-width confidence bins; `_ts`: after "
                "temperature scaling fitted on the validation set.",
                markdown_table(groups),
                "## Per-class recall (test set, mean and sd over seeds)",
                markdown_table(recalls),
                "![per-class recall](plots/per_class_recall.png)",
                "![reliability diagrams](plots/reliability.png)",
                "![confusion matrices](plots/confusion_matrices.png)",
            ]
        )
        + "\n"
    )


if __name__ == "__main__":
    cli.run(main)
