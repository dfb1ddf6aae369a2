"""Every params value a user can get wrong is refused with the bad value and what is allowed."""

import pytest
import yaml

from imbalanced_cls.config import ParamsError, load_params, parse_params
from stages.plan import make_plan
from tests.conftest import ROOT


def refused(raw: dict) -> str:
    with pytest.raises(ParamsError) as info:
        make_plan(parse_params(raw))
    return str(info.value)


def test_the_shipped_params_are_valid(raw_params):
    params = parse_params(raw_params)
    assert params.imbalance in params.strategies
    plan = make_plan(params)
    assert plan["num_classes"] == 10 and min(plan["class_counts"]["train"]) >= 1


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        (None, "imbalance", "oversample", ["'oversample'", "plain, weighted, sampling"]),
        (None, "strategies", ["plain", "focal"], ["'focal'", "augmentation, combined"]),
        (None, "strategies", [], ["empty"]),
        (None, "strategies", ["plain", "plain", "combined"], ["plain more than once"]),
        ("data", "profile", "zipf", ["'zipf'", "exponential, step"]),
        ("data", "dataset", "mnist", ["'mnist'", "digits"]),
        ("data", "ratio", 0.5, ["0.5", ">= 1"]),
        ("data", "max_per_class", 0, ["max_per_class", ">= 1"]),
        ("train", "epochs", 0, ["'train.epochs' is 0", "positive integer"]),
        ("train", "epochs", -3, ["'train.epochs' is -3"]),
        ("train", "batch_size", 0, ["'train.batch_size' is 0", "positive integer"]),
        ("train", "epochs", 2.5, ["'train.epochs' must be int", "2.5"]),
        ("train", "optimizer", "rmsprop", ["'rmsprop'", "sgd, adamw"]),
        ("train", "device", "tpu", ["'tpu'", "auto, cpu, cuda"]),
        ("train", "lr", 0, ["'train.lr' is 0.0"]),
        ("evaluate", "top_k", [1, 11], ["contains 11", "10 classes", "between 1 and 10"]),
        ("evaluate", "top_k", [0], ["contains 0"]),
        ("augmentation", "erasing", 1.5, ["'augmentation.erasing' is 1.5", "[0, 1]"]),
        ("weighted", "power", -1, ["'weighted.power' is -1.0"]),
        ("combined", "sampler_share", 2, ["'combined.sampler_share' is 2.0"]),
        (None, "seeds", [], ["'seeds' is empty"]),
        (None, "seeds", [0, -1], ["'seeds' is [0, -1]", ">= 0"]),
        (None, "seeds", [1, 1], ["'seeds' lists 1 more than once"]),
        ("data", "image_size", -1, ["'data.image_size' is -1"]),
        ("data", "image_size", 32, ["only the imagefolder dataset is resized"]),
        ("data", "download", True, ["only cifar10 downloads"]),
        ("data", "test_per_class", 0, ["digits has none"]),
        ("data", "root", "", ["'data.root' is empty"]),
        ("data", "verify", "yes", ["'data.verify' must be bool", "'yes'"]),
        ("model", "name", "vgg16", ["'vgg16'", "small_cnn, resnet8", "resnet32"]),
        ("train", "schedule", "linear", ["'linear'", "cosine, step"]),
        ("base_augmentation", "images", "rgb", ["'rgb'", "colour, all, none"]),
        ("base_augmentation", "crop_padding", -4, ["'base_augmentation.crop_padding' is -4"]),
        ("evaluate", "ece_bins", 0, ["'evaluate.ece_bins' is 0"]),
        ("evaluate", "bootstrap", 0, ["'evaluate.bootstrap' is 0"]),
        ("evaluate", "confidence", 95, ["'evaluate.confidence' is 95.0", "(0, 1)"]),
        ("evaluate", "groups", {"many_above": 10, "few_below": 20}, ["few_below 20", "100"]),
        ("evaluate", "logit_adjust", {"tau": -1, "strategies": []}, ["tau' is -1.0"]),
        (
            "evaluate",
            "logit_adjust",
            {"tau": 1, "strategies": ["focal"]},
            ["lists 'focal'", "not in 'strategies'"],
        ),
    ],
)
def test_bad_values_are_named_with_what_is_allowed(raw_params, section, key, value, expected):
    (raw_params[section] if section else raw_params)[key] = value
    message = refused(raw_params)
    for part in expected:
        assert part in message


def test_imbalance_must_be_among_the_strategies(raw_params):
    raw_params["strategies"] = ["plain", "weighted"]
    raw_params["imbalance"] = "sampling"
    message = refused(raw_params)
    assert "'imbalance' is 'sampling'" in message and "plain, weighted" in message


def test_a_class_left_without_training_images(raw_params):
    raw_params["data"].update(ratio=500, max_per_class=100)
    message = refused(raw_params)
    assert "class '9' would get no training image" in message and "data.ratio" in message


def test_a_class_too_small_for_the_split(raw_params):
    raw_params["data"].update(max_per_class=170)
    message = refused(raw_params)
    assert "class '0' has 178 training-pool images but the split needs 240" in message


def test_step_profile_needs_a_majority_class(raw_params):
    raw_params["data"].update(profile="step", minority_classes=10)
    assert "'data.minority_classes' is 10" in refused(raw_params)


def test_unknown_and_missing_keys(raw_params):
    raw_params["train"]["learning_rate"] = 0.1
    raw_params["optimiser"] = "sgd"
    del raw_params["model"]["width"]
    message = refused(raw_params)
    assert "unknown key 'train.learning_rate'" in message and "epochs, batch_size" in message
    assert "unknown key 'optimiser'" in message
    assert "missing key 'model.width'" in message


def test_all_problems_are_reported_at_once(raw_params):
    raw_params["train"]["epochs"] = 0
    raw_params["imbalance"] = "nope"
    with pytest.raises(ParamsError) as info:
        parse_params(raw_params)
    assert len(info.value.problems) >= 2


def test_a_section_that_is_not_a_mapping(raw_params):
    raw_params["train"] = [1, 2]
    assert "train must be a mapping" in refused(raw_params)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ParamsError, match="file not found"):
        load_params(tmp_path / "params.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)
    bad.write_text(yaml.safe_dump(["a", "list"]))
    with pytest.raises(ParamsError, match="must be a mapping"):
        load_params(bad)


def test_the_step_schedule_needs_milestones_inside_the_run(raw_params):
    raw_params["train"].update(schedule="step", milestones=[25, 20], gamma=0.1)
    assert "'train.milestones' is [25, 20]" in refused(raw_params)
    raw_params["train"].update(milestones=[20, 40])
    assert "at most 'train.epochs' (30)" in refused(raw_params)
    raw_params["train"].update(milestones=[20, 25], gamma=1.5)
    assert "'train.gamma' is 1.5" in refused(raw_params)


def test_temperature_scaling_needs_a_validation_set(raw_params):
    raw_params["data"]["val_per_class"] = 0
    assert "fitted on the validation set" in refused(raw_params)
    raw_params["evaluate"]["temperature_scaling"] = False
    assert make_plan(parse_params(raw_params))["class_counts"]["val"] == [0] * 10


def test_the_recipes_are_valid_params_files():
    for recipe in sorted((ROOT / "configs").glob("*.yaml")):
        params = load_params(recipe)
        assert params.model.name and params.data.dataset != "digits", recipe
