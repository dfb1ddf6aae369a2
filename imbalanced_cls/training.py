"""The training loop: one strategy, in-memory tensors, per-epoch validation.

Seeded and deterministic on the CPU: the same params give the same weights and metrics.
The checkpoint kept is the epoch with the best validation balanced accuracy (ties go to
the lower validation loss); without a validation set it is the last epoch, as in the
CIFAR-LT literature. The test set plays no part in training or selection.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import BatchSampler

from imbalanced_cls.augment import BaseAugment, TargetedAugment
from imbalanced_cls.config import ParamsError, TrainParams
from imbalanced_cls.strategies import StrategyPlan, make_sampler

log = logging.getLogger(__name__)


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float
    val_balanced_accuracy: float
    lr: float


@dataclass
class TrainResult:
    best_epoch: int
    best_state: dict[str, torch.Tensor]
    history: list[EpochStats] = field(default_factory=list)


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; asking for CUDA without it is a params error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ParamsError(
            ["'train.device' is 'cuda' but this machine has no CUDA device; use auto or cpu"]
        )
    return torch.device(name)


def seed_everything(seed: int, num_threads: int) -> None:
    """Seed torch and numpy, fix the thread count, and ask torch for deterministic kernels.

    Runs are bit-for-bit repeatable on the CPU. On CUDA, cuBLAS gets the workspace setting
    it needs for deterministic matrix products; kernels without a deterministic version
    only warn.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    np.random.seed(seed)
    if num_threads > 0:
        torch.set_num_threads(num_threads)
    torch.use_deterministic_algorithms(True, warn_only=True)


def warmup_cosine(total_steps: int, warmup_steps: int) -> Callable[[int], float]:
    """LR multiplier: linear warmup to 1, then cosine decay to 0 at the last step.

    Warmup keeps the first steps small, which matters most for weighted losses, whose
    large minority weights can throw a freshly initialised network off on small data.
    """

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return multiplier


