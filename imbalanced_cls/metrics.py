"""Per-class evaluation with scikit-learn, always over ``labels=range(num_classes)``.

``probs`` are softmax probabilities (N, num_classes); predictions are their argmax, and
ties go to the lower class index (numpy's argmax). Top-k accuracy follows the same rule:
classes are ranked by probability with ties broken toward the lower index, so top-1
accuracy always equals accuracy. scikit-learn's ``top_k_accuracy_score`` breaks ties the
other way, toward the higher index, which is why it is not used here. A class that is
never predicted gets precision 0 (scikit-learn's ``zero_division=0``).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)

from imbalanced_cls.calibration import expected_calibration_error, nll_from_logits
from imbalanced_cls.stats import class_groups, group_recall

SUMMARY_COLUMNS = (
    "accuracy",
    "train_prior_accuracy",
    "balanced_accuracy",
    "macro_f1",
    "min_recall",
    "many_recall",
    "medium_recall",
    "few_recall",
    "ece",
    "nll",
)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum for numerical stability."""
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def evaluate_probs(
    y_true: np.ndarray,
    probs: np.ndarray,
    *,
    num_classes: int,
    top_k: list[int],
    train_counts: list[int],
    ece_bins: int = 15,
    many_above: int = 100,
    few_below: int = 20,
) -> dict:
    """Summary metrics, per-class precision/recall/F1/support and the confusion matrix.

    Calibration: ``ece`` (expected calibration error over ``ece_bins`` equal-width bins of
    the top probability) and ``nll``. Groups: the mean recall of the many-, medium- and
    few-shot classes by training count (``many_recall`` etc., NaN for an empty group).

    ``train_prior_accuracy`` is the accuracy expected on a test set with the training
    class frequencies, sum_i f_i * recall_i: the number a lazy majority-class model makes
    look good. Scalars are plain floats so the result can be written as JSON; per-class
    values are lists indexed by class.
    """
    if probs.shape != (len(y_true), num_classes):
        raise ValueError(f"probs has shape {probs.shape}; expected ({len(y_true)}, {num_classes})")
    labels = list(range(num_classes))
    y_pred = probs.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    result = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "train_prior_accuracy": prior_weighted_accuracy(recall, train_counts),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "min_recall": float(recall[support > 0].min()),
        "nll": float(log_loss(y_true, probs, labels=labels)),
    }
    for k in top_k:
        result[f"top{k}_accuracy"] = float(top_k_hits(y_true, probs, k).mean())
    result["ece"] = expected_calibration_error(probs, y_true, ece_bins)
    groups = class_groups(train_counts, many_above, few_below)
    for group, value in group_recall(recall, groups).items():
        result[f"{group}_recall"] = value
    result["groups"] = groups
    result["per_class"] = {
        "precision": precision.astype(float).tolist(),
        "recall": recall.astype(float).tolist(),
        "f1": f1.astype(float).tolist(),
        "support": support.astype(int).tolist(),
    }
    result["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    return result


def top_k_hits(targets: np.ndarray, scores: np.ndarray, k: int) -> np.ndarray:
    """(N,) bool: the target is among the k highest scores, ties to the lower class index."""
    ranked = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # (N, k)
    return (ranked == np.asarray(targets)[:, None]).any(axis=1)


def evaluate_logits(targets: np.ndarray, logits: np.ndarray, **kwargs) -> dict:
    """:func:`evaluate_probs` of softmax(logits), with the NLL computed from the logits."""
    probs = softmax(logits.astype(np.float64))
    result = evaluate_probs(targets, probs, num_classes=logits.shape[1], **kwargs)
    result["nll"] = nll_from_logits(logits, targets)
    return result


def prior_weighted_accuracy(recall: np.ndarray, class_counts: list[int]) -> float:
    """Accuracy under a class distribution given by counts: sum_i f_i * recall_i."""
    counts = np.asarray(class_counts, dtype=np.float64)
    return float(np.dot(counts / counts.sum(), recall))


def prior_probs(class_counts: list[int], n: int) -> np.ndarray:
    """The lazy model: every image gets the training class frequencies as probabilities.

    Its argmax is always the largest class, so it scores that class's share of accuracy
    and zero recall on every other class.
    """
    counts = np.asarray(class_counts, dtype=np.float64)
    return np.tile(counts / counts.sum(), (n, 1))


def summary_columns(top_k: list[int]) -> list[str]:
    """The per-model scalar metrics, in report order."""
    return [*SUMMARY_COLUMNS, *(f"top{k}_accuracy" for k in top_k)]
