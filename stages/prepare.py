"""Build the imbalanced training set and balanced held-out sets: ``python -m stages.prepare``.

Follows ``data/plan.json``. Per class, a seeded shuffle of the training pool gives the
test images (only for sources without a test split of their own), then the validation
images, then the training images the profile asks for. Images are decoded once, here,
into ``data/prepared/{train,val,test}.npz`` (uint8, N x C x H x W), with
``data/prepared/manifest.json`` holding counts, channel statistics and sha256 sums.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from imbalanced_cls import cli
from imbalanced_cls.config import load_params
from imbalanced_cls.data import load_source, save_split, split_indices, subsample_per_class

log = logging.getLogger("stages.prepare")

PLAN = Path("data/plan.json")
OUT = Path("data/prepared")


def main() -> None:
    params = load_params()
    plan = json.loads(PLAN.read_text())
    d = params.data

    # Decode the source, then split the pool; the test set comes from the source's own
    # test split when it has one.
    log.info("loading %s from %s", d.dataset, d.root if d.dataset != "digits" else "scikit-learn")
    source = load_source(d)
    pool = source.train
    held_out = d.test_per_class if source.test is None else 0
    indices = split_indices(
        pool.targets, plan["class_counts"]["train"], held_out, d.val_per_class, d.seed
    )
    splits = {s: (pool.images[indices[s]], pool.targets[indices[s]]) for s in ("train", "val")}
    if source.test is None:
        splits["test"] = (pool.images[indices["test"]], pool.targets[indices["test"]])
    else:
        test_idx = subsample_per_class(source.test.targets, d.test_per_class, d.seed)
        splits["test"] = (source.test.images[test_idx], source.test.targets[test_idx])

    # Write the splits and the manifest.
    manifest = save_split(
        OUT,
        splits,
        pool.class_names,
        extra={
            "dataset": d.dataset,
            "root": d.root,
            "profile": d.profile,
            "ratio": d.ratio,
            "seed": d.seed,
            "test_source": plan["test_source"],
        },
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
        len(splits["val"][1]),
        len(splits["test"][1]),
    )


if __name__ == "__main__":
    cli.run(main)
