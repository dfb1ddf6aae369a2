"""`python -m stages.predict` on a few images, one of them broken, with a pipeline model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.conftest import BIN, run_cmd

pytestmark = pytest.mark.slow

PREDICT = [str(BIN / "python"), "-m", "stages.predict"]


@pytest.fixture
def images(pipeline, tmp_path) -> tuple[Path, np.ndarray]:
    """Four test-set digits as 8x8 PNGs, and the indices they have in the test split."""
    with np.load(pipeline / "data/prepared/test.npz") as f:
        test_images = f["images"]
    chosen = np.array([0, 13, 57, 99])
    folder = tmp_path / "digits"
    folder.mkdir()
    for i in chosen:
        Image.fromarray(test_images[i, 0]).save(folder / f"test{i:03d}.png")
    return folder, chosen


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_predictions_match_the_evaluation_of_the_same_images(pipeline, images, tmp_path):
    folder, chosen = images
    out = tmp_path / "preds.csv"
    run_cmd(
        [*PREDICT, str(folder), "--model", "plain", "--seed", "1", "--output", str(out)], pipeline
    )
    rows = pd.read_csv(out)
    assert rows.columns.tolist() == [
        "file",
        "top1_class",
        "top1_prob",
        "top2_class",
        "top2_prob",
        "top3_class",
        "top3_prob",
    ]
    with np.load(pipeline / "reports/eval/plain/seed1/predictions.npz") as f:
        probs = softmax(f["logits"][chosen])
    assert rows["top1_class"].tolist() == probs.argmax(1).tolist()
    assert rows["top1_prob"].to_numpy() == pytest.approx(probs.max(1), rel=1e-5)
    assert (rows["top1_prob"] >= rows["top2_prob"]).all()


def test_logit_adjustment_uses_the_training_prior(pipeline, images, tmp_path):
    folder, chosen = images
    out = tmp_path / "preds.csv"
    run_cmd(
        [
            *PREDICT,
            str(folder),
            "--model",
            "plain",
            "--seed",
            "0",
            "--top-k",
            "1",
            "--logit-adjust",
            "1.0",
            "--output",
            str(out),
        ],
        pipeline,
    )
    manifest = json.loads((pipeline / "data/prepared/manifest.json").read_text())
    counts = np.array(manifest["class_counts"]["train"], dtype=float)
    with np.load(pipeline / "reports/eval/plain/seed0/predictions.npz") as f:
        probs = softmax(f["logits"][chosen] - np.log(counts / counts.sum()))
    rows = pd.read_csv(out)
    assert rows["top1_class"].tolist() == probs.argmax(1).tolist()
    assert rows["top1_prob"].to_numpy() == pytest.approx(probs.max(1), rel=1e-5)


def test_bad_files_are_named_and_the_others_still_predicted(pipeline, images, tmp_path):
    folder, _ = images
    (folder / "broken.png").write_bytes(b"not an image at all")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "colour.png")
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(folder / "large.png")
    missing = tmp_path / "nowhere.png"
    proc = run_cmd([*PREDICT, str(folder), str(missing)], pipeline, check=False)
    assert proc.returncode == 1
    assert f"{folder / 'broken.png'}: not a readable image" in proc.stderr
    assert f"{folder / 'colour.png'}: a colour image" in proc.stderr
    assert f"{folder / 'large.png'}: 16x16 pixels, but the model takes 8x8" in proc.stderr
    assert f"{missing}: no such file or folder" in proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].startswith("file,top1_class,top1_prob") and len(lines) == 1 + 4


def test_an_mlflow_model_uri_gives_the_same_predictions(pipeline, images, tmp_path):
    folder, _ = images
    ref = json.loads((pipeline / "models/combined/seed0/mlflow_run.json").read_text())
    by_uri, by_name = tmp_path / "uri.csv", tmp_path / "name.csv"
    run_cmd(
        [
            *PREDICT,
            str(folder),
            "--model-uri",
            f"runs:/{ref['run_id']}/model",
            "--output",
            str(by_uri),
        ],
        pipeline,
    )
    run_cmd([*PREDICT, str(folder), "--model", "combined", "--output", str(by_name)], pipeline)
    a, b = pd.read_csv(by_uri), pd.read_csv(by_name)
    assert a["top1_class"].tolist() == b["top1_class"].tolist()
    assert a["top1_prob"].to_numpy() == pytest.approx(b["top1_prob"].to_numpy(), rel=1e-5)


def test_usage_mistakes_are_refused_before_any_image_is_read(pipeline, images):
    folder, _ = images
    proc = run_cmd([*PREDICT, str(folder), "--top-k", "11"], pipeline, check=False)
    assert proc.returncode == 2 and "--top-k is 11; it must be between 1 and 10" in proc.stderr
    proc = run_cmd([*PREDICT, str(folder), "--model", "focal"], pipeline, check=False)
    assert proc.returncode == 2 and "--model 'focal'" in proc.stderr
    proc = run_cmd([*PREDICT, "/nonexistent"], pipeline, check=False)
    assert proc.returncode == 2 and "no image could be predicted" in proc.stderr
