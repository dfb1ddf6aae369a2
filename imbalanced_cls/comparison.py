"""Strategies compared over seeds, with bootstrap intervals and paired tests against one.

Each row of the comparison is a strategy (or a post-hoc variant such as ``plain+la``)
evaluated for several training seeds on the same balanced test images. Per metric it
reports the mean and standard deviation over seeds, and a percentile bootstrap interval
over test images of the seed-averaged metric: every resample draws the test images
again (stratified by class, see :mod:`imbalanced_cls.stats`) and averages the metric of
all seeds on that resample. Differences to the reference row use the same resamples and
pair seed with seed, so the variation common to both models on an image cancels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from imbalanced_cls.metrics import top_k_hits
from imbalanced_cls.stats import (
    percentile_interval,
    resampled_mean,
    resampled_metrics,
    stratified_bootstrap_counts,
)

# Metrics with a bootstrap interval; the others get mean and sd over seeds only.
INTERVAL_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "min_recall")
SEED_METRICS = (
    "train_prior_accuracy",
    "many_recall",
    "medium_recall",
    "few_recall",
    "ece",
    "nll",
    "ece_ts",
    "nll_ts",
    "temperature",
)
PAIRED_METRIC = "balanced_accuracy"


@dataclass(frozen=True)
class SeedRun:
    """One model's test predictions: ``scores`` (N, num_classes) logits or probabilities."""

    seed: int
    scores: np.ndarray
    result: dict


def interval_metrics(top_k: list[int]) -> list[str]:
    return [*INTERVAL_METRICS, *(f"top{k}_accuracy" for k in top_k)]


def resample_row(
    runs: list[SeedRun], targets: np.ndarray, counts: np.ndarray, top_k: list[int]
) -> dict[str, np.ndarray]:
    """Per bootstrap resample (rows of ``counts``), each metric averaged over the seeds."""
    num_classes = runs[0].scores.shape[1]
    per_seed = []
    for run in runs:
        preds = run.scores.argmax(axis=1)
        values = resampled_metrics(targets, preds, counts, num_classes)
        for k in top_k:
            hits = top_k_hits(targets, run.scores, k).astype(np.float64)
            values[f"top{k}_accuracy"] = resampled_mean(hits, counts)
        per_seed.append(values)
    return {m: np.mean([v[m] for v in per_seed], axis=0) for m in per_seed[0]}


def compare_rows(
    rows: dict[str, list[SeedRun]],
    targets: np.ndarray,
    *,
    top_k: list[int],
    reference: str | None,
    n_resamples: int,
    confidence: float,
    seed: int,
) -> pd.DataFrame:
    """One row per entry of ``rows``: mean, sd, interval and the paired difference."""
    counts = stratified_bootstrap_counts(targets, n_resamples, seed)  # (B, N)
    resampled = {name: resample_row(runs, targets, counts, top_k) for name, runs in rows.items()}
    table = []
    for name, runs in rows.items():
        row: dict[str, object] = {"strategy": name, "seeds": len(runs)}
        for metric in interval_metrics(top_k):
            row.update(_seed_summary(runs, metric))
            low, high = percentile_interval(resampled[name][metric], confidence)
            row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = low, high
        for metric in SEED_METRICS:
            row.update(_seed_summary(runs, metric))
        if reference is not None and reference in rows:
            row.update(_paired(rows, resampled, name, reference, confidence))
        table.append(row)
    return pd.DataFrame(table)


def _seed_summary(runs: list[SeedRun], metric: str) -> dict[str, float]:
    """Mean and sample standard deviation over seeds; NaN where undefined."""
    values = np.array([_number(r.result.get(metric)) for r in runs], dtype=np.float64)
    if np.isnan(values).all():
        return {metric: math.nan, f"{metric}_sd": math.nan}
    sd = float(np.nanstd(values, ddof=1)) if np.isfinite(values).sum() > 1 else math.nan
    return {metric: float(np.nanmean(values)), f"{metric}_sd": sd}


def _paired(
    rows: dict[str, list[SeedRun]],
    resampled: dict[str, dict[str, np.ndarray]],
    name: str,
    reference: str,
    confidence: float,
) -> dict[str, object]:
    """The difference to ``reference`` in the paired metric, with its interval."""
    m = PAIRED_METRIC
    diff = np.mean([r.result[m] for r in rows[name]]) - np.mean(
        [r.result[m] for r in rows[reference]]
    )
    if name == reference:
        return {
            f"{m}_diff": 0.0,
            f"{m}_diff_ci_low": 0.0,
            f"{m}_diff_ci_high": 0.0,
            f"{m}_diff_significant": False,
        }
    low, high = percentile_interval(resampled[name][m] - resampled[reference][m], confidence)
    return {
        f"{m}_diff": float(diff),
        f"{m}_diff_ci_low": low,
        f"{m}_diff_ci_high": high,
        f"{m}_diff_significant": bool(low > 0 or high < 0),
    }


def _number(value: object) -> float:
    return math.nan if value is None else float(value)


def recall_summary(rows: dict[str, list[SeedRun]], class_names: list[str]) -> pd.DataFrame:
    """Per-class test recall: mean and sd over seeds, one row per strategy and statistic."""
    records = []
    for name, runs in rows.items():
        recalls = np.array([r.result["per_class"]["recall"] for r in runs])  # (seeds, C)
        sd = recalls.std(axis=0, ddof=1) if len(runs) > 1 else np.full(len(class_names), np.nan)
        records.append(
            {
                "strategy": name,
                "statistic": "mean",
                **dict(zip(class_names, recalls.mean(0), strict=True)),
            }
        )
        records.append(
            {"strategy": name, "statistic": "sd", **dict(zip(class_names, sd, strict=True))}
        )
    return pd.DataFrame(records)
