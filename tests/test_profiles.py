import itertools
import math

import pytest

from imbalanced_cls.profiles import (
    exponential_counts,
    imbalance_ratio,
    profile_counts,
    step_counts,
)


def test_exponential_matches_cifar10_lt_ratio_100():
    counts = exponential_counts(10, 5000, 100)
    assert counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert sum(counts) == 12406


def test_exponential_matches_cifar10_lt_ratios_10_and_50():
    ratio_10 = [5000, 3871, 2997, 2320, 1796, 1391, 1077, 834, 645, 500]
    assert exponential_counts(10, 5000, 10) == ratio_10
    assert exponential_counts(10, 5000, 50)[-1] == 100 and sum(ratio_10) == 20431


def test_exponential_ends_at_max_over_ratio_and_decreases():
    counts = exponential_counts(10, 100, 20)
    assert counts[0] == 100 and counts[-1] == 5
    assert all(a >= b for a, b in itertools.pairwise(counts))


def test_ratio_one_is_balanced():
    assert exponential_counts(4, 30, 1) == [30, 30, 30, 30]
    assert step_counts(4, 30, 1, 2) == [30, 30, 30, 30]


def test_step_expresses_the_90_5_5_split():
    counts = step_counts(3, 90, 18, minority_classes=2)
    assert counts == [90, 5, 5]
    shares = [c / sum(counts) for c in counts]
    assert shares == pytest.approx([0.9, 0.05, 0.05])


def test_profile_counts_dispatches_and_rejects_unknown_names():
    assert profile_counts("step", 3, 90, 18, 2) == [90, 5, 5]
    assert profile_counts("exponential", 10, 5000, 100)[-1] == 50
    with pytest.raises(ValueError, match=r"'zipf'.*exponential, step"):
        profile_counts("zipf", 10, 100, 10)


def test_imbalance_ratio():
    assert imbalance_ratio([90, 5, 5]) == 18
    assert imbalance_ratio([3, 0]) == math.inf
