import numpy as np
import pytest
import torch

from imbalanced_cls.config import parse_params
from imbalanced_cls.strategies import (
    class_weights,
    inverse_frequency,
    make_sampler,
    plan_strategy,
    sampled_class_distribution,
)

COUNTS_90_5_5 = [900, 50, 50]


def test_inverse_frequency_of_90_5_5():
    assert inverse_frequency(COUNTS_90_5_5) == pytest.approx([1.111, 20, 20], abs=1e-3)


def test_class_weights_are_normalised_to_sum_to_the_class_count():
    w = class_weights(COUNTS_90_5_5, power=1.0)
    assert w.sum() == pytest.approx(3)
    # Proportional to inverse frequency: the ratio survives normalisation.
    assert w[1] / w[0] == pytest.approx(18)
    assert w[1] == pytest.approx(w[2])


def test_power_tempers_the_weights():
    full = class_weights(COUNTS_90_5_5, power=1.0)
    sqrt = class_weights(COUNTS_90_5_5, power=0.5)
    assert sqrt[1] / sqrt[0] == pytest.approx(np.sqrt(18))
    assert sqrt[1] / sqrt[0] < full[1] / full[0]
    assert class_weights(COUNTS_90_5_5, power=0.0) == pytest.approx([1, 1, 1])


def test_weighted_mean_loss_ignores_the_scale_of_the_weights():
    # PyTorch's mean reduction divides by the batch's summed weights.
    logits = torch.tensor([[2.0, 1.0, 0.1], [0.3, 0.2, 1.5], [0.0, 2.0, 0.0]])
    targets = torch.tensor([0, 2, 1])
    w = torch.tensor(class_weights(COUNTS_90_5_5), dtype=torch.float32)
    a = torch.nn.functional.cross_entropy(logits, targets, weight=w)
    b = torch.nn.functional.cross_entropy(logits, targets, weight=7 * w)
    assert a.item() == pytest.approx(b.item())


def test_weighted_sampler_balances_batches():
    counts = [900, 80, 20]
    targets = np.repeat(np.arange(3), counts)
    sampler = make_sampler(targets, counts, 1.0, torch.Generator().manual_seed(0))
    drawn = targets[np.fromiter(iter(sampler), dtype=np.int64)]
    assert len(drawn) == len(targets)
    freqs = np.bincount(drawn, minlength=3) / len(drawn)
    assert freqs == pytest.approx([1 / 3] * 3, abs=0.05)


def test_uniform_sampler_keeps_the_imbalance():
    counts = [900, 80, 20]
    targets = np.repeat(np.arange(3), counts)
    sampler = make_sampler(targets, counts, None, torch.Generator().manual_seed(0))
    drawn = targets[np.fromiter(iter(sampler), dtype=np.int64)]
    assert np.bincount(drawn, minlength=3).tolist() == counts


def test_combined_does_not_correct_twice(raw_params):
    raw_params["combined"]["sampler_share"] = 0.5
    params = parse_params(raw_params)
    counts = [900, 80, 20]
    plan = plan_strategy("combined", counts, params)
    assert plan.sampler_power == 0.5 and plan.augment
    # Expected loss mass per class = sampled frequency x weight: uniform, not overcorrected.
    mass = sampled_class_distribution(counts, plan.sampler_power) * plan.loss_weights
    assert mass / mass.sum() == pytest.approx([1 / 3] * 3)


def test_combined_with_the_whole_correction_in_the_sampler_has_uniform_weights(raw_params):
    raw_params["combined"]["sampler_share"] = 1.0
    plan = plan_strategy("combined", [900, 80, 20], parse_params(raw_params))
    assert plan.loss_weights == pytest.approx([1, 1, 1])


def test_each_strategy_plan(raw_params):
    params = parse_params(raw_params)
    counts = [50, 10, 5]
    plans = {s: plan_strategy(s, counts, params) for s in params.strategies}
    assert plans["plain"].loss_weights is None and plans["plain"].sampler_power is None
    assert not plans["plain"].augment
    assert plans["weighted"].loss_weights is not None and plans["weighted"].sampler_power is None
    assert plans["sampling"].sampler_power == 1.0 and plans["sampling"].loss_weights is None
    assert plans["augmentation"].augment and plans["augmentation"].loss_weights is None
    with pytest.raises(ValueError, match="unknown strategy"):
        plan_strategy("focal", counts, params)
