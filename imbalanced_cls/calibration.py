"""Calibration of softmax probabilities and post-hoc corrections of logits.

- Expected calibration error and reliability bins, and temperature scaling fitted by
  negative log-likelihood, as in Guo et al. 2017, "On Calibration of Modern Neural Networks".
- Logit adjustment by the training class prior, as in Menon et al. 2021, "Long-Tail
  Learning via Logit Adjustment": subtracting tau * log(prior) from the logits moves the
  argmax towards the classes that were rare in training.

``logits`` and ``probs`` are (N, num_classes) arrays, ``targets`` an (N,) array of ints.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

# Search range of the temperature; the fit runs over log T.
MIN_TEMPERATURE = 0.05
MAX_TEMPERATURE = 20.0


def _check_scores(scores: np.ndarray, targets: np.ndarray, name: str) -> None:
    """Shapes (N, num_classes) and (N,) with N > 0 and every target a column of scores."""
    if scores.ndim != 2 or targets.ndim != 1 or scores.shape[0] != targets.shape[0]:
        raise ValueError(
            f"{name} has shape {scores.shape} and targets {targets.shape}; "
            "expected (N, num_classes) and (N,)"
        )
    if scores.shape[0] == 0:
        raise ValueError(f"{name} has shape {scores.shape}; expected at least one row")
    if targets.min() < 0 or targets.max() >= scores.shape[1]:
        raise ValueError(
            f"targets range over [{targets.min()}, {targets.max()}]; "
            f"allowed: 0 to {scores.shape[1] - 1}"
        )


def reliability_bins(
    probs: np.ndarray, targets: np.ndarray, n_bins: int = 15
) -> dict[str, np.ndarray]:
    """Accuracy and mean confidence (max prob) per equal-width confidence bin.

    Bin b covers (b / n_bins, (b + 1) / n_bins]; the first bin also holds confidence 0.
    Every value has shape (n_bins,): ``lower``, ``upper``, ``count``, and ``accuracy`` and
    ``confidence``, which are NaN for an empty bin.
    """
    probs, targets = np.asarray(probs, dtype=np.float64), np.asarray(targets)
    _check_scores(probs, targets, "probs")
    if n_bins < 1:
        raise ValueError(f"n_bins is {n_bins}; expected at least 1")
    confidence = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == targets).astype(np.float64)

    # Right-closed bins: searchsorted(side="left") maps edges[b] < c <= edges[b + 1] to b + 1.
    edges = np.arange(n_bins + 1) / n_bins
    bin_of = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)

    count = np.bincount(bin_of, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.bincount(bin_of, weights=correct, minlength=n_bins) / count
        mean_confidence = np.bincount(bin_of, weights=confidence, minlength=n_bins) / count
    return {
        "lower": edges[:-1],
        "upper": edges[1:],
        "count": count,
        "accuracy": accuracy,
        "confidence": mean_confidence,
    }


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, n_bins: int = 15) -> float:
    """ECE of probs (N, num_classes): the count-weighted mean |accuracy - confidence| of bins."""
    bins = reliability_bins(probs, targets, n_bins)
    filled = bins["count"] > 0
    gaps = np.abs(bins["accuracy"][filled] - bins["confidence"][filled])
    return float(np.dot(bins["count"][filled], gaps) / bins["count"].sum())


def nll_from_logits(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean negative log-likelihood of targets (N,) under softmax(logits (N, num_classes))."""
    logits, targets = np.asarray(logits, dtype=np.float64), np.asarray(targets)
    _check_scores(logits, targets, "logits")
    target_logits = logits[np.arange(len(targets)), targets]
    return float(np.mean(logsumexp(logits, axis=1) - target_logits))


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The temperature T in [0.05, 20] minimising the NLL of logits / T (N, num_classes)."""
    logits, targets = np.asarray(logits, dtype=np.float64), np.asarray(targets)
    _check_scores(logits, targets, "logits")
    result = minimize_scalar(
        lambda log_t: nll_from_logits(logits / math.exp(log_t), targets),
        bounds=(math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)),
        method="bounded",
    )
    return float(math.exp(result.x))


def logit_adjust(
    logits: np.ndarray, class_counts: list[int] | np.ndarray, tau: float
) -> np.ndarray:
    """logits (N, num_classes) minus tau * log(prior), prior = class_counts / sum."""
    logits = np.asarray(logits, dtype=np.float64)
    counts = np.asarray(class_counts, dtype=np.float64)
    if tau < 0:
        raise ValueError(f"tau is {tau}; expected tau >= 0")
    if logits.ndim != 2 or counts.shape != (logits.shape[1],):
        raise ValueError(
            f"logits has shape {logits.shape} and class_counts {counts.shape}; "
            "expected (N, num_classes) and (num_classes,)"
        )
    empty = np.flatnonzero(counts <= 0)
    if empty.size:
        raise ValueError(
            f"class {int(empty[0])} has count {counts[empty[0]]:g}; every count must be > 0"
        )
    return logits - tau * np.log(counts / counts.sum())
