"""Augmentation on batches of tensors, seeded by a ``torch.Generator``.

:class:`BaseAugment` is the standard augmentation every strategy gets: a random crop
after zero padding and a horizontal flip, as in the CIFAR literature.

Targeted augmentation: each class gets a strength in [min_strength, 1], rarer is stronger.

Strength grows with log(n_max / n_i), so the largest class gets ``min_strength`` and the
rarest gets 1. It scales every operation: the rotation and translation ranges, the
probability of random erasing (Zhong et al., 2020), and colour jitter on images with
three channels.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from imbalanced_cls.config import AugmentationParams, BaseAugmentationParams


class BaseAugment:
    """Random crop of the original size from the zero-padded image, then a random flip."""

    def __init__(self, crop_padding: int, hflip: bool) -> None:
        self.crop_padding = crop_padding
        self.hflip = hflip

    @classmethod
    def for_images(cls, params: BaseAugmentationParams, channels: int) -> BaseAugment | None:
        """The base augmentation ``params`` ask for on images with ``channels``; None if none."""
        applies = params.images == "all" or (params.images == "colour" and channels == 3)
        if not applies or (params.crop_padding == 0 and not params.hflip):
            return None
        return cls(params.crop_padding, params.hflip)

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, _, h, w = images.shape
        out = images
        if self.crop_padding:
            p = self.crop_padding
            padded = F.pad(images, (p, p, p, p))  # (N, C, H + 2p, W + 2p)
            top = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(images.device)
            left = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(images.device)
            rows = (top[:, None] + torch.arange(h, device=images.device))[:, :, None]  # (N, H, 1)
            cols = (left[:, None] + torch.arange(w, device=images.device))[:, None, :]  # (N, 1, W)
            batch = torch.arange(n, device=images.device)[:, None, None]
            out = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
        if self.hflip:
            flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
            out = torch.where(flip.view(n, 1, 1, 1), out.flip(3), out)
        return out.contiguous()


def class_strengths(class_counts: list[int], min_strength: float = 0.0) -> np.ndarray:
    """Strength per class: ``min_strength`` for the largest class, 1 for the rarest."""
    counts = np.asarray(class_counts, dtype=np.float64)
    spread = math.log(counts.max() / counts.min())
    if spread == 0:
        return np.ones_like(counts)
    rarity = np.log(counts.max() / counts) / spread
    return min_strength + (1 - min_strength) * rarity


class TargetedAugment:
    """Augment a batch of images in [0, 1], with a strength chosen by each image's class."""

    def __init__(self, strengths: np.ndarray, params: AugmentationParams) -> None:
        self.strengths = torch.as_tensor(strengths, dtype=torch.float32)
        self.params = params

    def __call__(
        self, images: torch.Tensor, targets: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        s = self.strengths.to(images.device)[targets]  # (N,)
        out = self._affine(images, s, generator)
        if images.shape[1] == 3 and self.params.jitter > 0:
            out = self._jitter(out, s, generator)
        if self.params.erasing > 0:
            out = self._erase(out, s, generator)
        return out

    def _uniform(self, n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
        """Uniform samples in [-1, 1), drawn on the CPU so results do not depend on device."""
        return (torch.rand(n, generator=generator) * 2 - 1).to(device)

    def _affine(self, x: torch.Tensor, s: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Random rotation and translation, empty pixels filled with zeros."""
        n = x.shape[0]
        angle = self._uniform(n, g, x.device) * s * math.radians(self.params.rotation)
        shift = torch.stack([self._uniform(n, g, x.device), self._uniform(n, g, x.device)], 1)
        shift = shift * (s * self.params.translate * 2)[:, None]  # grid spans [-1, 1]
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack(
            [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)],
            1,
        )  # (N, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def _jitter(self, x: torch.Tensor, s: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Brightness, contrast and saturation factors in [1 - j*s, 1 + j*s]."""
        n, amount = x.shape[0], self.params.jitter * s

        def factor() -> torch.Tensor:
            return (1 + self._uniform(n, g, x.device) * amount).view(n, 1, 1, 1)

        x = x * factor()
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * factor() + mean
        gray = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)
        x = (x - gray) * factor() + gray
        return x.clamp(0, 1)

    def _erase(self, x: torch.Tensor, s: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """With probability erasing*s, zero a rectangle of 2-25% of the area."""
        n, _, h, w = x.shape
        apply = (torch.rand(n, generator=g) < self.params.erasing * s.cpu()).to(x.device)
        area = (0.02 + 0.23 * torch.rand(n, generator=g)) * h * w
        aspect = torch.exp((torch.rand(n, generator=g) * 2 - 1) * math.log(3))
        eh = (area * aspect).sqrt().round().clamp(1, h)
        ew = (area / aspect).sqrt().round().clamp(1, w)
        top = (torch.rand(n, generator=g) * (h - eh + 1)).floor()
        left = (torch.rand(n, generator=g) * (w - ew + 1)).floor()
        rows = torch.arange(h).view(1, h, 1)
        cols = torch.arange(w).view(1, 1, w)
        inside = (
            (rows >= top.view(n, 1, 1))
            & (rows < (top + eh).view(n, 1, 1))
            & (cols >= left.view(n, 1, 1))
            & (cols < (left + ew).view(n, 1, 1))
        )  # (N, H, W)
        mask = (inside & apply.cpu().view(n, 1, 1)).to(x.device).unsqueeze(1)
        return x.masked_fill(mask, 0.0)
