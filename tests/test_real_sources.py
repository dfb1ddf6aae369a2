"""Image folders and CIFAR-10 through the real pipeline, and the DVC remote round trip.

The data is built in the tests: a few PNG files of three colour-coded classes, and a fake
``cifar-10-batches-py`` in the standard pickle layout.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from imbalanced_cls.config import ParamsError, parse_params
from imbalanced_cls.sources import DataError
from stages.plan import make_plan
from tests.conftest import BIN, SMALL, make_project, merge, run_cmd

DVC = str(BIN / "dvc")
COLOURS = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}

FOLDER = {
    "strategies": ["plain", "combined"],
    "imbalance": "combined",
    "seeds": [0],
    "data": {
        "dataset": "imagefolder",
        "root": "data/raw/shapes",
        "test_per_class": 0,
        "val_per_class": 0,
        "max_per_class": 12,
        "ratio": 4,
    },
    "model": {"name": "resnet8", "width": 4},
    "evaluate": {
        "top_k": [1, 2],
        "groups": {"many_above": 8, "few_below": 4},
        "temperature_scaling": False,
    },
    "mlflow": {"experiment": "folder-test"},
}


def write_folder(root: Path, train: int, test: int, size: int = 12) -> None:
    """``root/{train,test}/<colour>/*.png``: noisy images dominated by the class colour."""
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("test", test)):
        for name, colour in COLOURS.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                noise = rng.integers(-25, 25, (size, size, 3))
                pixels = np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i:03d}.png")


def folder_params(raw_params: dict, root: Path) -> dict:
    params = merge(merge(raw_params, SMALL), FOLDER)
    params["data"]["root"] = str(root)
    return params


def test_an_image_folder_is_planned_from_its_headers(tmp_path, raw_params):
    write_folder(tmp_path / "shapes", train=20, test=5)
    plan = make_plan(parse_params(folder_params(raw_params, tmp_path / "shapes")))
    assert plan["class_names"] == ["blue", "green", "red"]  # sorted folder names
    assert plan["image_shape"] == [3, 12, 12] and plan["test_source"] == "test split"
    assert plan["class_counts"]["test"] == [5, 5, 5]
    assert plan["class_counts"]["train"] == [12, 6, 3]


def test_an_image_folder_too_small_for_the_plan_is_refused(tmp_path, raw_params):
    write_folder(tmp_path / "shapes", train=10, test=5)
    with pytest.raises(ParamsError, match="class 'blue' has 10 training-pool images"):
        make_plan(parse_params(folder_params(raw_params, tmp_path / "shapes")))


def write_fake_cifar(root: Path, per_batch: int = 20) -> None:
    """The python pickle layout of CIFAR-10 with random images and every label present."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            b"labels": [i % 10 for i in range(per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    meta = {b"label_names": [f"class{i}".encode() for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))


def test_cifar10_is_planned_with_its_own_test_split(tmp_path, raw_params):
    write_fake_cifar(tmp_path)
    raw = merge(
        raw_params,
        {
            "data": {
                "dataset": "cifar10",
                "root": str(tmp_path),
                "verify": False,
                "test_per_class": 0,
                "val_per_class": 1,
                "max_per_class": 8,
                "ratio": 4,
            }
        },
    )
    plan = make_plan(parse_params(raw))
    assert plan["class_names"][0] == "class0" and plan["image_shape"] == [3, 32, 32]
    assert plan["class_counts"]["test"] == [2] * 10  # the whole test batch
    assert plan["class_counts"]["train"][0] == 8 and plan["class_counts"]["train"][-1] == 2

    # The md5 check is on by default, and the fake files fail it.
    raw["data"]["verify"] = True
    with pytest.raises(DataError, match=r"data\.verify"):
        make_plan(parse_params(raw))


def digest(path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(path if path.is_dir() else path.parent).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


@pytest.mark.slow
def test_image_folder_pipeline_and_the_dvc_remote_round_trip(tmp_path_factory, raw_params):
    project = make_project(tmp_path_factory.mktemp("folder-project"), merge(SMALL, FOLDER))
    write_folder(project / "data/raw/shapes", train=20, test=5)
    run_cmd([DVC, "add", "data/raw/shapes"], project)
    run_cmd(["git", "add", "-A"], project)
    run_cmd(["git", "commit", "-q", "-m", "add the images"], project)

    # The whole pipeline on colour images with a ResNet, base augmentation included.
    run_cmd([DVC, "repro"], project)
    table = pd.read_csv(project / "reports/comparison.csv").set_index("strategy")
    assert table.index.tolist() == ["plain", "combined", "plain+la", "majority_baseline"]
    manifest = json.loads((project / "data/prepared/manifest.json").read_text())
    assert manifest["image_shape"] == [3, 12, 12] and manifest["class_counts"]["test"] == [5] * 3
    assert len(manifest["mean"]) == 3

    # Push to the shipped local remote, then a fresh clone pulls data and models back.
    run_cmd(["git", "add", "-A"], project)
    run_cmd(["git", "commit", "-q", "-m", "results"], project)
    run_cmd([DVC, "push"], project)
    clone = tmp_path_factory.mktemp("folder-clone")  # a sibling: the remote is ../dvc-storage
    subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True)
    assert not (clone / "data/raw/shapes").exists() and not (clone / "data/prepared").exists()
    run_cmd([DVC, "pull"], clone)
    for rel in (
        "data/raw/shapes",
        "data/prepared",
        "models/plain/seed0/model.pt",
        "models/combined/seed0/model.pt",
    ):
        assert digest(clone / rel) == digest(project / rel), rel
    assert "up to date" in run_cmd([DVC, "status"], clone).stdout
