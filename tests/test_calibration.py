"""Calibration error, NLL, temperature scaling and logit adjustment against hand values."""

import math

import numpy as np
import pytest
from sklearn.metrics import log_loss

from imbalanced_cls.calibration import (
    expected_calibration_error,
    fit_temperature,
    logit_adjust,
    nll_from_logits,
    reliability_bins,
)
from imbalanced_cls.metrics import softmax

# Six images of two classes; with 5 bins the confidences 0.6 and 0.8 lie on bin edges.
PROBS = np.array(
    [
        [0.6, 0.4],  # conf 0.6, correct   -> bin (0.4, 0.6]
        [0.5, 0.5],  # conf 0.5, pred 0 (tie to the lower index), wrong -> bin (0.4, 0.6]
        [0.3, 0.7],  # conf 0.7, correct   -> bin (0.6, 0.8]
        [0.25, 0.75],  # conf 0.75, wrong  -> bin (0.6, 0.8]
        [0.2, 0.8],  # conf 0.8, correct   -> bin (0.6, 0.8]
        [0.9, 0.1],  # conf 0.9, correct   -> bin (0.8, 1.0]
    ]
)
TARGETS = np.array([0, 1, 1, 0, 1, 0])


def test_ece_by_hand_with_right_closed_bins():
    # (0.4, 0.6]: accuracy 1/2, confidence (0.6 + 0.5) / 2 = 0.55, gap 0.05
    # (0.6, 0.8]: accuracy 2/3, confidence (0.7 + 0.75 + 0.8) / 3 = 0.75, gap 1/12
    # (0.8, 1.0]: accuracy 1, confidence 0.9, gap 0.1
    # ECE = (2 * 0.05 + 3 / 12 + 1 * 0.1) / 6 = 0.45 / 6 = 0.075
    # (Left-closed bins would move 0.6 and 0.8 up a bin and give 0.125 instead.)
    assert expected_calibration_error(PROBS, TARGETS, n_bins=5) == pytest.approx(0.075)


def test_ece_of_a_calibrated_model_is_zero():
    # Confidence 0.75 and right 3 times out of 4; confidence 1 and always right.
    probs = np.array([[0.75, 0.25]] * 4 + [[0.0, 1.0]] * 2)
    targets = np.array([0, 0, 0, 1, 1, 1])
    assert expected_calibration_error(probs, targets) == pytest.approx(0.0, abs=1e-12)


def test_reliability_bins_by_hand():
    bins = reliability_bins(PROBS, TARGETS, n_bins=5)
    assert bins["lower"] == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    assert bins["upper"] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert bins["count"].tolist() == [0, 0, 2, 3, 1]
    assert bins["count"].sum() == len(TARGETS)
    assert np.isnan(bins["accuracy"][:2]).all()
    assert np.isnan(bins["confidence"][:2]).all()
    assert bins["accuracy"][2:] == pytest.approx([1 / 2, 2 / 3, 1])
    assert bins["confidence"][2:] == pytest.approx([0.55, 0.75, 0.9])


def test_confidence_zero_falls_in_the_first_bin():
    bins = reliability_bins(np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([0, 0]), n_bins=4)
    assert bins["count"].tolist() == [1, 0, 0, 1]


def test_reliability_bins_checks_inputs():
    with pytest.raises(ValueError, match=r"\(6, 2\) and targets \(5,\)"):
        reliability_bins(PROBS, TARGETS[:5])
    with pytest.raises(ValueError, match="n_bins is 0"):
        reliability_bins(PROBS, TARGETS, n_bins=0)


def test_nll_by_hand_and_against_scikit_learn():
    # softmax([0, ln 3]) = [1/4, 3/4]: NLL of target 1 is ln(4/3), of target 0 is ln 4.
    logits = np.array([[0.0, math.log(3)], [0.0, math.log(3)]])
    expected = (math.log(4 / 3) + math.log(4)) / 2
    assert nll_from_logits(logits, np.array([1, 0])) == pytest.approx(expected)

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(20, 4)) * 3
    targets = rng.integers(0, 4, size=20)
    reference = log_loss(targets, softmax(logits), labels=range(4))
    assert nll_from_logits(logits, targets) == pytest.approx(reference)


def test_nll_is_stable_for_large_logits():
    # Target 0 has probability 1 - e^-1000 (NLL ~ 0); target 1 has log-probability -1000.
    logits = np.array([[1000.0, 0.0], [1000.0, 0.0]])
    assert nll_from_logits(logits, np.array([0, 1])) == pytest.approx(500.0)


def test_fit_temperature_recovers_a_known_scale():
    # Targets drawn from softmax(z) make z calibrated; logits 3 z are best divided by 3.
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4000, 5)) * 2
    cumulative = softmax(z).cumsum(axis=1)
    targets = np.minimum((cumulative < rng.random((4000, 1))).sum(axis=1), 4)
    logits = 3 * z

    t = fit_temperature(logits, targets)
    assert t == pytest.approx(3.0, rel=0.1)
    assert nll_from_logits(logits / t, targets) <= nll_from_logits(logits, targets)
    # The fit is a minimum: nudging T either way does not lower the NLL.
    for other in (t * 0.98, t * 1.02):
        assert nll_from_logits(logits / t, targets) <= nll_from_logits(logits / other, targets)


def test_fit_temperature_checks_inputs():
    with pytest.raises(ValueError, match=r"\(0, 3\)"):
        fit_temperature(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match=r"\(4, 3\) and targets \(3,\)"):
        fit_temperature(np.zeros((4, 3)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="allowed: 0 to 2"):
        fit_temperature(np.zeros((2, 3)), np.array([0, 3]))


def test_logit_adjust_by_hand():
    # prior = [0.9, 0.1]; tau = 1 subtracts [ln 0.9, ln 0.1] from every row.
    logits = np.array([[0.0, 0.0], [1.0, 2.0]])
    adjusted = logit_adjust(logits, [90, 10], tau=1.0)
    shift = np.array([math.log(0.9), math.log(0.1)])
    assert adjusted == pytest.approx(logits - shift)
    # tau = 0.5 halves the shift; tau = 0 leaves the logits unchanged.
    assert logit_adjust(logits, [90, 10], tau=0.5) == pytest.approx(logits - shift / 2)
    assert logit_adjust(logits, np.array([90, 10]), tau=0.0) == pytest.approx(logits)


def test_logit_adjust_checks_inputs():
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match="class 1 has count 0"):
        logit_adjust(logits, [5, 0, 3], tau=1.0)
    with pytest.raises(ValueError, match=r"tau is -0\.5"):
        logit_adjust(logits, [5, 2, 3], tau=-0.5)
    with pytest.raises(ValueError, match=r"class_counts \(2,\)"):
        logit_adjust(logits, [5, 2], tau=1.0)
