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

import numpy as np

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


def load_source(dataset: str) -> Dataset:
    """The full labelled pool of a named dataset."""
    if dataset == "digits":
        return load_digits()
    raise ValueError(f"unknown dataset {dataset!r}; allowed: digits")


def class_counts(targets: np.ndarray, num_classes: int) -> list[int]:
    """Images per class, for every class index including empty ones."""
    return np.bincount(targets, minlength=num_classes).astype(int).tolist()


def check_plan(
    available: list[int],
    train_counts: list[int],
    test_per_class: int,
    val_per_class: int,
    class_names: list[str],
) -> list[str]:
    """Problems with a planned split: empty training classes, classes too small to supply it."""
    problems = []
    for name, have, want in zip(class_names, available, train_counts, strict=True):
        need = test_per_class + val_per_class + want
        if want < 1:
            problems.append(
                f"class {name!r} would get no training image: the profile leaves it "
                f"{want}; lower 'data.ratio' or raise 'data.max_per_class'"
            )
        elif have < need:
            problems.append(
                f"class {name!r} has {have} images but the split needs {need} "
                f"({test_per_class} test + {val_per_class} validation + {want} training); "
                f"lower 'data.max_per_class', 'data.test_per_class' or 'data.val_per_class'"
            )
    return problems


def split_indices(
    targets: np.ndarray,
    train_counts: list[int],
    test_per_class: int,
    val_per_class: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Per class, a seeded shuffle gives test first, then validation, then training images.

    Test and validation are held out before the imbalance is applied, so both stay
    balanced and the training subset is drawn without replacement from the rest.
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


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of uint8 images, on the [0, 1] scale."""
    x = images.astype(np.float64) / 255
    mean = x.mean(axis=(0, 2, 3))
    std = x.std(axis=(0, 2, 3))
    return mean.tolist(), np.maximum(std, 1e-6).tolist()


def save_split(
    out_dir: Path, dataset: Dataset, indices: dict[str, np.ndarray], extra: dict
) -> dict:
    """Write the three splits and their manifest; return the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "class_names": dataset.class_names,
        "num_classes": dataset.num_classes,
        "image_shape": list(dataset.images.shape[1:]),
        "class_counts": {},
        "sha256": {},
        **extra,
    }
    for split in SPLITS:
        images, targets = dataset.images[indices[split]], dataset.targets[indices[split]]
        path = out_dir / f"{split}.npz"
        np.savez_compressed(path, images=images, targets=targets)
        manifest["class_counts"][split] = class_counts(targets, dataset.num_classes)
        manifest["sha256"][split] = hashlib.sha256(path.read_bytes()).hexdigest()
    mean, std = channel_stats(dataset.images[indices["train"]])
    manifest["mean"], manifest["std"] = mean, std
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def load_split(data_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``images`` (N, C, H, W) uint8 and ``targets`` (N,) int64 of one prepared split."""
    with np.load(Path(data_dir) / f"{split}.npz") as f:
        return f["images"], f["targets"]


def load_manifest(data_dir: Path) -> dict:
    return json.loads((Path(data_dir) / "manifest.json").read_text())
