"""The model outputs logits; softmax and cross-entropy behave as the textbook says."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from imbalanced_cls.metrics import softmax
from imbalanced_cls.models import SmallCNN, build_model


def test_softmax_of_known_logits():
    probs = softmax(np.array([[2.0, 1.0, 0.1]]))
    assert probs[0] == pytest.approx([0.659, 0.242, 0.099], abs=1e-3)
    assert torch.softmax(torch.tensor([2.0, 1.0, 0.1]), 0).tolist() == pytest.approx(
        probs[0].tolist()
    )


def test_cross_entropy_is_minus_log_of_the_true_class_probability():
    assert -math.log(0.51) == pytest.approx(0.673, abs=1e-3)
    logits = torch.log(torch.tensor([[0.51, 0.29, 0.20]]))  # softmax gives these back
    loss = F.cross_entropy(logits, torch.tensor([0]))
    assert loss.item() == pytest.approx(0.673, abs=1e-3)


def test_cross_entropy_applies_log_softmax_itself():
    logits = torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
    targets = torch.tensor([0, 1])
    manual = -torch.log_softmax(logits, 1)[torch.arange(2), targets].mean()
    assert F.cross_entropy(logits, targets).item() == pytest.approx(manual.item())


def test_model_outputs_logits_from_a_final_linear_layer():
    model = build_model(
        "small_cnn",
        in_channels=3,
        num_classes=7,
        width=4,
        dropout=0.0,
        mean=[0.5] * 3,
        std=[0.2] * 3,
    )
    assert isinstance(model, SmallCNN)
    assert isinstance(model.classifier, torch.nn.Linear)
    assert model.classifier.out_features == 7
    model.eval()
    logits = model(torch.rand(5, 3, 16, 16))
    assert logits.shape == (5, 7)
    # Logits, not probabilities: rows do not sum to one and may be negative.
    assert not torch.allclose(logits.sum(1), torch.ones(5))


def test_model_rejects_unknown_names():
    with pytest.raises(ValueError, match=r"'resnet99'.*small_cnn"):
        build_model(
            "resnet99", in_channels=1, num_classes=2, width=4, dropout=0, mean=[0], std=[1]
        )
