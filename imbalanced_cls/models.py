"""CNN classifiers. Each takes images in [0, 1] and returns logits, never probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from imbalanced_cls.config import ModelParams


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SmallCNN(nn.Module):
    """Four 3x3 conv blocks, one 2x2 max-pool, global average pooling, one linear layer.

    Per-channel normalisation is part of the model, so a saved model takes raw images
    scaled to [0, 1] and the same preprocessing holds at training and prediction time.
    The last layer is ``Linear(features, num_classes)``: its outputs are logits; softmax
    is applied only where probabilities are reported, and ``CrossEntropyLoss`` takes the
    logits because it applies log-softmax itself.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: int = 32,
        dropout: float = 0.0,
        mean: Sequence[float] = (0.0,),
        std: Sequence[float] = (1.0,),
    ) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
        self.features = nn.Sequential(
            _conv_block(in_channels, width),
            _conv_block(width, width),
            nn.MaxPool2d(2),
            _conv_block(width, 2 * width),
            _conv_block(2 * width, 2 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * width, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images - self.mean) / self.std  # (N, C, H, W)
        features = self.features(x)  # (N, 2 * width)
        return self.classifier(self.dropout(features))  # (N, num_classes) logits


def model_config(params: ModelParams, manifest: dict) -> dict:
    """Keyword arguments of :func:`build_model` for a prepared dataset's manifest."""
    return {
        "name": params.name,
        "in_channels": manifest["image_shape"][0],
        "num_classes": manifest["num_classes"],
        "width": params.width,
        "dropout": params.dropout,
        "mean": manifest["mean"],
        "std": manifest["std"],
    }


def build_model(
    name: str,
    *,
    in_channels: int,
    num_classes: int,
    width: int,
    dropout: float,
    mean: Sequence[float],
    std: Sequence[float],
) -> nn.Module:
    """A model by name; the class count and channel statistics come from the data."""
    if name == "small_cnn":
        return SmallCNN(in_channels, num_classes, width, dropout, mean, std)
    raise ValueError(f"unknown model {name!r}; allowed: small_cnn")
