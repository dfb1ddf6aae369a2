import os
from pathlib import Path

import pytest

from imbalanced_cls.tracking import (
    MissingRunError,
    flatten,
    project_root,
    read_run_ref,
    tracking_uri,
    write_run_ref,
)


def test_project_root_sees_through_dvc_temporary_experiment_copies(tmp_path):
    temp_copy = tmp_path / "proj" / ".dvc" / "tmp" / "exps" / "tmpab12cd"
    temp_copy.mkdir(parents=True)
    assert project_root(temp_copy) == (tmp_path / "proj").resolve()
    assert project_root(tmp_path / "proj") == (tmp_path / "proj").resolve()


def test_project_root_follows_dvc_root(tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "x" / ".dvc" / "tmp" / "exps" / "run" / "a"))
    assert project_root() == (tmp_path / "x").resolve()


def test_tracking_uri_defaults_to_sqlite_at_the_root(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(Path("/srv/proj")) == "sqlite:////srv/proj/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000")
    assert tracking_uri(Path("/srv/proj")) == "http://mlflow.internal:5000"


def test_flatten_nested_params():
    flat = flatten({"seed": 0, "train": {"lr": 0.1, "sched": {"warmup": 2}}, "k": [1, 3]})
    assert flat == {"seed": 0, "train.lr": 0.1, "train.sched.warmup": 2, "k": "[1, 3]"}


def test_a_run_missing_from_the_store_is_named_with_a_way_out(tmp_path):
    import mlflow

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    ref = tmp_path / "mlflow_run.json"
    write_run_ref(ref, "0123456789abcdef0123456789abcdef", "1")
    with pytest.raises(MissingRunError, match=r"0123456789abcdef.*dvc repro --force train@"):
        read_run_ref(ref)
