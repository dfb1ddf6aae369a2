"""CIFAR-10-LT on two CPU cores: every strategy, several seeds, from the JPEG copy.

    .venv/bin/python benchmarks/cifar10_lt.py                     # about an hour here
    .venv/bin/python benchmarks/cifar10_lt.py --work /tmp/lt --keep

Unpacks ``../shared/datasets/cifar10-jpg.zip`` (CIFAR-10 as JPEG files in the image-folder
layout; its sha256 is checked) into a throwaway copy of the project, applies
``benchmarks/cifar10_lt.yaml`` as its params.yaml, adds the images with ``dvc add`` and
runs ``dvc repro`` there, never in this checkout. Writes ``benchmarks/results/cifar10_lt.json``
and ``.md``: balanced test accuracy per strategy (mean, sd over seeds, bootstrap interval),
the recall of the three rarest classes, and wall times. It tests nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.project import commit_copy, copy_project, timed_dvc  # noqa: E402

log = logging.getLogger("benchmarks.cifar10_lt")

ZIP = ROOT.parent / "shared" / "datasets" / "cifar10-jpg.zip"
ZIP_SHA256 = "ff13e8eaf39c8857fa6a608d3844f00ee8bada9cf5ebde05b42dd50e531041f0"
PARAMS = ROOT / "benchmarks" / "cifar10_lt.yaml"
RESULTS = ROOT / "benchmarks" / "results"
RAREST = 3
# ResNet-32, 200 epochs, original CIFAR-10-LT at ratio 100, top-1 accuracy on the balanced
# test set (%), as published: Cao et al. 2019 (CE, LDAM-DRW), Cui et al. 2019 (class-balanced
# loss), Ren et al. 2020 (balanced softmax), Menon et al. 2021 (logit adjustment).
PUBLISHED = {
    "cross-entropy": 70.4,
    "class-balanced loss": 74.6,
    "LDAM-DRW": 77.0,
    "balanced softmax": 77.5,
    "logit adjustment": 78.0,
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, default=ZIP, help="the cifar10-jpg.zip archive")
    parser.add_argument("--params", type=Path, default=PARAMS, help="params.yaml for the copy")
    parser.add_argument("--work", type=Path, help="folder for the copy (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the copy afterwards")
    parser.add_argument("--out", type=Path, default=RESULTS / "cifar10_lt")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the .md from the .json, no run"
    )
    return parser.parse_args(argv)


def check_zip(path: Path) -> None:
    """The archive exists and is the expected copy."""
    if not path.is_file():
        raise SystemExit(f"error: {path} not found; pass --zip with the cifar10-jpg.zip archive")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != ZIP_SHA256:
        raise SystemExit(f"error: {path} has sha256 {digest}, expected {ZIP_SHA256}")


def prepare_copy(dest: Path, archive: Path, params: Path) -> None:
    """The project copy with the benchmark params and the images added to DVC."""
    copy_project(dest)
    shutil.copy2(params, dest / "params.yaml")
    log.info("unpacking %s", archive)
    with zipfile.ZipFile(archive) as z:
        z.extractall(dest / "data" / "raw")
    timed_dvc(["add", "data/raw/cifar10-jpg"], dest, "dvc-add.log")
    commit_copy(dest)


def summarise(dest: Path) -> dict:
    """Per strategy: balanced accuracy statistics and the recall of the rarest classes."""
    import pandas as pd

    table = pd.read_csv(dest / "reports" / "comparison.csv").set_index("strategy")
    recalls = pd.read_csv(dest / "reports" / "per_class_recall.csv")
    manifest = json.loads((dest / "data" / "prepared" / "manifest.json").read_text())
    counts = manifest["class_counts"]["train"]
    names = manifest["class_names"]
    rarest = [names[i] for i in sorted(range(len(counts)), key=lambda i: counts[i])[:RAREST]]
    rows = {}
    for strategy, row in table.iterrows():
        recall = recalls[recalls["strategy"] == strategy].set_index("statistic")
        rows[strategy] = {
            "seeds": int(row["seeds"]),
            "balanced_accuracy": row["balanced_accuracy"],
            "balanced_accuracy_sd": row["balanced_accuracy_sd"],
            "balanced_accuracy_ci": [
                row["balanced_accuracy_ci_low"],
                row["balanced_accuracy_ci_high"],
            ],
            "diff_vs_plain": row.get("balanced_accuracy_diff"),
            "diff_vs_plain_ci": [
                row.get("balanced_accuracy_diff_ci_low"),
                row.get("balanced_accuracy_diff_ci_high"),
            ],
            "rarest_recall": {c: [recall.loc["mean", c], recall.loc["sd", c]] for c in rarest},
            "few_recall": row["few_recall"],
        }
    return {
        "train_counts": dict(zip(names, counts, strict=True)),
        "test_images": sum(manifest["class_counts"]["test"]),
        "rarest_classes": rarest,
        "rows": rows,
    }


def format_markdown(results: dict) -> str:
    s = results["summary"]
    rarest = s["rarest_classes"]
    header = ["strategy", "balanced accuracy (mean ± sd) [95% CI]", "vs plain [95% CI]"]
    header += [f"recall {c} (n={s['train_counts'][c]})" for c in rarest]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for name, r in s["rows"].items():
        sd = "" if r["seeds"] < 2 else f" ± {100 * r['balanced_accuracy_sd']:.1f}"
        ci = r["balanced_accuracy_ci"]
        cells = [
            name,
            f"{100 * r['balanced_accuracy']:.1f}{sd} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]",
        ]
        if name == "plain":
            cells.append("reference")
        elif r["diff_vs_plain"] is None or r["diff_vs_plain"] != r["diff_vs_plain"]:
            cells.append("")
        else:
            lo, hi = r["diff_vs_plain_ci"]
            cells.append(f"{100 * r['diff_vs_plain']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]")
        cells += [
            f"{100 * m:.1f} ± {100 * sd_:.1f}" if sd_ == sd_ else f"{100 * m:.1f}"
            for m, sd_ in (r["rarest_recall"][c] for c in rarest)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    t = results["timings_s"]
    m = results["machine"]
    lines += [
        "",
        f"Balanced test accuracy in %, {s['test_images']} test images. Machine: "
        f"{m['cpu_count']} cores, {m['processor'] or m['machine']}, torch {m['torch']}. "
        f"Wall time: {t['total'] / 60:.1f} min in all ({t['prepare'] / 60:.1f} min for "
        f"dvc add and the prepare stage, {t['train_evaluate_compare'] / 60:.1f} min for "
        "training, evaluation and the comparison).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.report_only:
        results = json.loads(args.out.with_suffix(".json").read_text())
        args.out.with_suffix(".md").write_text(format_markdown(results))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    check_zip(args.zip)

    work = args.work or Path(tempfile.mkdtemp(prefix="cifar10-lt-"))
    if work.exists() and any(work.iterdir()):
        raise SystemExit(f"error: {work} is not empty; give an empty or new --work folder")
    work.mkdir(parents=True, exist_ok=True)
    try:
        # The copy, then the data stages and the rest timed apart.
        start = time.perf_counter()
        prepare_copy(work, args.zip, args.params)
        prepare = (
            time.perf_counter() - start + timed_dvc(["repro", "prepare"], work, "prepare.log")
        )
        rest = timed_dvc(["repro"], work, "repro.log")

        # Results next to the machine and the budget that produced them.
        import torch

        results = {
            "params": args.params.read_text(),
            "machine": {
                "cpu_count": os.cpu_count(),
                "processor": platform.processor(),
                "machine": platform.machine(),
                "torch": torch.__version__,
                "load_average_1m_at_end": os.getloadavg()[0],
            },
            "timings_s": {
                "prepare": prepare,
                "train_evaluate_compare": rest,
                "total": prepare + rest,
            },
            "summary": summarise(work),
            "published_resnet32_200_epochs": PUBLISHED,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
        args.out.with_suffix(".md").write_text(format_markdown(results))
        shutil.copy2(
            work / "reports" / "comparison.md", args.out.parent / "cifar10_lt_comparison.md"
        )
        print(format_markdown(results))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log.info("kept the copy in %s", work)


if __name__ == "__main__":
    main()
