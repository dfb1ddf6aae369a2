"""A throwaway copy of the project for benchmarks: never run them in the checkout itself."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

log = logging.getLogger(__name__)


def project_files() -> list[str]:
    """Tracked files plus untracked files git does not ignore, as listed by git."""
    listed = []
    for extra in ([], ["--others", "--exclude-standard"]):
        out = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", *extra],
            capture_output=True,
            text=True,
            check=True,
        )
        listed += out.stdout.splitlines()
    return sorted({p for p in listed if (ROOT / p).is_file()})


def copy_project(dest: Path) -> None:
    """Copy the project files into ``dest``, without any stage output, as a git repository."""
    for rel in project_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    remove_outputs(dest)


def remove_outputs(dest: Path) -> None:
    """Delete dvc.lock and every stage output DVC knows of, so that every stage runs."""
    from dvc.repo import Repo

    (dest / "dvc.lock").unlink(missing_ok=True)
    with Repo(str(dest)) as repo:
        outs = [Path(out.fs_path) for out in repo.index.outs]
    for path in outs:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    log.info("removed dvc.lock and %d stage outputs from the copy", len(outs))


def commit_copy(dest: Path) -> None:
    git = ["git", "-c", "user.name=benchmark", "-c", "user.email=benchmark@localhost"]
    subprocess.run([*git, "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "benchmark copy"], cwd=dest, check=True)


def repro_env(dest: Path) -> dict[str, str]:
    """The environment of ``make repro``, with MLflow tracking inside the copy."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{dest / 'mlflow.db'}"
    env["DVC_NO_ANALYTICS"] = "1"
    return env


def timed_dvc(args: list[str], dest: Path, log_name: str) -> float:
    """Seconds of one ``dvc`` command in the copy; its output goes to ``dest/log_name``."""
    log.info("running dvc %s in %s", " ".join(args), dest)
    with (dest / log_name).open("w") as out:
        start = time.perf_counter()
        proc = subprocess.run(
            [str(VENV_BIN / "dvc"), *args],
            cwd=dest,
            env=repro_env(dest),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (dest / log_name).read_text()[-4000:]
        command = " ".join(args)
        raise RuntimeError(f"dvc {command} failed with exit code {proc.returncode}:\n{tail}")
    return seconds
