"""Datasets and the imbalanced train / balanced validation / balanced test split.

Images are kept as uint8 arrays of shape (N, C, H, W); targets as int64 class indices.
A prepared split is a folder of ``train.npz``, ``val.npz``, ``test.npz`` and
``manifest.json`` (class names, per-class counts, image shape, per-channel statistics).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from imbalanced_cls.config import DataParams

if TYPE_CHECKING:
    from imbalanced_cls.sources import SourceSplits

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Dataset:
    """A labelled image set: ``images`` (N, C, H, W) uint8 and ``targets`` (N,) int64."""

    images: np.ndarray
    targets: np.ndarray
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def load_digits() -> Dataset:
    """scikit-learn's 1,797 8x8 handwritten digits, rescaled from 0..16 to 0..255."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    images = np.rint(bunch.images * (255 / 16)).astype(np.uint8)[:, None]  # (N, 1, 8, 8)
    return Dataset(images, bunch.target.astype(np.int64), [str(n) for n in bunch.target_names])


@dataclass(frozen=True)
class SourceInfo:
    """What a source holds, read without decoding images where the format allows."""

    class_names: list[str]
    pool_counts: list[int]  # images per class in the pool train/val (and test) come from
    test_counts: list[int] | None  # the source's own test split; None when it has none
    image_shape: list[int]  # (C, H, W)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def describe_source(params: DataParams) -> SourceInfo:
    """Class names, per-class counts and image shape of the configured source."""
    if params.dataset == "imagefolder":
        from imbalanced_cls.sources import scan_imagefolder

        scan = scan_imagefolder(Path(params.root), params.image_size)
        test = scan.counts.get("test")
        return SourceInfo(scan.class_names, scan.counts["train"], test, list(scan.image_shape))
    splits = load_source(params)
    pool, test = splits.train, splits.test
    return SourceInfo(
        pool.class_names,
        class_counts(pool.targets, pool.num_classes),
        None if test is None else class_counts(test.targets, pool.num_classes),
        list(pool.images.shape[1:]),
    )


def load_source(params: DataParams) -> SourceSplits:
    """The labelled pool of the configured source and its own test split, if it has one."""
    from imbalanced_cls.sources import SourceSplits, load_cifar10, load_imagefolder

    if params.dataset == "digits":
        return SourceSplits(train=load_digits(), test=None)
    if params.dataset == "cifar10":
        return load_cifar10(Path(params.root), download=params.download, verify=params.verify)
    if params.dataset == "imagefolder":
        return load_imagefolder(Path(params.root), params.image_size)
    raise ValueError(f"unknown dataset {params.dataset!r}; allowed: digits, cifar10, imagefolder")


def class_counts(targets: np.ndarray, num_classes: int) -> list[int]:
    """Images per class, for every class index including empty ones."""
    return np.bincount(targets, minlength=num_classes).astype(int).tolist()


def check_plan(info: SourceInfo, train_counts: list[int], params: DataParams) -> list[str]:
    """Problems with a planned split: empty training classes, classes too small to supply it."""
    problems = []
    test_held_out = params.test_per_class if info.test_counts is None else 0
    for c, name in enumerate(info.class_names):
        have, want = info.pool_counts[c], train_counts[c]
        need = test_held_out + params.val_per_class + want
        if want < 1:
            problems.append(
                f"class {name!r} would get no training image: the profile leaves it "
                f"{want}; lower 'data.ratio' or raise 'data.max_per_class'"
            )
        elif have < need:
            parts = f"{params.val_per_class} validation + {want} training"
            if test_held_out:
                parts = f"{test_held_out} test + {parts}"
            problems.append(
                f"class {name!r} has {have} training-pool images but the split needs {need} "
                f"({parts}); lower 'data.max_per_class', 'data.val_per_class' or "
                "'data.test_per_class'"
            )
        if info.test_counts is not None and info.test_counts[c] < max(1, params.test_per_class):
            problems.append(
                f"class {name!r} has {info.test_counts[c]} images in the source's test split; "
                f"'data.test_per_class' is {params.test_per_class} (0 takes the whole split, "
                "which must hold every class)"
            )
    return problems


def split_indices(
    targets: np.ndarray,
    train_counts: list[int],
    test_per_class: int,
    val_per_class: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Indices per split: per class, a seeded shuffle gives test, validation, then training.

    Test and validation are held out before the imbalance is applied, so both stay
    balanced and the training subset is drawn without replacement from the rest. With
    ``test_per_class`` 0 no test images are taken (the source has its own test split).
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for c, n_train in enumerate(train_counts):
        idx = rng.permutation(np.flatnonzero(targets == c))
        cut = [test_per_class, test_per_class + val_per_class]
        parts["test"].append(idx[: cut[0]])
        parts["val"].append(idx[cut[0] : cut[1]])
        parts["train"].append(idx[cut[1] : cut[1] + n_train])
    return {s: np.sort(np.concatenate(p)) for s, p in parts.items()}


def subsample_per_class(targets: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` seeded images of every class; all when it is 0."""
    if per_class == 0:
        return np.arange(len(targets))
    rng = np.random.default_rng(seed)
    chosen = [
        rng.permutation(np.flatnonzero(targets == c))[:per_class] for c in np.unique(targets)
    ]
    return np.sort(np.concatenate(chosen))


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of uint8 images, on the [0, 1] scale."""
    mean, std = [], []
    for channel in range(images.shape[1]):
        x = images[:, channel].astype(np.float64) / 255
        mean.append(float(x.mean()))
        std.append(max(float(x.std()), 1e-6))
    return mean, std


def save_split(
    out_dir: Path,
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    class_names: list[str],
    extra: dict,
) -> dict:
    """Write the train, val and test ``(images, targets)`` and their manifest; return it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    num_classes = len(class_names)
    manifest = {
        "class_names": class_names,
        "num_classes": num_classes,
        "image_shape": list(splits["train"][0].shape[1:]),
        "class_counts": {},
        "sha256": {},
        **extra,
    }
    for split in SPLITS:
        images, targets = splits[split]
        path = out_dir / f"{split}.npz"
        np.savez_compressed(path, images=images, targets=targets)
        manifest["class_counts"][split] = class_counts(targets, num_classes)
        manifest["sha256"][split] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest["mean"], manifest["std"] = channel_stats(splits["train"][0])
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def load_split(data_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``images`` (N, C, H, W) uint8 and ``targets`` (N,) int64 of one prepared split."""
    with np.load(Path(data_dir) / f"{split}.npz") as f:
        return f["images"], f["targets"]


def load_manifest(data_dir: Path) -> dict:
    return json.loads((Path(data_dir) / "manifest.json").read_text())
