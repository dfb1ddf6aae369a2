"""Shared fixtures: valid params, and a shrunken copy of the project in a temporary git repo."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# A configuration that runs the whole pipeline in well under a minute of compute.
SMALL = {
    "seeds": [0, 1],
    "data": {"test_per_class": 10, "val_per_class": 5, "max_per_class": 30, "ratio": 10},
    "model": {"width": 4},
    "train": {"epochs": 2, "batch_size": 32, "warmup_epochs": 1, "num_threads": 1},
    "evaluate": {"top_k": [1, 3], "bootstrap": 200, "groups": {"many_above": 20, "few_below": 8}},
    "mlflow": {"experiment": "pipeline-test"},
}


def merge(base: dict, override: dict) -> dict:
    """``base`` with ``override``'s values put in, section by section."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


@pytest.fixture
def raw_params() -> dict:
    """The project's params.yaml as a dict, to be broken one value at a time."""
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def project_files() -> list[str]:
    """Files git tracks plus the untracked ones it does not ignore, without generated ones."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    skip = ("reports/", "models/", "data/plan.json", "data/prepared", "dvc.lock", "tests/")
    skip += ("benchmarks/",)
    return [f for f in out if not f.startswith(skip) and (ROOT / f).is_file()]


def make_project(dest: Path, overrides: dict) -> Path:
    """Copy the project into ``dest`` with shrunken params, as a fresh git repository."""
    for rel in project_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), overrides)
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "project copy"], cwd=dest, check=True)
    return dest


def run_cmd(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command with the virtualenv first on PATH and the default MLflow store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = "test"
    env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = "test@example.com"
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n"
            f"--- stderr\n{proc.stderr}"
        )
    return proc


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> Path:
    """A shrunken project on which `dvc repro` has run once."""
    project = make_project(tmp_path_factory.mktemp("project"), SMALL)
    run_cmd([str(BIN / "dvc"), "repro"], project)
    return project


@pytest.fixture(autouse=True, scope="session")
def _private_mlflow_store(tmp_path_factory):
    """MLflow calls made by the tests themselves never touch a store in the working tree."""
    store = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    mp.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    yield
    mp.undo()
