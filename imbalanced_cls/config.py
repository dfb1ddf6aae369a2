"""Typed, validated view of ``params.yaml``.

Every stage starts with :func:`load_params`, so a mistake in ``params.yaml`` stops the
pipeline before any work, with a message naming the bad value and what is allowed::

    from imbalanced_cls.config import load_params
    params = load_params("params.yaml")
    params.train.epochs
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STRATEGIES = ("plain", "weighted", "sampling", "augmentation", "combined")
PROFILES = ("exponential", "step")
DATASETS = ("digits", "cifar10", "imagefolder")
MODELS = ("small_cnn", "resnet8", "resnet20", "resnet32", "resnet44", "resnet56")
OPTIMIZERS = ("nesterov", "sgd", "adamw")
SCHEDULES = ("cosine", "step")
DEVICES = ("auto", "cpu", "cuda")
BASE_AUGMENT_IMAGES = ("colour", "all", "none")


class ParamsError(ValueError):
    """One or more values in params.yaml are invalid; the message lists every problem."""

    def __init__(self, problems: list[str], source: str = "params.yaml") -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid {source}:\n{lines}")


@dataclass(frozen=True)
class DataParams:
    dataset: str
    root: str
    download: bool
    verify: bool
    image_size: int
    seed: int
    test_per_class: int
    val_per_class: int
    profile: str
    ratio: float
    max_per_class: int
    minority_classes: int


@dataclass(frozen=True)
class ModelParams:
    name: str
    width: int
    dropout: float


@dataclass(frozen=True)
class TrainParams:
    epochs: int
    batch_size: int
    optimizer: str
    lr: float
    momentum: float
    weight_decay: float
    warmup_epochs: int
    schedule: str
    milestones: list[int]
    gamma: float
    device: str
    num_threads: int


@dataclass(frozen=True)
class BaseAugmentationParams:
    images: str
    crop_padding: int
    hflip: bool


@dataclass(frozen=True)
class WeightedParams:
    power: float


@dataclass(frozen=True)
class AugmentationParams:
    rotation: float
    translate: float
    erasing: float
    jitter: float
    min_strength: float


@dataclass(frozen=True)
class CombinedParams:
    sampler_share: float


@dataclass(frozen=True)
class GroupParams:
    many_above: int
    few_below: int


@dataclass(frozen=True)
class LogitAdjustParams:
    tau: float
    strategies: list[str]


@dataclass(frozen=True)
class EvaluateParams:
    top_k: list[int]
    ece_bins: int
    temperature_scaling: bool
    groups: GroupParams
    logit_adjust: LogitAdjustParams
    bootstrap: int
    confidence: float
    bootstrap_seed: int


@dataclass(frozen=True)
class MlflowParams:
    experiment: str


@dataclass(frozen=True)
class Params:
    imbalance: str
    strategies: list[str]
    seeds: list[int]
    data: DataParams
    model: ModelParams
    train: TrainParams
    base_augmentation: BaseAugmentationParams
    weighted: WeightedParams
    augmentation: AugmentationParams
    combined: CombinedParams
    evaluate: EvaluateParams
    mlflow: MlflowParams
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate a params file; raise :class:`ParamsError` listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError([f"file not found: {path.resolve()}"], source=str(path))
    with path.open() as f:
        try:
            raw = yaml.safe_load(f)
        except yaml.YAMLError as exc:
            raise ParamsError([f"not valid YAML: {exc}"], source=str(path)) from exc
    return parse_params(raw, source=str(path))


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate a params mapping (as loaded from YAML) and return typed params."""
    problems: list[str] = []
    params = _build(Params, raw, "", problems)
    if params is not None:
        problems.extend(_check_values(params))
    if problems:
        raise ParamsError(problems, source=source)
    assert params is not None
    return dataclasses.replace(params, raw=raw)


def _build(cls: type, raw: Any, prefix: str, problems: list[str]) -> Any:
    """Build dataclass ``cls`` from ``raw``, recording missing, unknown and mistyped keys."""
    where = prefix.rstrip(".") or "the top level"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping, got {type(raw).__name__}: {raw!r}")
        return None
    hints = typing.get_type_hints(cls)
    fields = [f.name for f in dataclasses.fields(cls) if f.name != "raw"]
    for key in raw:
        if key not in fields:
            problems.append(f"unknown key '{prefix}{key}'; allowed keys: {', '.join(fields)}")
    values = {}
    for name in fields:
        if name not in raw:
            problems.append(f"missing key '{prefix}{name}'")
            continue
        values[name] = _coerce(hints[name], raw[name], f"{prefix}{name}", problems)
    if len(values) < len(fields) or any(v is _BAD for v in values.values()):
        return None
    return cls(**values)


_BAD = object()


