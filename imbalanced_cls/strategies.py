"""The five ways of handling imbalance, as a plan the training loop follows.

- ``plain``: cross-entropy on the logits, uniform shuffling.
- ``weighted``: cross-entropy with class weights w_i proportional to (1 / f_i)^power.
- ``sampling``: ``WeightedRandomSampler`` with per-sample weight 1 / count[y], with
  replacement, so that batches are class-balanced in expectation.
- ``augmentation``: targeted augmentation, stronger for rarer classes.
- ``combined``: all three, with one inverse-frequency correction split between the sampler
  and the loss (``combined.sampler_share``): the sampler draws class i with probability
  q_i proportional to n_i^(1 - share), and the loss weights are the inverse of q, the
  distribution the sampler produces, so the correction is not applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import RandomSampler, Sampler, WeightedRandomSampler

from imbalanced_cls.config import Params


def inverse_frequency(class_counts: list[int]) -> np.ndarray:
    """1 / f_i with f_i = n_i / N: a 90/5/5 split gives about [1.11, 20, 20]."""
    counts = np.asarray(class_counts, dtype=np.float64)
    return counts.sum() / counts


def class_weights(class_counts: list[int], power: float = 1.0) -> np.ndarray:
    """Class weights proportional to (1 / f_i)^power, normalised to sum to C.

    ``power`` tempers the correction: 1 is plain inverse frequency, 0.5 its square root,
    0 uniform weights. With ``CrossEntropyLoss(weight=w, reduction="mean")`` PyTorch
    divides by the sum of the batch's weights, so the scale of ``w`` does not change the
    loss; the normalisation keeps the weights readable and comparable across runs.
    """
    w = inverse_frequency(class_counts) ** power
    return w * (len(w) / w.sum())


def sampler_weights(
    targets: np.ndarray, class_counts: list[int], power: float = 1.0
) -> np.ndarray:
    """Per-sample weights 1 / count[y]^power; power 1 makes classes equally likely."""
    counts = np.asarray(class_counts, dtype=np.float64)
    return counts[targets] ** -power


def sampled_class_distribution(class_counts: list[int], power: float) -> np.ndarray:
    """Expected class frequencies of batches drawn with :func:`sampler_weights`."""
    counts = np.asarray(class_counts, dtype=np.float64)
    mass = counts * counts**-power
    return mass / mass.sum()


@dataclass(frozen=True)
class StrategyPlan:
    """What a strategy changes in training: loss weights, sampler, augmentation."""

    strategy: str
    loss_weights: np.ndarray | None
    sampler_power: float | None
    augment: bool

    def describe(self) -> str:
        parts = []
        if self.loss_weights is not None:
            w = self.loss_weights
            parts.append(f"loss weights {w.min():.2f}..{w.max():.2f}")
        if self.sampler_power is not None:
            parts.append(f"sampler weight 1/count^{self.sampler_power:g}")
        if self.augment:
            parts.append("targeted augmentation")
        return ", ".join(parts) or "cross-entropy, uniform shuffling"


def plan_strategy(strategy: str, class_counts: list[int], params: Params) -> StrategyPlan:
    """Turn a strategy name and the training class counts into a :class:`StrategyPlan`."""
    if strategy == "plain":
        return StrategyPlan(strategy, None, None, False)
    if strategy == "weighted":
        return StrategyPlan(
            strategy, class_weights(class_counts, params.weighted.power), None, False
        )
    if strategy == "sampling":
        return StrategyPlan(strategy, None, 1.0, False)
    if strategy == "augmentation":
        return StrategyPlan(strategy, None, None, True)
    if strategy == "combined":
        share = params.combined.sampler_share
        sampled = sampled_class_distribution(class_counts, share)
        weights = class_weights(sampled.tolist(), power=1.0)
        return StrategyPlan(strategy, weights, share, True)
    raise ValueError(f"unknown strategy {strategy!r}")


def make_sampler(
    targets: np.ndarray, class_counts: list[int], power: float | None, generator: torch.Generator
) -> Sampler[int]:
    """Uniform shuffling without a power, else a weighted sampler drawing with replacement."""
    if power is None:
        return RandomSampler(range(len(targets)), generator=generator)
    weights = torch.as_tensor(sampler_weights(targets, class_counts, power))
    return WeightedRandomSampler(weights, len(targets), replacement=True, generator=generator)
