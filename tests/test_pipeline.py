"""The real pipeline: `dvc repro`, `dvc exp run`, the reports and the MLflow store.

All tests share one shrunken project (see ``conftest.SMALL``: five strategies, two
seeds) on which `dvc repro` ran once; the tests that change it put it back. The
experiment test runs last.
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
SEEDS = SMALL["seeds"]
ROWS = [*STRATEGIES, "plain+la", "majority_baseline"]


def snapshot(project: Path) -> dict[str, bytes]:
    """Contents of every report and model file."""
    files = [*sorted((project / "reports").rglob("*")), *sorted((project / "models").rglob("*"))]
    return {str(f.relative_to(project)): f.read_bytes() for f in files if f.is_file()}


def mlflow_client(project: Path):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")


def test_repro_writes_the_comparison_of_every_strategy_and_the_baseline(pipeline):
    table = pd.read_csv(pipeline / "reports" / "comparison.csv").set_index("strategy")
    assert table.index.tolist() == ROWS
    assert (table.loc[STRATEGIES, "seeds"] == len(SEEDS)).all()
    for column in ("accuracy", "balanced_accuracy", "macro_f1", "min_recall", "top3_accuracy"):
        assert table[column].between(0, 1).all()
        low, high = table[f"{column}_ci_low"], table[f"{column}_ci_high"]
        assert (low <= high).all() and table.loc[STRATEGIES, f"{column}_sd"].notna().all()
    for column in ("ece", "nll", "ece_ts", "nll_ts", "temperature", "many_recall", "few_recall"):
        assert table.loc[STRATEGIES, column].notna().all(), column
    assert table.loc["plain", "balanced_accuracy_diff"] == 0
    assert table.loc[STRATEGIES, "balanced_accuracy_diff_ci_low"].notna().all()
    baseline = table.loc["majority_baseline"]
    assert baseline["min_recall"] == 0 and baseline["accuracy"] == pytest.approx(0.1)
    assert baseline["train_prior_accuracy"] > baseline["accuracy"]

    # The seed mean is the mean of the per-seed evaluations.
    per_seed = [
        json.loads((pipeline / f"reports/eval/weighted/seed{s}/metrics.json").read_text())
        for s in SEEDS
    ]
    assert table.loc["weighted", "balanced_accuracy"] == pytest.approx(
        sum(r["balanced_accuracy"] for r in per_seed) / len(SEEDS)
    )
    adjusted = [
        r["logit_adjusted"]["balanced_accuracy"]
        for r in [
            json.loads((pipeline / f"reports/eval/plain/seed{s}/metrics.json").read_text())
            for s in SEEDS
        ]
    ]
    assert table.loc["plain+la", "balanced_accuracy"] == pytest.approx(sum(adjusted) / 2)

    recalls = pd.read_csv(pipeline / "reports" / "per_class_recall.csv")
    assert recalls.columns.tolist() == ["strategy", "statistic", *map(str, range(10))]
    markdown = (pipeline / "reports" / "comparison.md").read_text()
    assert "| majority_baseline |" in markdown and "per_class_recall.png" in markdown
    assert " ± " in markdown and "vs plain" in markdown and "reliability.png" in markdown
    for plot in ("per_class_recall.png", "confusion_matrices.png", "reliability.png"):
        assert (pipeline / "reports" / "plots" / plot).read_bytes()[:4] == b"\x89PNG"
    for strategy in STRATEGIES:
        for seed in SEEDS:
            folder = pipeline / "reports" / "eval" / strategy / f"seed{seed}"
            assert (folder / "reliability.png").is_file() and (
                folder / "predictions.npz"
            ).is_file()

    metrics = json.loads((pipeline / "reports" / "metrics.json").read_text())
    assert metrics["strategy"] == "combined" and metrics["seeds"] == len(SEEDS)
    assert metrics["balanced_accuracy"] == pytest.approx(
        table.loc["combined", "balanced_accuracy"]
    )
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
    expected |= {"reports/plots/reliability.png"}
    assert expected <= set(plots)
    assert all(p[0]["type"] == "image" for p in plots.values())
    # Image plots become <img> tags on local files: no script, nothing fetched.
    run_cmd([DVC, "plots", "show", "-o", str(tmp_path / "html")], pipeline)
    html = (tmp_path / "html" / "index.html").read_text()
    assert html.count("<img") == 3 and "http" not in html and "<script" not in html


def test_mlflow_holds_one_complete_run_per_model_and_a_summary(pipeline):
    client = mlflow_client(pipeline)
    experiment = client.get_experiment_by_name(SMALL["mlflow"]["experiment"])
    assert experiment.artifact_location == (pipeline / "mlartifacts").as_uri()
    every = client.search_runs([experiment.experiment_id])
    runs = [r for r in every if r.data.tags.get("kind") != "comparison"]
    assert sorted((r.data.tags["strategy"], r.data.tags["seed"]) for r in runs) == sorted(
        (s, str(seed)) for s in STRATEGIES for seed in SEEDS
    )
    models = client.search_logged_models(experiment_ids=[experiment.experiment_id])
    manifest = json.loads((pipeline / "data/prepared/manifest.json").read_text())
    for run in runs:
        strategy, seed = run.data.tags["strategy"], run.data.tags["seed"]
        assert run.info.status == "FINISHED"
        assert len(run.data.tags["git_commit"]) == 40
        assert run.data.params["train.epochs"] == "2" and run.data.params["strategy"] == strategy
        history = client.get_metric_history(run.info.run_id, "val_balanced_accuracy")
        assert [m.step for m in history] == [1, 2]
        evaluated = json.loads(
            (pipeline / f"reports/eval/{strategy}/seed{seed}/metrics.json").read_text()
        )
        for name in ("balanced_accuracy", "ece", "nll", "ece_ts", "few_recall", "many_recall"):
            assert run.data.metrics[f"test_{name}"] == pytest.approx(evaluated[name])
        assert "test_recall_class_9" in run.data.metrics
        assert ("test_la_balanced_accuracy" in run.data.metrics) == (strategy == "plain")
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "test")}
        assert {"test/confusion_matrix.png", "test/reliability.png"} <= artifacts

        # The data the model saw: one input per split, digest and counts from the manifest.
        inputs = {_context(i): i for i in run.inputs.dataset_inputs}
        assert set(inputs) == {"train", "val", "test"}
        train = inputs["train"]
        assert train.dataset.digest == manifest["sha256"]["train"][:16]
        tags = {t.key: t.value for t in train.tags}
        assert json.loads(tags["class_counts"]) == manifest["class_counts"]["train"]
        assert tags["sha256"] == manifest["sha256"]["train"]

        (model,) = [m for m in models if m.source_run_id == run.info.run_id]
        assert Path(
            model.artifact_location.removeprefix("file://"), "input_example.json"
        ).is_file()

    # The comparison's summary run carries the reports and plots.
    (summary,) = client.search_runs([experiment.experiment_id], "tags.kind = 'comparison'")
    names = {a.path for a in client.list_artifacts(summary.info.run_id)}
    assert {"comparison.md", "comparison.csv", "plots"} <= names
    assert "plain_la.balanced_accuracy" in summary.data.metrics


def _context(dataset_input) -> str:
    return {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"]


def test_the_logged_model_loads_and_outputs_logits(pipeline):
    import mlflow
    import numpy as np
    import torch

    client = mlflow_client(pipeline)
    mlflow.set_tracking_uri(client.tracking_uri)
    ref = json.loads((pipeline / "models/plain/seed0/mlflow_run.json").read_text())
    loaded = mlflow.pytorch.load_model(f"runs:/{ref['run_id']}/model")
    logits = loaded(torch.zeros(2, 1, 8, 8))
    assert logits.shape == (2, 10) and not np.allclose(logits.sum(1).detach().numpy(), 1)
    info = mlflow.models.get_model_info(f"runs:/{ref['run_id']}/model")
    assert info.metadata["class_names"] == [str(c) for c in range(10)]


def test_training_is_reproducible_through_dvc(pipeline):
    before = (pipeline / "reports/eval/weighted/seed1/metrics.json").read_text()
    run_cmd([DVC, "repro", "--force", "--single-item", "train@weighted-1"], pipeline)
    run_cmd([DVC, "repro", "--single-item", "evaluate@weighted-1"], pipeline)
    assert (pipeline / "reports/eval/weighted/seed1/metrics.json").read_text() == before


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


def test_an_unknown_strategy_or_seed_argument_is_refused(pipeline):
    train = [str(BIN / "python"), "-m", "stages.train"]
    proc = run_cmd([*train, "focal", "--seed", "0"], pipeline, check=False)
    assert proc.returncode == 2
    assert "strategy 'focal' is not in params.yaml 'strategies'" in proc.stderr
    proc = run_cmd([*train, "plain", "--seed", "7"], pipeline, check=False)
    assert proc.returncode == 2 and "seed 7 is not in params.yaml 'seeds' (0, 1)" in proc.stderr


def test_temp_experiment_logs_to_the_store_at_the_project_root(pipeline):
    overrides = ["-S", "train.epochs=1", "-S", "train.warmup_epochs=0"]
    run_cmd(
        [DVC, "exp", "run", "--temp", "-n", "short-plain", *overrides, "train@plain-0"],
        pipeline,
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
    table = pd.read_csv(pipeline / "reports" / "comparison.csv").set_index("strategy")
    assert metrics["strategy"] == "sampling"
    assert metrics["balanced_accuracy"] == pytest.approx(
        table.loc["sampling", "balanced_accuracy"]
    )
