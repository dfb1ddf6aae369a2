"""Check params.yaml against the data and plan the split: ``python -m stages.plan``.

Every other stage depends on this one, so a mistake anywhere in params.yaml stops
``dvc repro`` here, before any stage deletes or rewrites its outputs. Writes
``data/plan.json``: dataset, class names and per-class counts of each split.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from imbalanced_cls import cli
from imbalanced_cls.config import Params, ParamsError, check_against_data, load_params
from imbalanced_cls.data import check_plan, class_counts, load_source
from imbalanced_cls.profiles import imbalance_ratio, profile_counts

log = logging.getLogger("stages.plan")

PLAN = Path("data/plan.json")


def make_plan(params: Params) -> dict:
    """Per-class counts of the test, validation and training splits, checked against the data."""
    d = params.data
    dataset = load_source(d.dataset)
    problems = check_against_data(params, dataset.num_classes)
    if problems:
        raise ParamsError(problems)
    available = class_counts(dataset.targets, dataset.num_classes)
    train = profile_counts(
        d.profile, dataset.num_classes, d.max_per_class, d.ratio, d.minority_classes
    )
    problems = check_plan(available, train, d.test_per_class, d.val_per_class, dataset.class_names)
    if problems:
        raise ParamsError(problems)
    return {
        "dataset": d.dataset,
        "class_names": dataset.class_names,
        "num_classes": dataset.num_classes,
        "class_counts": {
            "test": [d.test_per_class] * dataset.num_classes,
            "val": [d.val_per_class] * dataset.num_classes,
            "train": train,
        },
    }


def main() -> None:
    params = load_params()
    plan = make_plan(params)
    train = plan["class_counts"]["train"]
    log.info(
        "params.yaml is valid; %s: %d classes, %d training images (%s profile, ratio %.1f), "
        "strategies %s",
        plan["dataset"],
        plan["num_classes"],
        sum(train),
        params.data.profile,
        imbalance_ratio(train),
        ", ".join(params.strategies),
    )
    PLAN.parent.mkdir(parents=True, exist_ok=True)
    PLAN.write_text(json.dumps(plan, indent=2) + "\n")


if __name__ == "__main__":
    cli.run(main)
