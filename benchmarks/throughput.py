"""Benchmark: training throughput of the pipeline's loop against a bare PyTorch loop.

Run from the project root::

    .venv/bin/python benchmarks/throughput.py
    .venv/bin/python benchmarks/throughput.py --threads 2 --repeats 5 --json /tmp/b.json
    .venv/bin/python benchmarks/throughput.py --skip-repro

It measures, on the prepared digits training split built in-process from params.yaml,

1. images per second of ``imbalanced_cls.training.train_model`` with the ``plain`` plan
   and of a bare loop over the same model class, batch size and SGD settings; the two
   alternate within each repeat so machine noise hits both, and the median is reported;
2. the wall time of a full ``dvc repro`` in a throwaway copy of the project (not here,
   so the outputs of this checkout are left alone); ``--skip-repro`` skips it.

The pipeline loop does more work per epoch than the bare loop: it evaluates the
validation split after every epoch, keeps a deep copy of the best checkpoint, steps a
warmup-cosine LR schedule and sums the training loss. The ratio
(pipeline / bare) therefore includes that work; it is not a like-for-like kernel timing.
This is a benchmark, not a test: it asserts nothing about the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Run as a file, the script has benchmarks/ on sys.path, not the project root.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.project import commit_copy, copy_project, timed_dvc  # noqa: E402
from imbalanced_cls.config import Params, load_params  # noqa: E402
from imbalanced_cls.data import channel_stats, load_source, split_indices  # noqa: E402
from imbalanced_cls.models import build_model, model_config  # noqa: E402
from imbalanced_cls.profiles import profile_counts  # noqa: E402
from imbalanced_cls.strategies import plan_strategy  # noqa: E402
from imbalanced_cls.training import resolve_device, seed_everything, train_model  # noqa: E402

log = logging.getLogger("benchmarks.throughput")

NOTE = (
    "the pipeline loop also runs per-epoch validation on the validation split and keeps "
    "the best checkpoint (plus an LR schedule and a running loss sum), which the bare "
    "loop does not, so the ratio includes that work"
)

Split = tuple[np.ndarray, np.ndarray]


@dataclasses.dataclass(frozen=True)
class Workload:
    """The in-memory data and settings both loops train on."""

    params: Params
    train: Split
    val: Split
    counts: list[int]
    model_config: dict
    device: torch.device


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (default 5)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per measurement")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--skip-repro", action="store_true", help="skip the dvc repro timing")
    args = parser.parse_args(argv)
    for name in ("threads", "repeats", "epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    return args


def build_workload(params: Params) -> Workload:
    """The prepared training and validation splits, as ``stages.prepare`` makes them."""
    d = params.data
    dataset = load_source(d).train
    counts = profile_counts(
        d.profile, dataset.num_classes, d.max_per_class, d.ratio, d.minority_classes
    )
    idx = split_indices(dataset.targets, counts, d.test_per_class, d.val_per_class, d.seed)
    train = (dataset.images[idx["train"]], dataset.targets[idx["train"]])
    val = (dataset.images[idx["val"]], dataset.targets[idx["val"]])
    mean, std = channel_stats(train[0])
    manifest = {
        "image_shape": list(dataset.images.shape[1:]),
        "num_classes": dataset.num_classes,
        "mean": mean,
        "std": std,
    }
    config = model_config(params.model, manifest)
    device = resolve_device(params.train.device)
    return Workload(params, train, val, counts, config, device)


def fresh_model(work: Workload) -> nn.Module:
    """The same seeded initial weights for every measurement of either loop."""
    torch.manual_seed(work.params.seeds[0])
    return build_model(**work.model_config).to(work.device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_pipeline(work: Workload, epochs: int) -> float:
    """Seconds for ``train_model`` with the plain plan, validation and checkpointing included."""
    model = fresh_model(work)
    plan = plan_strategy("plain", work.counts, work.params)
    train_params = dataclasses.replace(work.params.train, epochs=epochs)
    sync(work.device)
    start = time.perf_counter()
    train_model(
        model, work.train, work.val, work.counts, plan, train_params, seed=work.params.seeds[0]
    )
    sync(work.device)
    return time.perf_counter() - start


def run_bare(work: Workload, epochs: int) -> float:
    """Seconds for a bare loop: randperm batches, SGD, cross-entropy on logits, no validation."""
    model = fresh_model(work)
    t = work.params.train
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=t.lr,
        momentum=t.momentum,
        weight_decay=t.weight_decay,
        nesterov=t.optimizer == "nesterov" and t.momentum > 0,  # as make_optimizer does
    )
    generator = torch.Generator().manual_seed(work.params.seeds[0])
    sync(work.device)
    start = time.perf_counter()
    # Scaled to [0, 1] once, inside the timing as train_model does it inside its own.
    images = torch.as_tensor(work.train[0]).to(work.device).float().div_(255)
    targets = torch.as_tensor(work.train[1]).to(work.device)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(targets), generator=generator).to(work.device)
        for batch in order.split(t.batch_size):
            loss = F.cross_entropy(model(images[batch]), targets[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    sync(work.device)
    return time.perf_counter() - start


def summarise(rates: list[float]) -> dict[str, float]:
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates)}


def measure_throughput(work: Workload, epochs: int, repeats: int) -> dict:
    """Warm up both loops once, then alternate them ``repeats`` times; images per second."""
    loops: dict[str, Callable[[Workload, int], float]] = {
        "pipeline": run_pipeline,
        "bare": run_bare,
    }
    images = epochs * len(work.train[1])

    # Warm-up: first-call allocations and kernel selection stay out of the figures.
    for name, loop in loops.items():
        log.info("warm-up: %s loop, %d epochs", name, epochs)
        loop(work, epochs)

    # Timed repeats, pipeline then bare in each, so slow spells hit both.
    rates: dict[str, list[float]] = {name: [] for name in loops}
    for i in range(1, repeats + 1):
        for name, loop in loops.items():
            seconds = loop(work, epochs)
            rates[name].append(images / seconds)
            log.info("repeat %d/%d: %s %.0f images/s", i, repeats, name, images / seconds)

    result = {name: summarise(r) | {"all": r} for name, r in rates.items()}
    result["ratio_pipeline_over_bare"] = result["pipeline"]["median"] / result["bare"]["median"]
    result["images_per_measurement"] = images
    return result


def time_repro() -> float:
    """Seconds of a full ``dvc repro`` with the default params in a temporary copy."""
    with tempfile.TemporaryDirectory(prefix="bench-repro-") as tmp:
        dest = Path(tmp)
        copy_project(dest)
        commit_copy(dest)
        return timed_dvc(["repro"], dest, "repro.log")


def machine_facts() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "processor": platform.processor() or "unknown",
        "machine": platform.machine(),
        "load_average_1m": os.getloadavg()[0],  # other work on the machine skews everything
        "stderr_is_tty": sys.stderr.isatty(),
    }


def format_report(results: dict) -> str:
    """The plain-text report: machine, throughput table, dvc repro wall time."""
    m, t = results["machine"], results["throughput"]
    lines = [
        "Machine",
        f"  os.cpu_count()           {m['cpu_count']}",
        f"  torch.get_num_threads()  {m['torch_threads']}",
        f"  torch                    {m['torch_version']} (device {results['device']})",
        f"  processor / machine      {m['processor']} / {m['machine']}",
        f"  load average (1 min)     {m['load_average_1m']:.2f} at the start",
        "",
        f"Training throughput, images/s ({results['train_images']} training images, "
        f"{results['epochs']} epochs, batch {results['batch_size']}, "
        f"{results['repeats']} repeats after a warm-up)",
        f"  {'loop':<24}{'median':>10}{'min':>10}{'max':>10}",
    ]
    for name, label in (("pipeline", "pipeline train_model"), ("bare", "bare PyTorch")):
        s = t[name]
        lines.append(f"  {label:<24}{s['median']:>10.0f}{s['min']:>10.0f}{s['max']:>10.0f}")
    lines += [
        f"  ratio pipeline / bare (medians): {t['ratio_pipeline_over_bare']:.3f}",
        f"  Note: {NOTE}.",
    ]
    if m["stderr_is_tty"]:
        lines.append("  Note: stderr is a terminal, so train_model also drew a tqdm progress bar.")
    repro = results["dvc_repro_seconds"]
    lines += ["", f"dvc repro wall time: {'skipped' if repro is None else f'{repro:.1f} s'}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr
    )
    # The training loop logs every epoch; keep its INFO lines out of the benchmark's output.
    logging.getLogger("imbalanced_cls").setLevel(logging.WARNING)

    # Threads and seeds exactly as the train stage sets them, before any timing.
    facts = machine_facts()
    params = load_params(args.params)
    seed_everything(params.seeds[0], args.threads)
    work = build_workload(params)
    log.info("workload: %d training, %d validation images", len(work.train[1]), len(work.val[1]))

    # Throughput, then the pipeline's wall time.
    throughput = measure_throughput(work, args.epochs, args.repeats)
    repro = None if args.skip_repro else time_repro()

    # Report to stdout, and the same figures as JSON if asked.
    results = {
        "machine": facts | {"torch_threads": torch.get_num_threads()},
        "device": str(work.device),
        "train_images": len(work.train[1]),
        "epochs": args.epochs,
        "batch_size": params.train.batch_size,
        "repeats": args.repeats,
        "throughput": throughput,
        "note": NOTE,
        "dvc_repro_seconds": repro,
    }
    print(format_report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        log.info("wrote %s", args.json)


if __name__ == "__main__":
    main()
