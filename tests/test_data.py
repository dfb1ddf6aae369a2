import json

import numpy as np
import yaml

from imbalanced_cls.config import DataParams
from imbalanced_cls.data import (
    Dataset,
    SourceInfo,
    check_plan,
    load_digits,
    load_manifest,
    load_split,
    save_split,
    split_indices,
    subsample_per_class,
)
from tests.conftest import ROOT


def tiny_dataset(per_class: int = 12, num_classes: int = 3) -> Dataset:
    rng = np.random.default_rng(0)
    n = per_class * num_classes
    images = rng.integers(0, 256, (n, 1, 4, 4), dtype=np.uint8)
    return Dataset(images, np.repeat(np.arange(num_classes), per_class), ["a", "b", "c"])


def test_digits_is_embedded_and_scaled_to_uint8():
    d = load_digits()
    assert d.images.shape == (1797, 1, 8, 8) and d.images.dtype == np.uint8
    assert d.images.max() == 255 and d.num_classes == 10


def test_split_is_balanced_where_it_must_be_disjoint_and_seeded():
    d = tiny_dataset()
    idx = split_indices(d.targets, [6, 3, 1], test_per_class=3, val_per_class=2, seed=7)
    for split, expected in (("test", [3, 3, 3]), ("val", [2, 2, 2]), ("train", [6, 3, 1])):
        assert np.bincount(d.targets[idx[split]], minlength=3).tolist() == expected
    all_idx = np.concatenate(list(idx.values()))
    assert len(np.unique(all_idx)) == len(all_idx)
    again = split_indices(d.targets, [6, 3, 1], 3, 2, seed=7)
    other = split_indices(d.targets, [6, 3, 1], 3, 2, seed=8)
    assert all(np.array_equal(idx[s], again[s]) for s in idx)
    assert not all(np.array_equal(idx[s], other[s]) for s in idx)


def test_the_test_set_does_not_depend_on_the_profile():
    d = tiny_dataset()
    a = split_indices(d.targets, [7, 7, 7], 3, 2, seed=1)
    b = split_indices(d.targets, [7, 2, 1], 3, 2, seed=1)
    assert np.array_equal(a["test"], b["test"]) and np.array_equal(a["val"], b["val"])


def test_save_and_load_round_trip(tmp_path):
    d = tiny_dataset()
    idx = split_indices(d.targets, [6, 3, 1], 3, 2, seed=0)
    splits = {s: (d.images[idx[s]], d.targets[idx[s]]) for s in idx}
    manifest = save_split(tmp_path, splits, d.class_names, extra={"dataset": "tiny"})
    images, _ = load_split(tmp_path, "train")
    assert np.array_equal(images, d.images[idx["train"]]) and images.dtype == np.uint8
    assert load_manifest(tmp_path) == json.loads(json.dumps(manifest))
    assert manifest["class_counts"]["train"] == [6, 3, 1]
    assert manifest["image_shape"] == [1, 4, 4] and len(manifest["mean"]) == 1


def info(pool: list[int], test: list[int] | None = None) -> SourceInfo:
    return SourceInfo([str(c) for c in "abc"[: len(pool)]], pool, test, [1, 4, 4])


def data_params(test_per_class: int = 1, val_per_class: int = 1) -> DataParams:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())["data"]
    raw.update(test_per_class=test_per_class, val_per_class=val_per_class)
    return DataParams(**raw)


def test_check_plan_names_the_class_and_the_numbers():
    problems = check_plan(info([10, 10, 4]), [5, 0, 3], data_params())
    assert any("'b' would get no training image" in p for p in problems)
    assert any("'c' has 4 training-pool images but the split needs 5" in p for p in problems)
    assert check_plan(info([10, 10]), [5, 5], data_params(2, 2)) == []


def test_with_a_test_split_nothing_is_held_out_for_test():
    # The pool only has to supply validation and training images.
    assert check_plan(info([6, 6], [3, 3]), [5, 5], data_params(0, 1)) == []
    problems = check_plan(info([6, 6], [3, 0]), [5, 5], data_params(0, 1))
    assert any("'b' has 0 images in the source's test split" in p for p in problems)
    problems = check_plan(info([6, 6], [3, 3]), [5, 5], data_params(4, 1))
    assert any("'a' has 3 images in the source's test split" in p for p in problems)


def test_subsample_per_class_is_balanced_and_seeded():
    targets = np.array([0] * 5 + [1] * 7)
    idx = subsample_per_class(targets, 3, seed=0)
    assert np.bincount(targets[idx]).tolist() == [3, 3]
    assert np.array_equal(idx, subsample_per_class(targets, 3, seed=0))
    assert np.array_equal(subsample_per_class(targets, 0, seed=0), np.arange(12))
