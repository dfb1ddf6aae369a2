"""CNN classifiers: a small CNN and CIFAR ResNets.

Each takes images in [0, 1] and returns logits, never probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from imbalanced_cls.config import MODELS, ModelParams


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class _Classifier(nn.Module):
    """Normalise, extract features, then dropout and ``Linear(features, num_classes)``.

    Per-channel normalisation is part of the model, so a saved model takes raw images
    scaled to [0, 1] and the same preprocessing holds at training and prediction time.
    The outputs are logits; softmax is applied only where probabilities are reported, and
    ``CrossEntropyLoss`` takes the logits because it applies log-softmax itself.
    Subclasses set ``self.features`` and then call :meth:`_add_head`.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def _add_head(self, features: int, num_classes: int, dropout: float) -> None:
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(features, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images - self.mean) / self.std  # (N, C, H, W)
        features = self.features(x)  # (N, features)
        return self.classifier(self.dropout(features))  # (N, num_classes) logits


class SmallCNN(_Classifier):
    """Four 3x3 conv blocks, one 2x2 max-pool, global average pooling, one linear layer."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: int = 32,
        dropout: float = 0.0,
        mean: Sequence[float] = (0.0,),
        std: Sequence[float] = (1.0,),
    ) -> None:
        super().__init__(mean, std)
        self.features = nn.Sequential(
            _conv_block(in_channels, width),
            _conv_block(width, width),
            nn.MaxPool2d(2),
            _conv_block(width, 2 * width),
            _conv_block(2 * width, 2 * width),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self._add_head(2 * width, num_classes, dropout)


class _BasicBlock(nn.Module):
    """Two 3x3 convs with a parameter-free shortcut: strided and zero-padded when it grows."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.stride = stride
        self.extra_channels = out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
        if self.extra_channels:
            half = self.extra_channels // 2
            shortcut = F.pad(shortcut, (0, 0, 0, 0, half, self.extra_channels - half))
        return F.relu(self.body(x) + shortcut)


class CifarResNet(_Classifier):
    """The ResNet of He et al. (2016) for 32x32 images: depth 6n + 2, three stages.

    The stages have ``width``, 2 * ``width`` and 4 * ``width`` channels (16/32/64 in the
    paper) at full, half and quarter resolution, with n basic blocks each and
    parameter-free shortcuts; ResNet-32 (n = 5) has about 0.46 M parameters.
    """

    def __init__(
        self,
        depth: int,
        in_channels: int,
        num_classes: int,
        width: int = 16,
        dropout: float = 0.0,
        mean: Sequence[float] = (0.0,),
        std: Sequence[float] = (1.0,),
    ) -> None:
        if (depth - 2) % 6 or depth < 8:
            raise ValueError(f"ResNet depth {depth} is not 6n + 2 with n >= 1 (8, 20, 32, ...)")
        super().__init__(mean, std)
        blocks = (depth - 2) // 6
        layers: list[nn.Module] = [_conv_block(in_channels, width)]
        channels = width
        for stage in range(3):
            out_channels = width * 2**stage
            for b in range(blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                layers.append(_BasicBlock(channels, out_channels, stride))
                channels = out_channels
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self._add_head(channels, num_classes, dropout)
        for m in self.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")


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
    """A model by name (see ``config.MODELS``); class count and statistics come from the data."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}")
    if name == "small_cnn":
        return SmallCNN(in_channels, num_classes, width, dropout, mean, std)
    depth = int(name.removeprefix("resnet"))
    return CifarResNet(depth, in_channels, num_classes, width, dropout, mean, std)