def _coerce(hint: Any, value: Any, name: str, problems: list[str]) -> Any:
    """Check ``value`` against a field type; ints are accepted where floats are expected."""
    if dataclasses.is_dataclass(hint):
        built = _build(hint, value, f"{name}.", problems)
        return _BAD if built is None else built
    origin = typing.get_origin(hint)
    if origin is list:
        (item_type,) = typing.get_args(hint)
        if not isinstance(value, list):
            problems.append(f"'{name}' must be a list, got {value!r}")
            return _BAD
        items = [_coerce(item_type, v, f"{name}[{i}]", problems) for i, v in enumerate(value)]
        return _BAD if any(v is _BAD for v in items) else items
    ok = isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not ok:
        problems.append(f"'{name}' must be {hint.__name__}, got {value!r}")
        return _BAD
    return value


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> list[str]:
    if value in allowed:
        return []
    return [f"'{name}' is {value!r}; allowed: {', '.join(allowed)}"]


def _check_values(p: Params) -> list[str]:
    """Range and consistency checks that need more than a type."""
    problems = []

    # Strategies: known names, no repeats, and the reported one among them.
    for s in p.strategies:
        problems += _one_of("strategies", s, STRATEGIES)
    if not p.strategies:
        problems.append(f"'strategies' is empty; choose from: {', '.join(STRATEGIES)}")
    repeated = sorted({s for s in p.strategies if p.strategies.count(s) > 1})
    if repeated:
        problems.append(f"'strategies' lists {', '.join(repeated)} more than once")
    problems += _one_of("imbalance", p.imbalance, STRATEGIES)
    if p.imbalance in STRATEGIES and p.imbalance not in p.strategies:
        problems.append(
            f"'imbalance' is {p.imbalance!r}, which is not in 'strategies' "
            f"({', '.join(p.strategies)}); add it there or pick one of those"
        )
    if not p.seeds:
        problems.append("'seeds' is empty; give at least one training seed, for example [0]")
    if any(seed < 0 for seed in p.seeds):
        problems.append(f"'seeds' is {p.seeds}; every seed must be >= 0")
    repeated = sorted({seed for seed in p.seeds if p.seeds.count(seed) > 1})
    if repeated:
        problems.append(f"'seeds' lists {', '.join(map(str, repeated))} more than once")

    # Data.
    d = p.data
    problems += _one_of("data.dataset", d.dataset, DATASETS)
    problems += _one_of("data.profile", d.profile, PROFILES)
    if d.ratio < 1:
        problems.append(f"'data.ratio' is {d.ratio}; the imbalance ratio must be >= 1")
    if not d.root.strip():
        problems.append("'data.root' is empty; give the folder that holds the dataset")
    if d.image_size < 0:
        problems.append(f"'data.image_size' is {d.image_size}; use 0 to keep the image size")
    if d.image_size and d.dataset != "imagefolder":
        problems.append(
            f"'data.image_size' is {d.image_size}, but only the imagefolder dataset is resized; "
            f"set it to 0 for {d.dataset!r}"
        )
    if d.download and d.dataset != "cifar10":
        problems.append(f"'data.download' is true, but only cifar10 downloads; got {d.dataset!r}")
    if d.seed < 0:
        problems.append(f"'data.seed' is {d.seed}; it must be >= 0")
    if d.max_per_class < 1:
        problems.append(f"'data.max_per_class' is {d.max_per_class}; it must be >= 1")
    if d.test_per_class < 0 or d.val_per_class < 0:
        problems.append(
            f"'data.test_per_class' is {d.test_per_class} and 'data.val_per_class' is "
            f"{d.val_per_class}; both must be >= 0"
        )
    if d.test_per_class == 0 and d.dataset == "digits":
        problems.append(
            "'data.test_per_class' is 0, which means the source's own test split, but digits "
            "has none; hold out at least 1 image per class"
        )
    if d.minority_classes < 1:
        problems.append(f"'data.minority_classes' is {d.minority_classes}; it must be >= 1")

    # Model and training.
    problems += _one_of("model.name", p.model.name, MODELS)
    if p.model.width < 1:
        problems.append(f"'model.width' is {p.model.width}; it must be >= 1")
    if not 0 <= p.model.dropout < 1:
        problems.append(f"'model.dropout' is {p.model.dropout}; it must be in [0, 1)")
    t = p.train
    if t.epochs < 1:
        problems.append(f"'train.epochs' is {t.epochs}; it must be a positive integer")
    if t.batch_size < 1:
        problems.append(f"'train.batch_size' is {t.batch_size}; it must be a positive integer")
    problems += _one_of("train.optimizer", t.optimizer, OPTIMIZERS)
    problems += _one_of("train.device", t.device, DEVICES)
    if t.lr <= 0:
        problems.append(f"'train.lr' is {t.lr}; it must be > 0")
    if not 0 <= t.momentum < 1:
        problems.append(f"'train.momentum' is {t.momentum}; it must be in [0, 1)")
    if t.weight_decay < 0:
        problems.append(f"'train.weight_decay' is {t.weight_decay}; it must be >= 0")
    if not 0 <= t.warmup_epochs < t.epochs:
        problems.append(
            f"'train.warmup_epochs' is {t.warmup_epochs}; it must be >= 0 and below "
            f"'train.epochs' ({t.epochs})"
        )
    if t.num_threads < 0:
        problems.append(f"'train.num_threads' is {t.num_threads}; use 0 for torch's default")
    problems += _one_of("train.schedule", t.schedule, SCHEDULES)
    if t.schedule == "step":
        if t.milestones != sorted(set(t.milestones)) or not all(
            t.warmup_epochs < m <= t.epochs for m in t.milestones
        ):
            problems.append(
                f"'train.milestones' is {t.milestones}; with the step schedule they must be "
                f"increasing epochs after the warmup ({t.warmup_epochs}) and at most "
                f"'train.epochs' ({t.epochs})"
            )
        if not 0 < t.gamma < 1:
            problems.append(f"'train.gamma' is {t.gamma}; the LR factor must be in (0, 1)")
    b = p.base_augmentation
    problems += _one_of("base_augmentation.images", b.images, BASE_AUGMENT_IMAGES)
    if b.crop_padding < 0:
        problems.append(f"'base_augmentation.crop_padding' is {b.crop_padding}; it must be >= 0")

    # Strategy settings.
    if not 0 <= p.weighted.power <= 2:
        problems.append(f"'weighted.power' is {p.weighted.power}; it must be in [0, 2]")
    a = p.augmentation
    if not 0 <= a.rotation <= 180:
        problems.append(f"'augmentation.rotation' is {a.rotation}; degrees in [0, 180]")
    for name in ("translate", "erasing", "jitter", "min_strength"):
        if not 0 <= getattr(a, name) <= 1:
            problems.append(f"'augmentation.{name}' is {getattr(a, name)}; it must be in [0, 1]")
    if not 0 <= p.combined.sampler_share <= 1:
        problems.append(
            f"'combined.sampler_share' is {p.combined.sampler_share}; it must be in [0, 1]"
        )

    # Evaluation and tracking.
    if not p.evaluate.top_k:
        problems.append("'evaluate.top_k' is empty; give at least one k, for example [1, 5]")
    for k in p.evaluate.top_k:
        if k < 1:
            problems.append(f"'evaluate.top_k' contains {k}; each k must be >= 1")
    e = p.evaluate
    if e.ece_bins < 1:
        problems.append(f"'evaluate.ece_bins' is {e.ece_bins}; it must be >= 1 (15 is usual)")
    if e.temperature_scaling and p.data.val_per_class == 0:
        problems.append(
            "'evaluate.temperature_scaling' is true but 'data.val_per_class' is 0: the "
            "temperature is fitted on the validation set; hold some out or turn it off"
        )
    g = e.groups
    if g.few_below < 0 or g.many_above < 0 or g.few_below > g.many_above + 1:
        problems.append(
            f"'evaluate.groups' has few_below {g.few_below} and many_above {g.many_above}; "
            "they must be >= 0 with few_below <= many_above + 1 (the defaults of the "
            "literature are 20 and 100)"
        )
    if e.logit_adjust.tau < 0:
        problems.append(f"'evaluate.logit_adjust.tau' is {e.logit_adjust.tau}; it must be >= 0")
    for s in e.logit_adjust.strategies:
        if s not in p.strategies:
            problems.append(
                f"'evaluate.logit_adjust.strategies' lists {s!r}, which is not in "
                f"'strategies' ({', '.join(p.strategies)})"
            )
    if e.bootstrap < 1:
        problems.append(f"'evaluate.bootstrap' is {e.bootstrap}; give the resamples, e.g. 1000")
    if not 0 < e.confidence < 1:
        problems.append(f"'evaluate.confidence' is {e.confidence}; it must be in (0, 1)")
    if e.bootstrap_seed < 0:
        problems.append(f"'evaluate.bootstrap_seed' is {e.bootstrap_seed}; it must be >= 0")
    if not p.mlflow.experiment.strip():
        problems.append("'mlflow.experiment' is empty; give the MLflow experiment a name")
    return problems


def check_against_data(p: Params, num_classes: int) -> list[str]:
    """Checks that need the number of classes of the dataset."""
    problems = []
    for k in p.evaluate.top_k:
        if k > num_classes:
            problems.append(
                f"'evaluate.top_k' contains {k}, more than the {num_classes} classes of "
                f"{p.data.dataset!r}; each k must be between 1 and {num_classes}"
            )
    if p.data.profile == "step" and p.data.minority_classes >= num_classes:
        problems.append(
            f"'data.minority_classes' is {p.data.minority_classes}; with {num_classes} classes "
            f"it must be between 1 and {num_classes - 1}"
        )
    return problems
