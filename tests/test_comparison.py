"""The comparison over seeds: seed statistics, bootstrap intervals and the paired test."""

import numpy as np
import pytest

from imbalanced_cls.comparison import SeedRun, compare_rows, recall_summary, resample_row
from imbalanced_cls.metrics import evaluate_probs
from imbalanced_cls.stats import stratified_bootstrap_counts

TARGETS = np.array([0, 0, 1, 1, 2, 2])


def run(seed: int, preds: list[int]) -> SeedRun:
    """A model whose scores put all mass on ``preds``, with its evaluation."""
    scores = np.eye(3)[preds] * 0.9 + 0.1 / 3
    result = evaluate_probs(TARGETS, scores, num_classes=3, top_k=[1, 2], train_counts=[4, 2, 1])
    return SeedRun(seed, scores, result)


def table(rows: dict, n_resamples: int = 200):
    return compare_rows(
        rows,
        TARGETS,
        top_k=[1, 2],
        reference="plain",
        n_resamples=n_resamples,
        confidence=0.9,
        seed=0,
    ).set_index("strategy")


def test_seed_mean_and_sd_by_hand():
    # Balanced accuracy: seed 0 gets 6/6 right (1.0), seed 1 gets 4/6 (2/3: recalls 1, 1, 0).
    rows = {"plain": [run(0, [0, 0, 1, 1, 2, 2]), run(1, [0, 0, 1, 1, 0, 0])]}
    t = table(rows)
    assert t.loc["plain", "balanced_accuracy"] == pytest.approx((1 + 2 / 3) / 2)
    # Sample sd of {1, 2/3}: |1 - 2/3| / sqrt(2).
    assert t.loc["plain", "balanced_accuracy_sd"] == pytest.approx((1 / 3) / np.sqrt(2))
    assert t.loc["plain", "min_recall"] == pytest.approx(0.5)
    assert t.loc["plain", "seeds"] == 2


def test_interval_of_the_seed_mean_matches_a_direct_computation():
    rows = {"plain": [run(0, [0, 1, 1, 1, 2, 0]), run(1, [0, 0, 1, 2, 2, 2])]}
    t = table(rows, n_resamples=300)

    # The same resamples by hand: accuracy per resample and seed, averaged over seeds.
    counts = stratified_bootstrap_counts(TARGETS, 300, seed=0)
    hits = np.array([[1, 0, 1, 1, 1, 0], [1, 1, 1, 0, 1, 1]], dtype=float)  # (seeds, N)
    per_resample = (counts @ hits.T / counts.sum(1, keepdims=True)).mean(1)  # (B,)
    low, high = np.percentile(per_resample, [5, 95])
    assert t.loc["plain", "accuracy_ci_low"] == pytest.approx(low)
    assert t.loc["plain", "accuracy_ci_high"] == pytest.approx(high)
    assert t.loc["plain", "accuracy_ci_low"] <= t.loc["plain", "accuracy"]


def test_the_paired_difference_cancels_what_two_models_share():
    same = [run(0, [0, 1, 1, 1, 2, 0])]
    better = [run(0, [0, 0, 1, 1, 2, 2])]  # right wherever plain is right, and more
    t = table({"plain": same, "copy": same, "better": better})
    assert t.loc["copy", "balanced_accuracy_diff"] == 0
    assert t.loc["copy", "balanced_accuracy_diff_ci_low"] == 0
    assert not t.loc["copy", "balanced_accuracy_diff_significant"]
    # Better on images that plain gets wrong, never worse: every paired resample is >= 0.
    assert t.loc["better", "balanced_accuracy_diff"] == pytest.approx(1 - 2 / 3)
    assert t.loc["better", "balanced_accuracy_diff_ci_low"] >= 0


def test_a_clear_gain_is_marked_and_a_loss_is_negative():
    targets = np.tile(TARGETS, 20)  # 120 images: every resample holds some of each kind
    runs = {}
    for name, preds in (("plain", [0, 1, 1, 1, 2, 0]), ("better", [0, 0, 1, 1, 2, 2])):
        scores = np.eye(3)[np.tile(preds, 20)]
        result = evaluate_probs(targets, scores, num_classes=3, top_k=[1], train_counts=[4, 2, 1])
        runs[name] = [SeedRun(0, scores, result)]
    runs["worse"] = [SeedRun(0, runs["plain"][0].scores[:, ::-1], {})]
    runs["worse"][0].result.update(
        evaluate_probs(
            targets, runs["worse"][0].scores, num_classes=3, top_k=[1], train_counts=[4, 2, 1]
        )
    )
    t = compare_rows(
        runs, targets, top_k=[1], reference="plain", n_resamples=200, confidence=0.95, seed=1
    ).set_index("strategy")
    assert t.loc["better", "balanced_accuracy_diff_significant"]
    assert t.loc["better", "balanced_accuracy_diff_ci_low"] > 0
    assert t.loc["worse", "balanced_accuracy_diff_ci_high"] < 0
    assert t.loc["worse", "balanced_accuracy_diff_significant"]


def test_top_k_is_resampled_with_the_same_tie_rule():
    rows = {"plain": [run(0, [0, 1, 1, 1, 2, 0])]}
    values = resample_row(rows["plain"], TARGETS, np.ones((1, 6), dtype=int), [1, 2])
    assert values["top1_accuracy"][0] == pytest.approx(values["accuracy"][0]) == 4 / 6


def test_recall_summary_has_mean_and_sd_rows():
    rows = {"plain": [run(0, [0, 0, 1, 1, 2, 2]), run(1, [0, 0, 1, 1, 0, 0])]}
    recalls = recall_summary(rows, ["a", "b", "c"]).set_index(["strategy", "statistic"])
    assert recalls.loc[("plain", "mean"), "c"] == pytest.approx(0.5)
    assert recalls.loc[("plain", "sd"), "c"] == pytest.approx(np.std([1, 0], ddof=1))