def warmup_step(
    warmup_steps: int, milestone_steps: list[int], gamma: float
) -> Callable[[int], float]:
    """LR multiplier: linear warmup to 1, then times ``gamma`` at each milestone step."""

    def multiplier(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return gamma ** sum(step >= m for m in milestone_steps)

    return multiplier


def lr_multiplier(params: TrainParams, steps_per_epoch: int) -> Callable[[int], float]:
    """The schedule ``params`` ask for, in optimiser steps."""
    warmup = params.warmup_epochs * steps_per_epoch
    if params.schedule == "step":
        return warmup_step(warmup, [m * steps_per_epoch for m in params.milestones], params.gamma)
    return warmup_cosine(params.epochs * steps_per_epoch, warmup)


def balanced_accuracy(targets: np.ndarray, preds: np.ndarray, num_classes: int) -> float:
    """Mean recall over the classes present in ``targets``."""
    hits = np.bincount(targets[preds == targets], minlength=num_classes)
    support = np.bincount(targets, minlength=num_classes)
    present = support > 0
    return float((hits[present] / support[present]).mean())


@torch.no_grad()
def predict_logits(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Logits (N, num_classes) for uint8 or [0, 1] float images (N, C, H, W), in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = to_unit_float(images[start : start + batch_size].to(device))
        chunks.append(model(batch).float().cpu())
    return torch.cat(chunks)


def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images to float32 in [0, 1]; float images pass through."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()


def make_optimizer(model: nn.Module, params: TrainParams) -> torch.optim.Optimizer:
    if params.optimizer in ("sgd", "nesterov"):
        return torch.optim.SGD(
            model.parameters(),
            lr=params.lr,
            momentum=params.momentum,
            weight_decay=params.weight_decay,
            nesterov=params.optimizer == "nesterov" and params.momentum > 0,
        )
    return torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)


def train_model(
    model: nn.Module,
    train_data: tuple[np.ndarray, np.ndarray],
    val_data: tuple[np.ndarray, np.ndarray],
    class_counts: list[int],
    plan: StrategyPlan,
    params: TrainParams,
    *,
    seed: int,
    base_augment: BaseAugment | None = None,
    augment: TargetedAugment | None = None,
    on_epoch: Callable[[EpochStats], None] | None = None,
) -> TrainResult:
    """Train ``model`` in place following ``plan``; return the selected epoch's weights.

    ``val_data`` may be empty: then no checkpoint is selected and the last epoch is kept.
    """
    device = next(model.parameters()).device
    num_classes = len(class_counts)

    # Data as tensors on the device, scaled once to [0, 1].
    images = to_unit_float(torch.as_tensor(train_data[0]).to(device))  # (N, C, H, W)
    targets = torch.as_tensor(train_data[1]).to(device)  # (N,)
    val_images = torch.as_tensor(val_data[0])
    val_targets = np.asarray(val_data[1])

    # Loss, sampler, optimiser and schedule, all from the plan and params.
    weight = None
    if plan.loss_weights is not None:
        weight = torch.as_tensor(plan.loss_weights, dtype=torch.float32, device=device)
    generator = torch.Generator().manual_seed(seed)
    sampler = make_sampler(train_data[1], class_counts, plan.sampler_power, generator)
    batches = BatchSampler(sampler, params.batch_size, drop_last=False)
    optimizer = make_optimizer(model, params)
    steps_per_epoch = len(batches)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_multiplier(params, steps_per_epoch)
    )

    result = TrainResult(best_epoch=0, best_state={})
    best_key = (-math.inf, -math.inf)
    for epoch in range(1, params.epochs + 1):
        # One pass over the sampler's indices.
        model.train()
        total, seen = torch.zeros((), device=device), 0  # summed on the device: no sync
        for idx in _progress(batches, epoch, params.epochs):
            idx = torch.as_tensor(idx, device=device)
            x, y = images[idx], targets[idx]  # (B, C, H, W), (B,)
            if base_augment is not None:
                x = base_augment(x, generator)
            if plan.augment and augment is not None:
                x = augment(x, y, generator)
            logits = model(x)  # (B, num_classes)
            loss = F.cross_entropy(logits, y, weight=weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.detach() * len(idx)
            seen += len(idx)
        train_loss = total.item() / seen
        if not math.isfinite(train_loss):
            raise FloatingPointError(
                f"training loss became {train_loss} in epoch {epoch}; lower train.lr or raise "
                "train.warmup_epochs"
            )

        # Validation on the balanced validation set selects the checkpoint.
        stats = EpochStats(epoch, train_loss, math.nan, math.nan, math.nan, _lr(optimizer))
        if len(val_targets):
            val_logits = predict_logits(model, val_images)
            val_preds = val_logits.argmax(1).numpy()
            stats.val_loss = F.cross_entropy(val_logits, torch.as_tensor(val_targets)).item()
            stats.val_accuracy = float((val_preds == val_targets).mean())
            stats.val_balanced_accuracy = balanced_accuracy(val_targets, val_preds, num_classes)
            key = (stats.val_balanced_accuracy, -stats.val_loss)
        else:
            key = (epoch, 0.0)  # no validation set: the last epoch wins
        result.history.append(stats)
        if key > best_key:
            best_key = key
            result.best_epoch = epoch
            result.best_state = copy.deepcopy(model.state_dict())
        log.info(
            "epoch %d/%d  train loss %.4f  val loss %.4f  val balanced acc %.4f%s",
            epoch,
            params.epochs,
            stats.train_loss,
            stats.val_loss,
            stats.val_balanced_accuracy,
            "  (best)" if result.best_epoch == epoch and len(val_targets) else "",
        )
        if on_epoch is not None:
            on_epoch(stats)

    model.load_state_dict(result.best_state)
    return result


def _lr(optimizer: torch.optim.Optimizer) -> float:
    return optimizer.param_groups[0]["lr"]


def _progress(batches: BatchSampler, epoch: int, epochs: int):
    """A progress bar over the batches in an interactive terminal; the batches otherwise."""
    if not sys.stderr.isatty():
        return batches
    from tqdm import tqdm

    return tqdm(batches, desc=f"epoch {epoch}/{epochs}", leave=False, unit="batch")
