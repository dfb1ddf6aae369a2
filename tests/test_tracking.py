from pathlib import Path

from imbalanced_cls.tracking import flatten, project_root, tracking_uri


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
