"""Check params.yaml against the data and plan the split: ``python -m stages.plan``.

Every other stage depends on this one, so a mistake anywhere in params.yaml or in the
dataset's layout stops ``dvc repro`` here, before any stage deletes or rewrites its
outputs. Image folders are checked from the file headers, without decoding the pixels.
Writes ``data/plan.json``: dataset, class names, image shape and per-class counts.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from imbalanced_cls import cli
from imbalanced_cls.config import Params, ParamsError, check_against_data, load_params
from imbalanced_cls.data import check_plan, describe_source
from imbalanced_cls.profiles import imbalance_ratio, profile_counts

log = logging.getLogger("stages.plan")

PLAN = Path("data/plan.json")


def make_plan(params: Params) -> dict:
    """Per-class counts of the test, validation and training splits, checked against the data."""
    d = params.data
    info = describe_source(d)
    problems = check_against_data(params, info.num_classes)
    if problems:
        raise ParamsError(problems)
    train = profile_counts(
        d.profile, info.num_classes, d.max_per_class, d.ratio, d.minority_classes
    )
    problems = check_plan(info, train, d)
    if problems:
        raise ParamsError(problems)
    if info.test_counts is None:
        test = [d.test_per_class] * info.num_classes
    elif d.test_per_class == 0:
        test = info.test_counts
    else:
        test = [d.test_per_class] * info.num_classes
    return {
        "dataset": d.dataset,
        "class_names": info.class_names,
        "num_classes": info.num_classes,
        "image_shape": info.image_shape,
        "test_source": "held out" if info.test_counts is None else "test split",
        "class_counts": {
            "test": test,
            "val": [d.val_per_class] * info.num_classes,
            "train": train,
        },
    }


def main() -> None:
    params = load_params()
    plan = make_plan(params)
    train = plan["class_counts"]["train"]
    log.info(
        "params.yaml is valid; %s: %d classes of %s images, %d training images (%s profile, "
        "ratio %.1f), %d test images (%s), strategies %s, seeds %s",
        plan["dataset"],
        plan["num_classes"],
        "x".join(map(str, plan["image_shape"])),
        sum(train),
        params.data.profile,
        imbalance_ratio(train),
        sum(plan["class_counts"]["test"]),
        plan["test_source"],
        ", ".join(params.strategies),
        ", ".join(map(str, params.seeds)),
    )
    PLAN.parent.mkdir(parents=True, exist_ok=True)
    PLAN.write_text(json.dumps(plan, indent=2) + "\n")


if __name__ == "__main__":
    cli.run(main)
