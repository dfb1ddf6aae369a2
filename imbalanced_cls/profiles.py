"""Artificial imbalance profiles: how many training images each class keeps.

- ``exponential``: n_i = n_max * ratio^(-i / (C - 1)), the long-tail construction of
  Cui et al. (2019) and Cao et al. (2019) used for CIFAR-10-LT; class 0 is the largest.
- ``step``: the first C - m classes keep n_max, the last m keep n_max / ratio
  (Buda et al., 2018). Three classes with m = 2 and ratio 18 give the 90/5/5 split.

Counts are truncated to integers, as in the published CIFAR-LT code.
"""

from __future__ import annotations

import math


def exponential_counts(num_classes: int, max_per_class: int, ratio: float) -> list[int]:
    """Per-class counts decaying exponentially from ``max_per_class`` to ``max/ratio``."""
    if num_classes == 1:
        return [max_per_class]
    return [
        int(max_per_class * ratio ** (-i / (num_classes - 1)) + 1e-9) for i in range(num_classes)
    ]


def step_counts(
    num_classes: int, max_per_class: int, ratio: float, minority_classes: int
) -> list[int]:
    """The last ``minority_classes`` classes keep ``max_per_class / ratio``, the rest all."""
    minority = int(max_per_class / ratio + 1e-9)
    majority = num_classes - minority_classes
    return [max_per_class] * majority + [minority] * minority_classes


def profile_counts(
    profile: str,
    num_classes: int,
    max_per_class: int,
    ratio: float,
    minority_classes: int = 1,
) -> list[int]:
    """Training count per class for a named profile."""
    if profile == "exponential":
        return exponential_counts(num_classes, max_per_class, ratio)
    if profile == "step":
        return step_counts(num_classes, max_per_class, ratio, minority_classes)
    raise ValueError(f"unknown profile {profile!r}; allowed: exponential, step")


def imbalance_ratio(class_counts: list[int]) -> float:
    """Largest over smallest class count (inf when a class is empty)."""
    smallest = min(class_counts)
    return math.inf if smallest == 0 else max(class_counts) / smallest
