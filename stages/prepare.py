"""Build the imbalanced training set and balanced held-out sets: ``python -m stages.prepare``.

Follows ``data/plan.json``: per class, a seeded shuffle gives the test images, then the
validation images, then the training images the profile asks for. Writes
``data/prepared/{train,val,test}.npz`` and ``data/prepared/manifest.json``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from imbalanced_cls import cli
from imbalanced_cls.config import load_params
from imbalanced_cls.data import load_source, save_split, split_indices

log = logging.getLogger("stages.prepare")

PLAN = Path("data/plan.json")
OUT = Path("data/prepared")


def main() -> None:
    params = load_params()
    plan = json.loads(PLAN.read_text())
    d = params.data

    dataset = load_source(d.dataset)
    counts = plan["class_counts"]
    indices = split_indices(
        dataset.targets, counts["train"], d.test_per_class, d.val_per_class, params.seed
    )
    manifest = save_split(
        OUT,
        dataset,
        indices,
        extra={"dataset": d.dataset, "profile": d.profile, "ratio": d.ratio, "seed": params.seed},
    )
    train = manifest["class_counts"]["train"]
    log.info(
        "wrote %s: train %d images (largest class %d, smallest %d, minority share %.1f%%), "
        "val %d, test %d",
        OUT,
        sum(train),
        max(train),
        min(train),
        100 * min(train) / sum(train),
        len(indices["val"]),
        len(indices["test"]),
    )


if __name__ == "__main__":
    cli.run(main)
