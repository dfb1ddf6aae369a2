import dataclasses

import numpy as np
import pytest
import torch

from imbalanced_cls.config import ParamsError, parse_params
from imbalanced_cls.models import CifarResNet, build_model
from imbalanced_cls.strategies import plan_strategy
from imbalanced_cls.training import (
    lr_multiplier,
    resolve_device,
    seed_everything,
    train_model,
    warmup_cosine,
    warmup_step,
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


def test_step_schedule_warms_up_then_divides_at_each_milestone():
    f = warmup_step(warmup_steps=2, milestone_steps=[5, 8], gamma=0.01)
    assert [f(0), f(1), f(4)] == [0.5, 1.0, 1.0]
    assert f(5) == pytest.approx(0.01) and f(7) == pytest.approx(0.01)
    assert f(8) == pytest.approx(1e-4) and f(100) == pytest.approx(1e-4)


def test_the_recipe_schedule_is_in_optimiser_steps(raw_params):
    raw_params["train"].update(
        schedule="step", epochs=200, warmup_epochs=5, milestones=[160, 180], gamma=0.01
    )
    f = lr_multiplier(parse_params(raw_params).train, steps_per_epoch=10)
    assert f(49) == 1.0 and f(1599) == 1.0
    assert f(1600) == pytest.approx(0.01) and f(1800) == pytest.approx(1e-4)


def test_without_a_validation_set_the_last_epoch_is_kept(raw_params):
    params = parse_params(raw_params)
    train_params = dataclasses.replace(
        params.train, epochs=3, warmup_epochs=1, batch_size=16, num_threads=1
    )
    counts = [20, 5]
    empty = (np.zeros((0, 1, 6, 6), np.uint8), np.zeros(0, np.int64))
    seed_everything(0, 1)
    model = build_model(
        "small_cnn", in_channels=1, num_classes=2, width=4, dropout=0.0, mean=[0.3], std=[0.3]
    )
    plan = plan_strategy("plain", counts, params)
    result = train_model(model, blobs(counts, 0), empty, counts, plan, train_params, seed=0)
    assert result.best_epoch == 3
    assert all(np.isnan(s.val_loss) for s in result.history)


@pytest.mark.parametrize(("name", "parameters"), [("resnet32", 464_154), ("resnet8", 75_290)])
def test_cifar_resnets_have_the_published_size_and_output_logits(name, parameters):
    model = build_model(
        name, in_channels=3, num_classes=10, width=16, dropout=0.0, mean=[0.5] * 3, std=[0.25] * 3
    )
    # He et al. (2016): ResNet-32 for CIFAR has 0.46 M parameters.
    assert sum(p.numel() for p in model.parameters()) == parameters
    model.eval()
    logits = model(torch.rand(2, 3, 32, 32))
    assert logits.shape == (2, 10) and not torch.allclose(logits.softmax(1).sum(1), logits.sum(1))
    with pytest.raises(ValueError, match="6n \\+ 2"):
        CifarResNet(30, in_channels=3, num_classes=10)
