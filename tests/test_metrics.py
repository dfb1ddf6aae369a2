"""Metrics against values computed by hand on a small fixed example."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, top_k_accuracy_score

from imbalanced_cls.metrics import (
    evaluate_logits,
    evaluate_probs,
    prior_probs,
    prior_weighted_accuracy,
    summary_columns,
    top_k_hits,
)
from imbalanced_cls.training import balanced_accuracy

# Six test images of three classes; predictions (argmax) are [0, 0, 1, 1, 0, 2].
Y_TRUE = np.array([0, 0, 1, 1, 2, 2])
PROBS = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.5, 0.3, 0.2],
        [0.2, 0.6, 0.2],
        [0.1, 0.8, 0.1],
        [0.5, 0.1, 0.4],
        [0.1, 0.2, 0.7],
    ]
)


def test_metrics_by_hand():
    r = evaluate_probs(Y_TRUE, PROBS, num_classes=3, top_k=[1, 2], train_counts=[8, 1, 1])
    assert r["accuracy"] == pytest.approx(5 / 6)
    # Recall per class: 2/2, 2/2, 1/2; precision: 2/3, 2/2, 1/1.
    assert r["per_class"]["recall"] == pytest.approx([1, 1, 0.5])
    assert r["per_class"]["precision"] == pytest.approx([2 / 3, 1, 1])
    assert r["balanced_accuracy"] == pytest.approx(2.5 / 3)
    assert r["min_recall"] == pytest.approx(0.5)
    f1 = [2 * (2 / 3) / (2 / 3 + 1), 1, 2 * 0.5 / 1.5]
    assert r["macro_f1"] == pytest.approx(np.mean(f1))
    # Top-2: image 4 (class 2) has class 2 second, so every image is a hit.
    assert r["top1_accuracy"] == pytest.approx(5 / 6)
    assert r["top2_accuracy"] == pytest.approx(1.0)
    nll = -np.log([0.7, 0.5, 0.6, 0.8, 0.4, 0.7]).mean()
    assert r["nll"] == pytest.approx(nll)
    assert r["train_prior_accuracy"] == pytest.approx(0.8 * 1 + 0.1 * 1 + 0.1 * 0.5)
    assert r["confusion_matrix"] == [[2, 0, 0], [0, 2, 0], [1, 0, 1]]
    assert r["per_class"]["support"] == [2, 2, 2]


def test_a_never_predicted_class_counts_with_zero_precision_and_recall():
    probs = np.tile([0.6, 0.3, 0.1], (6, 1))
    r = evaluate_probs(Y_TRUE, probs, num_classes=3, top_k=[1], train_counts=[1, 1, 1])
    assert r["per_class"]["recall"] == [1.0, 0.0, 0.0]
    assert r["per_class"]["precision"] == pytest.approx([1 / 3, 0, 0])
    assert r["min_recall"] == 0.0


def test_majority_baseline_has_zero_minority_recall():
    counts = [90, 5, 5]
    probs = prior_probs(counts, len(Y_TRUE))
    r = evaluate_probs(Y_TRUE, probs, num_classes=3, top_k=[1], train_counts=counts)
    assert r["per_class"]["recall"] == [1.0, 0.0, 0.0]
    assert r["accuracy"] == pytest.approx(1 / 3)  # on the balanced test set
    assert r["train_prior_accuracy"] == pytest.approx(0.9)  # what it would look like
    assert r["nll"] == pytest.approx(-np.mean(np.log([0.9, 0.9, 0.05, 0.05, 0.05, 0.05])))


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_labels_cover_classes_missing_from_the_test_set():
    r = evaluate_probs(
        np.array([0, 0]),
        np.array([[0.9, 0.1, 0], [0.2, 0.8, 0]]),
        num_classes=3,
        top_k=[1],
        train_counts=[1, 1, 1],
    )
    assert len(r["per_class"]["recall"]) == 3
    assert np.array(r["confusion_matrix"]).shape == (3, 3)


def test_probs_shape_is_checked():
    with pytest.raises(ValueError, match=r"expected \(6, 4\)"):
        evaluate_probs(Y_TRUE, PROBS, num_classes=4, top_k=[1], train_counts=[1] * 4)


def test_training_balanced_accuracy_matches_scikit_learn():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    assert balanced_accuracy(y, p, 5) == pytest.approx(balanced_accuracy_score(y, p))


def test_prior_weighted_accuracy_and_columns():
    assert prior_weighted_accuracy(np.array([1.0, 0.0]), [3, 1]) == pytest.approx(0.75)
    assert summary_columns([1, 5])[-2:] == ["top1_accuracy", "top5_accuracy"]


def test_top_k_breaks_ties_toward_the_lower_class_like_argmax():
    # Every class ties: argmax says class 0, so top-1 is a hit for target 0 only.
    probs = np.full((3, 3), 1 / 3)
    targets = np.array([0, 1, 2])
    assert top_k_hits(targets, probs, 1).tolist() == [True, False, False]
    assert top_k_hits(targets, probs, 2).tolist() == [True, True, False]
    r = evaluate_probs(targets, probs, num_classes=3, top_k=[1], train_counts=[1, 1, 1])
    assert r["top1_accuracy"] == r["accuracy"] == pytest.approx(1 / 3)
    # scikit-learn's top_k_accuracy_score breaks the same tie toward the higher index.
    assert top_k_accuracy_score(targets, probs, k=1) == pytest.approx(1 / 3)
    assert top_k_accuracy_score(np.array([2, 2, 2]), probs, k=1, labels=[0, 1, 2]) == 1.0
    assert not top_k_hits(np.array([2, 2, 2]), probs, 1).any()


def test_groups_and_calibration_are_part_of_the_evaluation():
    counts = [150, 50, 10]  # many, medium, few with the literature's thresholds
    r = evaluate_probs(Y_TRUE, PROBS, num_classes=3, top_k=[1], train_counts=counts)
    assert r["groups"] == ["many", "medium", "few"]
    assert (r["many_recall"], r["medium_recall"], r["few_recall"]) == (1.0, 1.0, 0.5)
    assert 0 <= r["ece"] <= 1
    r = evaluate_probs(Y_TRUE, PROBS, num_classes=3, top_k=[1], train_counts=[150, 150, 150])
    assert np.isnan(r["few_recall"]) and r["many_recall"] == pytest.approx(2.5 / 3)


def test_evaluate_logits_takes_the_nll_from_the_logits():
    logits = np.log(PROBS)
    r = evaluate_logits(Y_TRUE, logits, top_k=[1], train_counts=[8, 1, 1])
    nll = -np.log([0.7, 0.5, 0.6, 0.8, 0.4, 0.7]).mean()
    assert r["nll"] == pytest.approx(nll) and r["accuracy"] == pytest.approx(5 / 6)
