"""Evaluate one strategy's model on the balanced test set: ``python -m stages.evaluate sampling``.

Writes ``reports/eval/<strategy>/``: ``metrics.json`` (summary, per-class and confusion
matrix), ``per_class.csv``, ``predictions.npz`` (targets and softmax probabilities) and
``confusion.png``; logs the same to the strategy's MLflow run.
"""

from __future__ import annotations

import json
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
    strategy = cli.strategy_arg(params, __doc__.splitlines()[0], argv)

    import mlflow
    import numpy as np
    import torch

    from imbalanced_cls.metrics import evaluate_probs
    from imbalanced_cls.models import build_model
    from imbalanced_cls.reports import per_class_table, plot_confusion
    from imbalanced_cls.training import predict_logits

    # The MLflow run of the model, checked before any work.
    tracking.start(params.mlflow.experiment)
    try:
        ref = tracking.read_run_ref(MODELS / strategy / "mlflow_run.json")
    except tracking.MissingRunError as exc:
        raise cli.UsageError(str(exc)) from exc

    # Model and test set.
    if params.train.num_threads > 0:
        torch.set_num_threads(params.train.num_threads)
    checkpoint = torch.load(MODELS / strategy / "model.pt", map_location="cpu")
    model = build_model(**checkpoint["model_config"])
    model.load_state_dict(checkpoint["state_dict"])
    manifest = load_manifest(DATA)
    images, targets = load_split(DATA, "test")
    class_names = manifest["class_names"]
    log.info("evaluating %s on %d balanced test images", strategy, len(targets))

    # Logits, probabilities and metrics.
    logits = predict_logits(model, torch.as_tensor(images))  # (N, num_classes)
    probs = torch.softmax(logits, dim=1).numpy()
    train_counts = manifest["class_counts"]["train"]
    result = evaluate_probs(
        targets,
        probs,
        num_classes=len(class_names),
        top_k=params.evaluate.top_k,
        train_counts=train_counts,
    )
    log.info(
        "%s: accuracy %.4f, balanced accuracy %.4f, macro F1 %.4f, min recall %.4f",
        strategy,
        result["accuracy"],
        result["balanced_accuracy"],
        result["macro_f1"],
        result["min_recall"],
    )

    # Files for the comparison stage.
    out = REPORTS / strategy
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps({"strategy": strategy, **result}, indent=2))
    table = per_class_table(result, class_names, train_counts)
    table.to_csv(out / "per_class.csv", index=False)
    np.savez_compressed(out / "predictions.npz", targets=targets, probs=probs)
    fig = plot_confusion(result["confusion_matrix"], class_names, f"{strategy} (test)")
    fig.savefig(out / "confusion.png", dpi=110)

    # The same in the strategy's MLflow run.
    with mlflow.start_run(run_id=ref["run_id"]):
        scalars = {k: v for k, v in result.items() if isinstance(v, float)}
        mlflow.log_metrics({f"test_{k}": v for k, v in scalars.items()})
        recalls = zip(class_names, result["per_class"]["recall"], strict=True)
        mlflow.log_metrics({f"test_recall_class_{name}": r for name, r in recalls})
        mlflow.log_figure(fig, "test/confusion_matrix.png")
        mlflow.log_table(table, "test/per_class.json")
        mlflow.log_artifact(str(out / "metrics.json"), "test")


if __name__ == "__main__":
    cli.run(main)
