import dataclasses

import numpy as np
import pytest
import torch

from imbalanced_cls.config import ParamsError, parse_params
from imbalanced_cls.models import build_model
from imbalanced_cls.strategies import plan_strategy
from imbalanced_cls.training import (
    resolve_device,
    seed_everything,
    train_model,
    warmup_cosine,
)


def blobs(counts: list[int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Separable toy images: class c lights up row c."""
    rng = np.random.default_rng(seed)
    targets = np.repeat(np.arange(len(counts)), counts)
    images = rng.integers(0, 60, (len(targets), 1, 6, 6))
    images[np.arange(len(targets)), 0, targets] += 180
    return images.astype(np.uint8), targets


def fit(raw_params, strategy: str, epochs: int = 3):
    params = parse_params(raw_params)
    train_params = dataclasses.replace(
        params.train, epochs=epochs, warmup_epochs=1, batch_size=16, num_threads=1
    )
    counts = [40, 10, 4]
    train, val = blobs(counts, 0), blobs([6, 6, 6], 1)
    seed_everything(0, 1)
    model = build_model(
        "small_cnn", in_channels=1, num_classes=3, width=4, dropout=0.0, mean=[0.3], std=[0.3]
    )
    plan = plan_strategy(strategy, counts, params)
    return model, train_model(model, train, val, counts, plan, train_params, seed=0)


@pytest.mark.parametrize("strategy", ["plain", "weighted", "sampling"])
def test_training_is_deterministic(raw_params, strategy):
    model_a, a = fit(raw_params, strategy)
    model_b, b = fit(raw_params, strategy)
    assert [dataclasses.asdict(s) for s in a.history] == [dataclasses.asdict(s) for s in b.history]
    for key, value in model_a.state_dict().items():
        assert torch.equal(value, model_b.state_dict()[key])


def test_the_kept_checkpoint_is_the_best_validation_epoch(raw_params):
    model, result = fit(raw_params, "plain", epochs=4)
    scores = [(s.val_balanced_accuracy, -s.val_loss) for s in result.history]
    assert result.best_epoch == 1 + scores.index(max(scores))
    for key, value in model.state_dict().items():
        assert torch.equal(value, result.best_state[key])
    assert all(np.isfinite(s.train_loss) for s in result.history)


def test_warmup_then_cosine_schedule():
    f = warmup_cosine(total_steps=10, warmup_steps=2)
    assert [f(0), f(1)] == [0.5, 1.0]
    assert f(2) == pytest.approx(1.0) and f(10) == pytest.approx(0.0)
    assert all(f(i) >= f(i + 1) for i in range(2, 10))


def test_asking_for_a_missing_gpu_is_a_params_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ParamsError, match=r"'train\.device' is 'cuda'"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"
