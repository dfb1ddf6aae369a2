"""Shared start-up of the stage commands: logging and user-facing errors."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from imbalanced_cls.config import Params, ParamsError


def run(main: Callable[[], None]) -> None:
    """Run a stage's ``main`` with logging set up; a params mistake exits 2 with its message."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        main()
    except (ParamsError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)


class UsageError(ValueError):
    """A bad command-line argument or input file, named in the message."""


def strategy_arg(params: Params, description: str, argv: list[str] | None = None) -> str:
    """The one positional argument of the per-strategy stages, checked against params.yaml."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("strategy", help=f"one of: {', '.join(params.strategies)}")
    strategy = parser.parse_args(argv).strategy
    if strategy not in params.strategies:
        raise UsageError(
            f"strategy {strategy!r} is not in params.yaml 'strategies' "
            f"({', '.join(params.strategies)})"
        )
    return strategy
