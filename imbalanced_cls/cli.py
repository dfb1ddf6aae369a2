"""Shared start-up of the stage commands: logging and user-facing errors."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from imbalanced_cls.config import Params, ParamsError
from imbalanced_cls.sources import DataError


def run(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` with logging set up; a params mistake exits 2 with its message."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        main()
    except (ParamsError, UsageError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


class UsageError(ValueError):
    """A bad command-line argument or input file, named in the message."""


def model_args(params: Params, description: str, argv: list[str] | None = None) -> tuple[str, int]:
    """The strategy and ``--seed`` of the per-model stages, checked against params.yaml."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("strategy", help=f"one of: {', '.join(params.strategies)}")
    parser.add_argument("--seed", type=int, required=True, help="one of 'seeds' in params.yaml")
    args = parser.parse_args(argv)
    if args.strategy not in params.strategies:
        raise UsageError(
            f"strategy {args.strategy!r} is not in params.yaml 'strategies' "
            f"({', '.join(params.strategies)})"
        )
    if args.seed not in params.seeds:
        raise UsageError(
            f"seed {args.seed} is not in params.yaml 'seeds' ({', '.join(map(str, params.seeds))})"
        )
    return args.strategy, args.seed


def model_dir(strategy: str, seed: int) -> str:
    """Where a strategy's model for one seed lives, relative to the project root."""
    return f"{strategy}/seed{seed}"
