"""Stratified bootstrap, resampled metrics, intervals and class groups against hand values."""

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, recall_score

from imbalanced_cls.stats import (
    class_groups,
    group_recall,
    percentile_interval,
    resampled_mean,
    resampled_metrics,
    stratified_bootstrap_counts,
)

# Six images of three classes, scored over four classes: class 2 is never predicted and
# class 3 is absent from both targets and preds.
TARGETS = np.array([0, 0, 1, 1, 2, 2])
PREDS = np.array([0, 0, 0, 1, 0, 1])
NUM_CLASSES = 4


def sklearn_metrics(targets, preds, weights=None) -> dict[str, float]:
    labels = list(range(NUM_CLASSES))
    recall = recall_score(targets, preds, average=None, sample_weight=weights, zero_division=0)
    return {
        "accuracy": accuracy_score(targets, preds, sample_weight=weights),
        "balanced_accuracy": balanced_accuracy_score(targets, preds, sample_weight=weights),
        "macro_f1": f1_score(
            targets, preds, labels=labels, average="macro", sample_weight=weights, zero_division=0
        ),
        "min_recall": recall.min(),
    }


def test_stratified_counts_keep_the_class_sizes():
    targets = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    counts = stratified_bootstrap_counts(targets, n_resamples=50, seed=0)
    assert counts.shape == (50, 9)
    assert np.issubdtype(counts.dtype, np.integer)
    assert (counts >= 0).all()
    for c, n_c in enumerate([3, 2, 4]):
        assert (counts[:, targets == c].sum(axis=1) == n_c).all()


def test_stratified_counts_depend_on_the_seed_only():
    targets = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    first = stratified_bootstrap_counts(targets, n_resamples=20, seed=7)
    assert np.array_equal(first, stratified_bootstrap_counts(targets, n_resamples=20, seed=7))
    assert not np.array_equal(first, stratified_bootstrap_counts(targets, 20, seed=8))


def test_stratified_counts_check_inputs():
    with pytest.raises(ValueError, match="n_resamples is 0"):
        stratified_bootstrap_counts(TARGETS, n_resamples=0, seed=0)
    with pytest.raises(ValueError, match=r"shape \(0,\)"):
        stratified_bootstrap_counts(np.array([], dtype=int), n_resamples=5, seed=0)


def test_identity_resample_matches_scikit_learn_and_hand_values():
    # Confusion [target, pred]: 0->0 twice; 1->0, 1->1; 2->0, 2->1.
    # accuracy 3/6; recall [1, 1/2, 0], balanced 1/2, min 0;
    # precision [2/4, 1/2, 0, 0]; F1 = 2 tp / (support + predicted) = [4/6, 2/4, 0, 0],
    # macro over four classes (2/3 + 1/2) / 4 = 7/24.
    metrics = resampled_metrics(TARGETS, PREDS, np.ones((1, 6), dtype=int), NUM_CLASSES)
    hand = {"accuracy": 0.5, "balanced_accuracy": 0.5, "macro_f1": 7 / 24, "min_recall": 0.0}
    reference = sklearn_metrics(TARGETS, PREDS)
    for name, value in metrics.items():
        assert value.shape == (1,)
        assert value[0] == pytest.approx(hand[name])
        assert value[0] == pytest.approx(reference[name])


def test_weighted_resample_matches_scikit_learn_and_hand_values():
    # Image 2 (1->0) drawn twice, image 3 (1->1) not at all: 0->0 twice, 1->0 twice,
    # 2->0, 2->1. accuracy 2/6; recall [1, 0, 0], balanced 1/3, min 0;
    # F1 of class 0 = 2 * 2 / (2 + 5) = 4/7, the others 0; macro (4/7) / 4 = 1/7.
    weights = np.array([1, 1, 2, 0, 1, 1])
    counts = np.stack([np.ones(6, dtype=int), weights])
    metrics = resampled_metrics(TARGETS, PREDS, counts, NUM_CLASSES)
    hand = {"accuracy": 1 / 3, "balanced_accuracy": 1 / 3, "macro_f1": 1 / 7, "min_recall": 0.0}
    reference = sklearn_metrics(TARGETS, PREDS, weights)
    for name, value in metrics.items():
        assert value.shape == (2,)
        assert value[1] == pytest.approx(hand[name])
        assert value[1] == pytest.approx(reference[name])


def test_bootstrap_resamples_match_scikit_learn_with_sample_weight():
    rng = np.random.default_rng(0)
    targets = np.repeat(np.arange(NUM_CLASSES), 10)
    preds = np.where(rng.random(40) < 0.6, targets, rng.integers(0, NUM_CLASSES, 40))
    counts = stratified_bootstrap_counts(targets, n_resamples=5, seed=1)
    metrics = resampled_metrics(targets, preds, counts, NUM_CLASSES)
    for b, weights in enumerate(counts):
        reference = sklearn_metrics(targets, preds, weights)
        for name, value in metrics.items():
            assert value[b] == pytest.approx(reference[name])
    # Accuracy is the resampled mean of the per-image hits.
    assert metrics["accuracy"] == pytest.approx(resampled_mean(targets == preds, counts))


def test_resampled_metrics_check_inputs():
    with pytest.raises(ValueError, match=r"preds \(5,\)"):
        resampled_metrics(TARGETS, PREDS[:5], np.ones((1, 6)), NUM_CLASSES)
    with pytest.raises(ValueError, match=r"counts has shape \(1, 5\); expected \(B, 6\)"):
        resampled_metrics(TARGETS, PREDS, np.ones((1, 5)), NUM_CLASSES)
    with pytest.raises(ValueError, match="allowed: 0 to 1"):
        resampled_metrics(TARGETS, PREDS, np.ones((1, 6)), num_classes=2)


def test_resampled_mean_by_hand():
    values = np.array([1.0, 0.0, 1.0, 1.0])
    counts = np.array([[1, 1, 1, 1], [0, 2, 1, 1], [4, 0, 0, 0]])
    # (1 + 0 + 1 + 1) / 4; (0 + 0 + 1 + 1) / 4; 4 / 4.
    assert resampled_mean(values, counts) == pytest.approx([3 / 4, 2 / 4, 1.0])


def test_percentile_interval():
    # Linear interpolation on 0..100: the 2.5th and 97.5th percentiles are 2.5 and 97.5.
    assert percentile_interval(np.arange(101)) == pytest.approx((2.5, 97.5))
    assert percentile_interval(np.arange(101), level=0.9) == pytest.approx((5.0, 95.0))
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=f"level is {level}"):
            percentile_interval(np.arange(101), level=level)


def test_class_groups_with_the_default_thresholds():
    groups = class_groups([500, 101, 100, 20, 19, 5])
    assert groups == ["many", "many", "medium", "medium", "few", "few"]
    # few_below = many_above + 1 leaves no medium group but is consistent.
    assert class_groups([11, 10], many_above=10, few_below=11) == ["many", "few"]
    with pytest.raises(ValueError, match="few_below is 12 and many_above 10"):
        class_groups([5], many_above=10, few_below=12)


def test_group_recall_with_an_empty_group():
    result = group_recall([1.0, 0.5, 0.2], ["many", "many", "few"])
    assert list(result) == ["many", "medium", "few"]
    assert result["many"] == pytest.approx(0.75)
    assert math.isnan(result["medium"])
    assert result["few"] == pytest.approx(0.2)


def test_group_recall_checks_inputs():
    with pytest.raises(ValueError, match="groups length 2"):
        group_recall([1.0, 0.5, 0.2], ["many", "few"])
    with pytest.raises(ValueError, match="unknown groups"):
        group_recall([1.0], ["lots"])
