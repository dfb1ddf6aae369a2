"""Evaluate one model on the balanced test set: ``python -m stages.evaluate plain --seed 0``.

Writes ``reports/eval/<strategy>/seed<seed>/``: ``metrics.json`` (summary, calibration,
group recall, per-class metrics and confusion matrix; with temperature scaling and the
post-hoc logit adjustment where params.yaml asks for them), ``per_class.csv``,
``predictions.npz`` (test targets and logits, validation targets and logits),
``confusion.png`` and ``reliability.png``; logs the same to the model's MLflow run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from imbalanced_cls import cli, tracking
from imbalanced_cls.config import load_params
from imbalanced_cls.data import load_manifest, load_split

log = logging.getLogger("stages.evaluate")

DATA = Path("data/prepared")
MODELS = Path("models")
REPORTS = Path("reports/eval")


def main(argv: list[str] | None = None) -> None:
    params = load_params()
    strategy, seed = cli.model_args(params, __doc__.splitlines()[0], argv)

    import mlflow
    import numpy as np
    import torch

    from imbalanced_cls.calibration import (
        expected_calibration_error,
        fit_temperature,
        logit_adjust,
        nll_from_logits,
        reliability_bins,
    )
    from imbalanced_cls.metrics import evaluate_logits, softmax
    from imbalanced_cls.models import build_model
    from imbalanced_cls.reports import (
        dump_json,
        per_class_table,
        plot_confusion,
        plot_reliability,
    )
    from imbalanced_cls.training import predict_logits

    # The MLflow run of the model, checked before any work.
    model_dir = MODELS / cli.model_dir(strategy, seed)
    tracking.start(params.mlflow.experiment)
    try:
        ref = tracking.read_run_ref(model_dir / "mlflow_run.json")
    except tracking.MissingRunError as exc:
        raise cli.UsageError(str(exc)) from exc

    # Model, test and validation sets.
    if params.train.num_threads > 0:
        torch.set_num_threads(params.train.num_threads)
    checkpoint = torch.load(model_dir / "model.pt", map_location="cpu")
    model = build_model(**checkpoint["model_config"])
    model.load_state_dict(checkpoint["state_dict"])
    manifest = load_manifest(DATA)
    images, targets = load_split(DATA, "test")
    val_images, val_targets = load_split(DATA, "val")
    class_names = manifest["class_names"]
    train_counts = manifest["class_counts"]["train"]
    log.info("evaluating %s seed %d on %d balanced test images", strategy, seed, len(targets))

    # Logits and metrics; the calibration after temperature scaling fitted on validation.
    e = params.evaluate
    options = {
        "top_k": e.top_k,
        "train_counts": train_counts,
        "ece_bins": e.ece_bins,
        "many_above": e.groups.many_above,
        "few_below": e.groups.few_below,
    }
    logits = predict_logits(model, torch.as_tensor(images)).double().numpy()  # (N, C)
    val_logits = np.zeros((0, logits.shape[1]))
    if len(val_targets):
        val_logits = predict_logits(model, torch.as_tensor(val_images)).double().numpy()
    result = evaluate_logits(targets, logits, **options)
    if e.temperature_scaling:
        # Scaling keeps the argmax: only the calibration changes.
        temperature = fit_temperature(val_logits, val_targets)
        scaled = softmax(logits / temperature)
        result["temperature"] = temperature
        result["ece_ts"] = expected_calibration_error(scaled, targets, e.ece_bins)
        result["nll_ts"] = nll_from_logits(logits / temperature, targets)
    if strategy in e.logit_adjust.strategies:
        adjusted = logit_adjust(logits, train_counts, e.logit_adjust.tau)
        result["logit_adjusted"] = evaluate_logits(targets, adjusted, **options)
    log.info(
        "%s seed %d: accuracy %.4f, balanced accuracy %.4f, min recall %.4f, ECE %.4f%s",
        strategy,
        seed,
        result["accuracy"],
        result["balanced_accuracy"],
        result["min_recall"],
        result["ece"],
        (
            f"; with logit adjustment (tau {e.logit_adjust.tau:g}) balanced accuracy "
            f"{result['logit_adjusted']['balanced_accuracy']:.4f}"
            if "logit_adjusted" in result
            else ""
        ),
    )

    # Files for the comparison stage.
    out = REPORTS / cli.model_dir(strategy, seed)
    out.mkdir(parents=True, exist_ok=True)
    dump_json(out / "metrics.json", {"strategy": strategy, "seed": seed, **result})
    table = per_class_table(result, class_names, train_counts)
    table.to_csv(out / "per_class.csv", index=False)
    np.savez_compressed(
        out / "predictions.npz",
        targets=targets,
        logits=logits,
        val_targets=val_targets,
        val_logits=val_logits,
    )
    title = f"{strategy}, seed {seed} (test)"
    confusion = plot_confusion(result["confusion_matrix"], class_names, title)
    confusion.savefig(out / "confusion.png", dpi=110)
    bins = reliability_bins(softmax(logits), targets, e.ece_bins)
    reliability = plot_reliability(bins, title)
    reliability.savefig(out / "reliability.png", dpi=110)

    # The same in the model's MLflow run.
    with mlflow.start_run(run_id=ref["run_id"]):
        mlflow.log_metrics(tracking.test_metrics(result, class_names, "test_"))
        if "logit_adjusted" in result:
            mlflow.log_metrics(
                tracking.test_metrics(result["logit_adjusted"], class_names, "test_la_")
            )
        mlflow.log_figure(confusion, "test/confusion_matrix.png")
        mlflow.log_figure(reliability, "test/reliability.png")
        mlflow.log_table(table, "test/per_class.json")
        mlflow.log_artifact(str(out / "metrics.json"), "test")


if __name__ == "__main__":
    cli.run(main)
