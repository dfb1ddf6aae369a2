"""Prediction for new image files with a trained model: top-k classes and probabilities.

A model comes from a pipeline checkpoint (``models/<strategy>/seed<seed>/model.pt``) or
from MLflow (``runs:/<run_id>/model``, ``models:/<name>/<version>``); both carry the class
names, the training class counts and the image shape the model was trained on. Images get
the preprocessing of training: decoded to uint8 with the model's channel count, resized
when training resized, scaled to [0, 1]; the model normalises them itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from imbalanced_cls.sources import GRAYSCALE_MODES, IMAGE_EXTENSIONS, DataError, read_image

log = logging.getLogger(__name__)


@dataclass
class Predictor:
    """A model in eval mode and what it was trained on."""

    model: nn.Module
    class_names: list[str]
    class_counts: list[int]
    image_shape: list[int]  # (C, H, W)
    image_size: int  # training resized every image to a square of this size; 0: no resize
    source: str


def from_checkpoint(path: Path) -> Predictor:
    """A pipeline checkpoint, as the train stage writes it."""
    from imbalanced_cls.models import build_model

    checkpoint = torch.load(path, map_location="cpu")
    model = build_model(**checkpoint["model_config"])
    model.load_state_dict(checkpoint["state_dict"])
    return Predictor(
        model.eval(),
        checkpoint["class_names"],
        checkpoint["class_counts"],
        checkpoint["image_shape"],
        checkpoint.get("image_size", 0),
        str(path),
    )


def from_mlflow(uri: str) -> Predictor:
    """A model logged by the train stage, by MLflow model URI."""
    import mlflow

    info = mlflow.models.get_model_info(uri)
    meta = info.metadata or {}
    missing = [k for k in ("class_names", "class_counts", "image_shape") if k not in meta]
    if missing:
        raise DataError(
            [
                f"the MLflow model {uri} has no {', '.join(missing)} in its metadata; it was not "
                "logged by this pipeline's train stage"
            ]
        )
    model = _ModeFixed(mlflow.pytorch.load_model(uri))
    return Predictor(
        model,
        meta["class_names"],
        meta["class_counts"],
        meta["image_shape"],
        meta.get("image_size", 0),
        uri,
    )


class _ModeFixed(nn.Module):
    """A graph module MLflow exported in eval mode: train() and eval() must not touch it."""

    def __init__(self, graph: nn.Module) -> None:
        super().__init__()
        self.graph = graph

    def train(self, mode: bool = True) -> _ModeFixed:
        return self  # batch norm and dropout were fixed to eval behaviour at export

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.graph(images)


def collect_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Image files named directly or found under folders (sorted); problems by path."""
    files, problems = [], []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in IMAGE_EXTENSIONS
                and not p.name.startswith(".")
            )
            if not found:
                problems.append(f"{path}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    return files, problems


def load_image(path: Path, predictor: Predictor) -> np.ndarray:
    """One file as (C, H, W) uint8, as the model expects it; DataError naming the file."""
    from PIL import Image

    channels, height, width = predictor.image_shape
    try:
        with Image.open(path) as img:
            mode, size = img.mode, img.size
    except (OSError, SyntaxError, ValueError) as err:
        raise DataError([f"{path}: not a readable image ({type(err).__name__}: {err})"]) from err
    if channels == 1 and mode not in GRAYSCALE_MODES:
        raise DataError(
            [f"{path}: a colour image (mode {mode}), but the model takes 1-channel images"]
        )
    if not predictor.image_size and size != (width, height):
        raise DataError(
            [
                f"{path}: {size[0]}x{size[1]} pixels, but the model takes {width}x{height} "
                "(it was trained without resizing)"
            ]
        )
    return read_image(path, channels, predictor.image_size)


@torch.no_grad()
def predict_files(
    predictor: Predictor, files: list[Path], top_k: int, tau: float = 0.0
) -> tuple[list[dict], list[str]]:
    """One row per readable file with its top-k classes and softmax probabilities.

    With ``tau`` > 0 the logits are first corrected by ``tau * log(training prior)``.
    Files that cannot be used are returned as problems, by path; the rest are predicted.
    """
    from imbalanced_cls.calibration import logit_adjust
    from imbalanced_cls.training import predict_logits

    images, kept, problems = [], [], []
    for path in files:
        try:
            images.append(load_image(path, predictor))
            kept.append(path)
        except DataError as err:
            problems += err.problems
    if not images:
        return [], problems

    logits = predict_logits(predictor.model, torch.as_tensor(np.stack(images))).double().numpy()
    if tau > 0:
        logits = logit_adjust(logits, predictor.class_counts, tau)
    probs = torch.softmax(torch.as_tensor(logits), dim=1).numpy()  # (N, num_classes)
    ranked = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]  # ties: lower index first
    rows = []
    for path, order, p in zip(kept, ranked, probs, strict=True):
        row: dict[str, object] = {"file": str(path)}
        for rank, c in enumerate(order, start=1):
            row[f"top{rank}_class"] = predictor.class_names[c]
            row[f"top{rank}_prob"] = float(p[c])
        rows.append(row)
    return rows, problems
