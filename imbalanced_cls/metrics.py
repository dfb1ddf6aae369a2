"""Per-class evaluation with scikit-learn, always over ``labels=range(num_classes)``.

``probs`` are softmax probabilities (N, num_classes); predictions are their argmax.
A class that is never predicted gets precision 0 (scikit-learn's ``zero_division=0``).
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
    top_k_accuracy_score,
)

SUMMARY_COLUMNS = (
    "accuracy",
    "train_prior_accuracy",
    "balanced_accuracy",
    "macro_f1",
    "min_recall",
    "cross_entropy",
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
) -> dict:
    """Summary metrics, per-class precision/recall/F1/support and the confusion matrix.

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
        "cross_entropy": float(log_loss(y_true, probs, labels=labels)),
    }
    for k in top_k:
        result[f"top{k}_accuracy"] = float(top_k_accuracy_score(y_true, probs, k=k, labels=labels))
    result["per_class"] = {
        "precision": precision.astype(float).tolist(),
        "recall": recall.astype(float).tolist(),
        "f1": f1.astype(float).tolist(),
        "support": support.astype(int).tolist(),
    }
    result["confusion_matrix"] = confusion_matrix(y_true, y_pred, labels=labels).tolist()
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
    """Column order of the comparison table."""
    return [*SUMMARY_COLUMNS, *(f"top{k}_accuracy" for k in top_k)]
