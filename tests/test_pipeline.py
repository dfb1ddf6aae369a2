"""The real pipeline: `dvc repro`, `dvc exp run`, the reports and the MLflow store.

All tests share one shrunken project (see ``conftest.SMALL``) on which `dvc repro` ran
once; the tests that change it put it back. The experiment test runs last.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import BIN, SMALL, run_cmd

pytestmark = pytest.mark.slow

DVC = str(BIN / "dvc")
STRATEGIES = ["plain", "weighted", "sampling", "augmentation", "combined"]


def snapshot(project: Path) -> dict[str, bytes]:
    """Contents of every report and model file."""
    files = [*sorted((project / "reports").rglob("*")), *sorted((project / "models").rglob("*"))]
    return {str(f.relative_to(project)): f.read_bytes() for f in files if f.is_file()}


def mlflow_client(project: Path):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")


def test_repro_writes_the_comparison_of_every_strategy_and_the_baseline(pipeline):
    table = pd.read_csv(pipeline / "reports" / "comparison.csv")
    assert table["strategy"].tolist() == [*STRATEGIES, "majority_baseline"]
    for column in ("accuracy", "balanced_accuracy", "macro_f1", "min_recall", "top3_accuracy"):
        assert table[column].between(0, 1).all()
    baseline = table.set_index("strategy").loc["majority_baseline"]
    assert baseline["min_recall"] == 0 and baseline["accuracy"] == pytest.approx(0.1)
    assert baseline["train_prior_accuracy"] > baseline["accuracy"]

    recalls = pd.read_csv(pipeline / "reports" / "per_class_recall.csv")
    assert recalls.columns.tolist() == ["strategy", *map(str, range(10))]
    markdown = (pipeline / "reports" / "comparison.md").read_text()
    assert "| majority_baseline |" in markdown and "per_class_recall.png" in markdown
    for plot in ("per_class_recall.png", "confusion_matrices.png"):
        assert (pipeline / "reports" / "plots" / plot).read_bytes()[:4] == b"\x89PNG"

    metrics = json.loads((pipeline / "reports" / "metrics.json").read_text())
    chosen = json.loads((pipeline / "reports/eval/combined/metrics.json").read_text())
    assert metrics["strategy"] == "combined"
    assert metrics["balanced_accuracy"] == chosen["balanced_accuracy"]
    assert len(metrics["recall"]) == 10


def test_the_split_follows_the_profile_and_the_test_set_is_balanced(pipeline):
    manifest = json.loads((pipeline / "data/prepared/manifest.json").read_text())
    counts = manifest["class_counts"]
    assert counts["test"] == [SMALL["data"]["test_per_class"]] * 10
    assert counts["val"] == [SMALL["data"]["val_per_class"]] * 10
    assert counts["train"][0] == 30 and counts["train"][-1] == 3


def test_a_second_repro_has_nothing_to_do(pipeline):
    out = run_cmd([DVC, "repro"], pipeline).stdout
    assert "Running stage" not in out
    assert "up to date" in run_cmd([DVC, "status"], pipeline).stdout


def test_dvc_declares_metrics_and_plots_that_render_offline(pipeline, tmp_path):
    shown = json.loads(run_cmd([DVC, "metrics", "show", "--json"], pipeline).stdout)
    (entry,) = shown.values()
    assert entry["data"]["reports/metrics.json"]["data"]["strategy"] == "combined"
    plots = json.loads(run_cmd([DVC, "plots", "show", "--json"], pipeline).stdout)["data"]
    expected = {"reports/plots/per_class_recall.png", "reports/plots/confusion_matrices.png"}
    assert expected <= set(plots)
    assert all(p[0]["type"] == "image" for p in plots.values())
    # Image plots become <img> tags on local files: no script, nothing fetched.
    run_cmd([DVC, "plots", "show", "-o", str(tmp_path / "html")], pipeline)
    html = (tmp_path / "html" / "index.html").read_text()
    assert html.count("<img") == 2 and "http" not in html and "<script" not in html


def test_mlflow_holds_one_complete_run_per_strategy(pipeline):
    client = mlflow_client(pipeline)
    experiment = client.get_experiment_by_name(SMALL["mlflow"]["experiment"])
    assert experiment.artifact_location == (pipeline / "mlartifacts").as_uri()
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.tags["strategy"] for r in runs) == sorted(STRATEGIES)
    models = client.search_logged_models(experiment_ids=[experiment.experiment_id])
    for run in runs:
        strategy = run.data.tags["strategy"]
        assert run.info.status == "FINISHED"
        assert len(run.data.tags["git_commit"]) == 40
        assert run.data.params["train.epochs"] == "2" and run.data.params["strategy"] == strategy
        history = client.get_metric_history(run.info.run_id, "val_balanced_accuracy")
        assert [m.step for m in history] == [1, 2]
        assert len(client.get_metric_history(run.info.run_id, "train_loss")) == 2
        evaluated = json.loads((pipeline / f"reports/eval/{strategy}/metrics.json").read_text())
        assert run.data.metrics["test_balanced_accuracy"] == pytest.approx(
            evaluated["balanced_accuracy"]
        )
        assert (
            "test_recall_class_9" in run.data.metrics and "test_top3_accuracy" in run.data.metrics
        )
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "test")}
        assert {"test/confusion_matrix.png", "test/per_class.json"} <= artifacts
        (model,) = [m for m in models if m.source_run_id == run.info.run_id]
        assert Path(
            model.artifact_location.removeprefix("file://"), "input_example.json"
        ).is_file()


def test_the_logged_model_loads_and_outputs_logits(pipeline):
    import mlflow
    import numpy as np
    import torch

    client = mlflow_client(pipeline)
    mlflow.set_tracking_uri(client.tracking_uri)
    ref = json.loads((pipeline / "models/plain/mlflow_run.json").read_text())
    models = client.search_logged_models(experiment_ids=[ref["experiment_id"]])
    (model,) = [m for m in models if m.source_run_id == ref["run_id"]]
    loaded = mlflow.pytorch.load_model(model.model_uri)

    logits = loaded(torch.zeros(2, 1, 8, 8))
    assert logits.shape == (2, 10) and not np.allclose(logits.sum(1).detach().numpy(), 1)


def test_training_is_reproducible_through_dvc(pipeline):
    before = (pipeline / "reports/eval/weighted/metrics.json").read_text()
    run_cmd([DVC, "repro", "--force", "--single-item", "train@weighted"], pipeline)
    run_cmd([DVC, "repro", "--single-item", "evaluate@weighted"], pipeline)
    assert (pipeline / "reports/eval/weighted/metrics.json").read_text() == before


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("imbalance", "bogus", "'imbalance' is 'bogus'; allowed: plain, weighted, sampling"),
        ("train.epochs", 0, "'train.epochs' is 0; it must be a positive integer"),
        ("data.ratio", 1000, "would get no training image"),
        ("evaluate.top_k", [1, 12], "'evaluate.top_k' contains 12"),
    ],
)
def test_bad_params_stop_repro_and_keep_every_report(pipeline, key, value, message):
    path = pipeline / "params.yaml"
    original = path.read_text()
    before = snapshot(pipeline)
    params = yaml.safe_load(original)
    *sections, last = key.split(".")
    target = params
    for s in sections:
        target = target[s]
    target[last] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        proc = run_cmd([DVC, "repro"], pipeline, check=False)
    finally:
        path.write_text(original)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr
    assert snapshot(pipeline) == before


def test_an_unknown_strategy_argument_is_refused(pipeline):
    proc = run_cmd([str(BIN / "python"), "-m", "stages.train", "focal"], pipeline, check=False)
    assert proc.returncode == 2
    assert "strategy 'focal' is not in params.yaml 'strategies'" in proc.stderr


def test_temp_experiment_logs_to_the_store_at_the_project_root(pipeline):
    overrides = ["-S", "train.epochs=1", "-S", "train.warmup_epochs=0"]
    run_cmd(
        [DVC, "exp", "run", "--temp", "-n", "short-plain", *overrides, "train@plain"], pipeline
    )
    client = mlflow_client(pipeline)
    experiment = client.get_experiment_by_name(SMALL["mlflow"]["experiment"])
    (run,) = client.search_runs([experiment.experiment_id], "tags.dvc_exp_name = 'short-plain'")
    assert run.data.params["train.epochs"] == "1" and run.data.tags["strategy"] == "plain"
    assert run.info.artifact_uri.startswith((pipeline / "mlartifacts").as_uri())


def test_exp_run_reports_the_chosen_strategy(pipeline):
    run_cmd([DVC, "exp", "run", "-n", "pick-sampling", "-S", "imbalance=sampling"], pipeline)
    shown = json.loads(run_cmd([DVC, "exp", "show", "--json"], pipeline).stdout)
    experiments = [e for rev in shown for e in (rev.get("experiments") or [])]
    (exp,) = [e for e in experiments if e.get("name") == "pick-sampling"]
    data = exp["revs"][0]["data"]
    assert data["params"]["params.yaml"]["data"]["imbalance"] == "sampling"
    metrics = data["metrics"]["reports/metrics.json"]["data"]
    evaluated = json.loads((pipeline / "reports/eval/sampling/metrics.json").read_text())
    assert metrics["strategy"] == "sampling"
    assert metrics["balanced_accuracy"] == evaluated["balanced_accuracy"]
