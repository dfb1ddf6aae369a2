"""MLflow tracking: where the store is, which experiment, and the tags that tie runs together.

By default runs go to ``mlflow.db`` (SQLite) and artifacts to ``mlartifacts/`` at the
project root, also when DVC runs a queued or ``--temp`` experiment in a temporary copy
under ``.dvc/tmp/exps``: the root is resolved from that path, not taken from the working
directory. ``MLFLOW_TRACKING_URI`` overrides the store (a remote server, say).
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

EXPERIMENT_TEMP_DIR = (".dvc", "tmp", "exps")


class MissingRunError(LookupError):
    """A model's recorded MLflow run is not in the store now in use."""


def project_root(start: Path | None = None) -> Path:
    """The project root, seen through any DVC temporary experiment copy.

    DVC runs queued and ``--temp`` experiments in ``<root>/.dvc/tmp/exps/<...>``; that
    copy is deleted afterwards, so the tracking store must live in ``<root>``.
    """
    here = Path(start or os.environ.get("DVC_ROOT") or Path.cwd()).resolve()
    parts = here.parts
    n = len(EXPERIMENT_TEMP_DIR)
    for i in range(len(parts) - n + 1):
        if parts[i : i + n] == EXPERIMENT_TEMP_DIR:
            return Path(*parts[:i])
    return here


def tracking_uri(root: Path) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else the SQLite file ``mlflow.db`` at ``root``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{root / 'mlflow.db'}"


def start_store(root: Path | None = None) -> str:
    """Point MLflow at the project's store (or ``MLFLOW_TRACKING_URI``); return its URI."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    uri = tracking_uri(root or project_root())
    mlflow.set_tracking_uri(uri)
    return uri


def start(experiment: str, root: Path | None = None) -> str:
    """Point MLflow at the store and experiment; return the experiment id."""
    root = root or project_root()
    local = "MLFLOW_TRACKING_URI" not in os.environ  # set_tracking_uri sets it
    uri = start_store(root)
    import mlflow

    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        experiment_id = found.experiment_id
    else:
        # Local store: keep artifacts beside it, not wherever the stage happens to run.
        location = (root / "mlartifacts").as_uri() if local else None
        experiment_id = mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment_id=experiment_id)
    log.info("MLflow experiment %r (id %s) at %s", experiment, experiment_id, uri)
    return experiment_id


def run_tags(strategy: str) -> dict[str, str]:
    """Tags that find a run again: strategy, git commit, DVC experiment name and baseline."""
    tags = {"strategy": strategy}
    commit = _git_commit()
    if commit:
        tags["git_commit"] = commit
        tags["mlflow.source.git.commit"] = commit
    for env, tag in (("DVC_EXP_NAME", "dvc_exp_name"), ("DVC_EXP_BASELINE_REV", "dvc_baseline")):
        if os.environ.get(env):
            tags[tag] = os.environ[env]
    return tags


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested params as MLflow params: ``{"train": {"lr": 0.1}}`` -> ``{"train.lr": 0.1}``."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat


def test_metrics(result: dict, class_names: list[str], prefix: str) -> dict[str, float]:
    """The finite scalar metrics of an evaluation and the per-class recalls, for MLflow."""
    metrics = {
        f"{prefix}{k}": v for k, v in result.items() if isinstance(v, float) and math.isfinite(v)
    }
    for name, recall in zip(class_names, result["per_class"]["recall"], strict=True):
        metrics[f"{prefix}recall_class_{name}"] = recall
    return metrics


def log_data_inputs(data_dir: Path, manifest: dict) -> None:
    """Record in the active run which prepared data it saw: one dataset input per split.

    Each input's digest is the start of the split file's sha256 (the whole sum is a tag),
    and its tags hold the per-class counts, so a run can be traced to the exact bytes.
    """
    import mlflow
    from mlflow.data.dataset_source_registry import get_registered_sources
    from mlflow.data.meta_dataset import MetaDataset

    # MLflow registers its local-file source class twice, so resolving a path by URI warns.
    local = next(s for s in get_registered_sources() if s._get_source_type() == "local")
    for split, sha256 in manifest["sha256"].items():
        path = (Path(data_dir) / f"{split}.npz").resolve()
        counts = manifest["class_counts"][split]
        dataset = MetaDataset(
            local(path.as_uri()),
            name=f"{manifest['dataset']}-{split}",
            digest=sha256[:16],
        )
        tags = {
            "sha256": sha256,
            "images": str(sum(counts)),
            "class_counts": json.dumps(counts)[:MAX_TAG_LENGTH],
        }
        mlflow.log_input(dataset, context=split, tags=tags)


MAX_TAG_LENGTH = 5000


def log_comparison(experiment: str, table, reports_dir: Path) -> str:
    """A summary run of the experiment holding the comparison reports, plots and metrics.

    One per run of the compare stage, tagged like the model runs, so the MLflow UI shows
    the comparison of a DVC experiment beside the runs of its models.
    """
    import mlflow

    start(experiment)
    tags = {**run_tags("comparison"), "kind": "comparison"}
    with mlflow.start_run(run_name="comparison", tags=tags) as run:
        for _, row in table.iterrows():
            name = str(row["strategy"]).replace("+", "_")
            mlflow.log_metrics(
                {
                    f"{name}.{k}": float(v)
                    for k, v in row.items()
                    if isinstance(v, float) and math.isfinite(v)
                }
            )
        for name in ("comparison.md", "comparison.csv", "per_class_recall.csv", "metrics.json"):
            mlflow.log_artifact(str(Path(reports_dir) / name))
        mlflow.log_artifacts(str(Path(reports_dir) / "plots"), "plots")
    return run.info.run_id


def write_run_ref(path: Path, run_id: str, experiment_id: str) -> None:
    """Record which MLflow run holds a model, so the evaluate stage logs to the same run."""
    ref = {
        "run_id": run_id,
        "experiment_id": experiment_id,
        "tracking_uri": tracking_uri(project_root()),
    }
    path.write_text(json.dumps(ref, indent=2) + "\n")


def read_run_ref(path: Path) -> dict[str, str]:
    """The run recorded by :func:`write_run_ref`, checked to exist in the current store."""
    import mlflow
    from mlflow.exceptions import MlflowException

    ref = json.loads(Path(path).read_text())
    try:
        mlflow.MlflowClient().get_run(ref["run_id"])
    except MlflowException as exc:
        raise MissingRunError(
            f"MLflow run {ref['run_id']} named in {path} is not in the store at "
            f"{mlflow.get_tracking_uri()} (it was logged to {ref['tracking_uri']}); point "
            "MLFLOW_TRACKING_URI there or retrain with `dvc repro --force train@<strategy>`"
        ) from exc
    return ref
