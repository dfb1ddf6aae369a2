"""Uncertainty of test-set metrics by the bootstrap (Efron & Tibshirani 1993).

Resampling is stratified by class: the test set is balanced by design, so every resample
keeps each class's number of images and only varies which images of the class it holds.
A resample is a row of counts, how many times each test image was drawn; metrics of two
models evaluated on the same rows are paired, so their differences are paired too.

Class groups follow the many/medium/few-shot split of the long-tail literature (Liu et al.
2019): more than 100 training images, 20 to 100, fewer than 20.
"""

from __future__ import annotations

import numpy as np

GROUPS = ("many", "medium", "few")


def stratified_bootstrap_counts(targets: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Counts (n_resamples, N): how often each image is drawn, class sizes kept per row."""
    targets = np.asarray(targets)
    if targets.ndim != 1 or targets.size == 0:
        raise ValueError(f"targets has shape {targets.shape}; expected (N,) with N > 0")
    if n_resamples < 1:
        raise ValueError(f"n_resamples is {n_resamples}; expected at least 1")
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_resamples, targets.size), dtype=np.int64)
    for c in np.unique(targets):
        members = np.flatnonzero(targets == c)
        uniform = np.full(members.size, 1.0 / members.size)
        counts[:, members] = rng.multinomial(members.size, uniform, size=n_resamples)
    return counts


def _check_counts(counts: np.ndarray, n: int) -> None:
    """Counts must be (B, N) with B > 0 and no row that draws nothing."""
    if counts.ndim != 2 or counts.shape[0] == 0 or counts.shape[1] != n:
        raise ValueError(f"counts has shape {counts.shape}; expected (B, {n}) with B > 0")
    if (counts < 0).any() or (counts.sum(axis=1) == 0).any():
        raise ValueError("counts must be >= 0 with at least one draw in every row")


def _resampled_confusion(
    targets: np.ndarray, preds: np.ndarray, counts: np.ndarray, num_classes: int
) -> np.ndarray:
    """Confusion matrices (B, num_classes, num_classes) of the resamples, [b, target, pred]."""
    targets, preds, counts = np.asarray(targets), np.asarray(preds), np.asarray(counts)
    if targets.ndim != 1 or preds.shape != targets.shape:
        raise ValueError(
            f"targets has shape {targets.shape} and preds {preds.shape}; expected (N,)"
        )
    for name, labels in (("targets", targets), ("preds", preds)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"{name} range over [{labels.min()}, {labels.max()}]; "
                f"allowed: 0 to {num_classes - 1}"
            )
    _check_counts(counts, targets.size)

    # Each image falls in one (target, pred) cell; a resample's cell totals are the sums of
    # its counts over the images of the cell. Memory stays O(B * C^2), whatever N.
    cell = targets * num_classes + preds  # (N,)
    cells = np.stack(
        [np.bincount(cell, weights=row, minlength=num_classes**2) for row in counts]
    )  # (B, C * C)
    return cells.reshape(len(counts), num_classes, num_classes)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    out = np.zeros_like(numerator, dtype=np.float64)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def resampled_metrics(
    targets: np.ndarray, preds: np.ndarray, counts: np.ndarray, num_classes: int
) -> dict[str, np.ndarray]:
    """Per-resample metrics, each of shape (B,), of targets and preds (N,) under counts (B, N).

    ``accuracy``; ``balanced_accuracy`` and ``min_recall``, the mean and minimum recall over
    the classes present; ``macro_f1`` over all num_classes with F1 = 0 where undefined.
    """
    confusion = _resampled_confusion(targets, preds, counts, num_classes)
    hits = np.diagonal(confusion, axis1=1, axis2=2)
    support = confusion.sum(axis=2)
    predicted = confusion.sum(axis=1)
    present = support > 0

    recall = _ratio(hits, support)
    # F1 = 2 tp / (2 tp + fp + fn) = 2 tp / (support + predicted).
    f1 = _ratio(2 * hits, support + predicted)
    return {
        "accuracy": hits.sum(axis=1) / support.sum(axis=1),
        "balanced_accuracy": recall.sum(axis=1) / present.sum(axis=1),
        "macro_f1": f1.mean(axis=1),
        "min_recall": np.where(present, recall, np.inf).min(axis=1),
    }


def resampled_mean(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-resample mean (B,) of a per-image vector values (N,) weighted by counts (B, N)."""
    values, counts = np.asarray(values, dtype=np.float64), np.asarray(counts)
    if values.ndim != 1:
        raise ValueError(f"values has shape {values.shape}; expected (N,)")
    _check_counts(counts, values.size)
    return (counts @ values) / counts.sum(axis=1)


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the resampled values (B,) at the given level."""
    if not 0 < level < 1:
        raise ValueError(f"level is {level}; expected 0 < level < 1")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(np.asarray(values, dtype=np.float64), [tail, 100 - tail])
    return float(low), float(high)


def class_groups(class_counts: list[int], many_above: int = 100, few_below: int = 20) -> list[str]:
    """The group of each class by its training count: many, medium or few."""
    if few_below > many_above + 1:
        raise ValueError(
            f"few_below is {few_below} and many_above {many_above}; "
            "expected few_below <= many_above + 1 so that no count is both many and few"
        )
    return [
        "many" if n > many_above else "few" if n < few_below else "medium" for n in class_counts
    ]


def group_recall(recall: list[float] | np.ndarray, groups: list[str]) -> dict[str, float]:
    """Mean recall of the classes in each group, keyed many, medium, few; NaN if empty."""
    recall = np.asarray(recall, dtype=np.float64)
    if recall.shape != (len(groups),):
        raise ValueError(
            f"recall has shape {recall.shape} and groups length {len(groups)}; expected equal"
        )
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        raise ValueError(f"unknown groups {unknown}; allowed: {', '.join(GROUPS)}")
    labels = np.asarray(groups, dtype=str)
    return {
        g: float(recall[labels == g].mean()) if (labels == g).any() else float("nan")
        for g in GROUPS
    }
