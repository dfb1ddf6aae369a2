"""Train one strategy's model for one seed: ``python -m stages.train sampling --seed 0``.

Reads ``data/prepared``; writes ``models/<strategy>/seed<seed>/model.pt`` (the checkpoint
chosen on the validation set), ``history.json`` (per-epoch losses and validation metrics)
and ``mlflow_run.json`` (the MLflow run holding params, data inputs, curves and the model).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from importlib.metadata import version
from pathlib import Path

from imbalanced_cls import cli, tracking
from imbalanced_cls.config import load_params
from imbalanced_cls.data import load_manifest, load_split

log = logging.getLogger("stages.train")

DATA = Path("data/prepared")
MODELS = Path("models")


def main(argv: list[str] | None = None) -> None:
    params = load_params()
    strategy, seed = cli.model_args(params, __doc__.splitlines()[0], argv)

    import mlflow
    import numpy as np
    import torch

    from imbalanced_cls.augment import BaseAugment, TargetedAugment, class_strengths
    from imbalanced_cls.models import build_model, model_config
    from imbalanced_cls.strategies import plan_strategy
    from imbalanced_cls.training import resolve_device, seed_everything, train_model

    # The device first: asking for a GPU that is not there is a params mistake.
    device = resolve_device(params.train.device)

    # Data and the strategy's plan.
    manifest = load_manifest(DATA)
    train_data, val_data = load_split(DATA, "train"), load_split(DATA, "val")
    counts = manifest["class_counts"]["train"]
    plan = plan_strategy(strategy, counts, params)
    base_augment = BaseAugment.for_images(params.base_augmentation, manifest["image_shape"][0])
    augment = None
    if plan.augment:
        strengths = class_strengths(counts, params.augmentation.min_strength)
        augment = TargetedAugment(strengths, params.augmentation)
    log.info(
        "training %s, seed %d: %s on %d classes, %d images, minority share %.1f%%; %s; "
        "base augmentation %s",
        strategy,
        seed,
        params.model.name,
        len(counts),
        sum(counts),
        100 * min(counts) / sum(counts),
        plan.describe(),
        "crop and flip" if base_augment else "off",
    )

    # Model on the chosen device, seeded.
    seed_everything(seed, params.train.num_threads)
    config = model_config(params.model, manifest)
    model = build_model(**config).to(device)

    # Train inside an MLflow run; the curves are logged as they come.
    experiment_id = tracking.start(params.mlflow.experiment)
    out = MODELS / cli.model_dir(strategy, seed)
    out.mkdir(parents=True, exist_ok=True)
    tags = {**tracking.run_tags(strategy), "seed": str(seed)}
    with mlflow.start_run(run_name=f"{strategy}-seed{seed}", tags=tags) as run:
        mlflow.log_params(tracking.flatten(params.raw))
        tracking.log_data_inputs(DATA, manifest)
        mlflow.log_params(
            {
                "strategy": strategy,
                "seed": seed,
                "device": str(device),
                "data.train_class_counts": json.dumps(counts),
                "strategy.loss_weights": json.dumps(
                    None if plan.loss_weights is None else np.round(plan.loss_weights, 4).tolist()
                ),
                "strategy.sampler_power": plan.sampler_power,
                "model.parameters": sum(p.numel() for p in model.parameters()),
            }
        )
        result = train_model(
            model,
            train_data,
            val_data,
            counts,
            plan,
            params.train,
            seed=seed,
            base_augment=base_augment,
            augment=augment,
            on_epoch=lambda s: mlflow.log_metrics(
                {k: v for k, v in _finite(dataclasses.asdict(s)).items() if k != "epoch"},
                step=s.epoch,
            ),
        )
        mlflow.log_metric("best_epoch", result.best_epoch)

        # Save the checkpoint, the history and the model in MLflow.
        checkpoint = {
            "state_dict": model.state_dict(),
            "model_config": config,
            "class_names": manifest["class_names"],
            "class_counts": counts,
            "image_shape": manifest["image_shape"],
            "image_size": params.data.image_size,
            "strategy": strategy,
            "seed": seed,
            "best_epoch": result.best_epoch,
        }
        torch.save(checkpoint, out / "model.pt")
        history = [_finite(dataclasses.asdict(s)) for s in result.history]
        (out / "history.json").write_text(json.dumps(history, indent=2) + "\n")
        model.cpu().eval()
        example = np.asarray(val_data[0][:2], dtype=np.float32) / 255
        mlflow.pytorch.log_model(
            model,
            name="model",
            input_example=example,
            pip_requirements=[f"torch=={version('torch')}", f"numpy=={version('numpy')}"],
            code_paths=[str(Path(__file__).resolve().parents[1] / "imbalanced_cls")],
            metadata={
                "class_names": manifest["class_names"],
                "class_counts": counts,
                "image_shape": manifest["image_shape"],
                "image_size": params.data.image_size,
                "input": "float32 images (N, C, H, W) in [0, 1]; output: logits",
            },
        )
        tracking.write_run_ref(out / "mlflow_run.json", run.info.run_id, experiment_id)
    log.info("saved %s (best epoch %d)", out / "model.pt", result.best_epoch)


def _finite(values: dict) -> dict:
    """The entries that are numbers: no NaN (an epoch without validation) in JSON or MLflow."""
    return {k: v for k, v in values.items() if not (isinstance(v, float) and math.isnan(v))}


if __name__ == "__main__":
    cli.run(main)
