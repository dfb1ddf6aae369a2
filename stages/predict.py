"""Predict classes of new images with a trained model: ``python -m stages.predict``.

    python -m stages.predict photos/ cat.png                     # the `imbalance` model, seed 1st
    python -m stages.predict photos/ --model sampling --seed 1 --top-k 3
    python -m stages.predict photos/ --model-uri runs:/<run_id>/model --output preds.csv
    python -m stages.predict photos/ --logit-adjust 1.0          # post-hoc prior correction

Prints one CSV row per image (file, then the top-k classes and their softmax
probabilities), or writes it to ``--output``. Files that cannot be used (missing,
unreadable, the wrong size or channel count) are reported by name on stderr and the
other images are still predicted; the exit status is then 1. Not a DVC stage.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from pathlib import Path

from imbalanced_cls import cli
from imbalanced_cls.config import load_params

log = logging.getLogger("stages.predict")

MODELS = Path("models")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("images", nargs="+", type=Path, help="image files or folders")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", help="a strategy of params.yaml (default: 'imbalance')")
    source.add_argument("--model-uri", help="an MLflow model URI, e.g. runs:/<run_id>/model")
    parser.add_argument("--seed", type=int, help="which seed's model (default: the first)")
    parser.add_argument("--top-k", type=int, default=3, help="classes per image (default 3)")
    parser.add_argument(
        "--logit-adjust",
        type=float,
        default=0.0,
        metavar="TAU",
        help="subtract TAU * log(training prior) from the logits first (default 0: off)",
    )
    parser.add_argument("--output", type=Path, help="write the CSV here instead of stdout")
    return parser.parse_args(argv)


def load_predictor(args: argparse.Namespace):
    """The model named on the command line, checked before any image is read."""
    from imbalanced_cls import predict, tracking

    if args.model_uri:
        tracking.start_store()
        return predict.from_mlflow(args.model_uri)
    params = load_params()
    strategy = args.model or params.imbalance
    seed = params.seeds[0] if args.seed is None else args.seed
    path = MODELS / cli.model_dir(strategy, seed) / "model.pt"
    if strategy not in params.strategies or seed not in params.seeds:
        raise cli.UsageError(
            f"--model {strategy!r} --seed {seed}: choose a strategy of {params.strategies} "
            f"and a seed of {params.seeds}, or give --model-uri"
        )
    if not path.is_file():
        raise cli.UsageError(f"no trained model at {path}; run `dvc repro` first")
    return predict.from_checkpoint(path)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from imbalanced_cls import predict

    # The model and the files, checked before any work.
    predictor = load_predictor(args)
    num_classes = len(predictor.class_names)
    if not 1 <= args.top_k <= num_classes:
        raise cli.UsageError(f"--top-k is {args.top_k}; it must be between 1 and {num_classes}")
    if args.logit_adjust < 0:
        raise cli.UsageError(f"--logit-adjust is {args.logit_adjust}; it must be >= 0")
    files, problems = predict.collect_files(args.images)
    log.info("predicting %d images with %s", len(files), predictor.source)

    # Predict what can be read; report the rest by name.
    rows, bad = predict.predict_files(predictor, files, args.top_k, args.logit_adjust)
    problems += bad
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if rows:
        out = args.output.open("w", newline="") if args.output else sys.stdout
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        if args.output:
            out.close()
            log.info("wrote %d predictions to %s", len(rows), args.output)
    if problems:
        if not rows:
            raise cli.UsageError(f"no image could be predicted ({len(problems)} problems above)")
        sys.exit(1)


if __name__ == "__main__":
    cli.run(main)
