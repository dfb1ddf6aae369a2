"""Single-label image classification on imbalanced data: the reusable parts.

- ``config``: the validated view of params.yaml
- ``sources``, ``data``, ``profiles``: dataset readers (digits, CIFAR-10, image folders),
  the balanced held-out splits, imbalance profiles
- ``models``: CNNs that output logits (a small CNN, CIFAR ResNets)
- ``strategies``, ``augment``: loss weights, resampling, base and targeted augmentation
- ``training``: the seeded training loop with validation-based checkpoint selection
- ``metrics``, ``calibration``, ``stats``: per-class evaluation with scikit-learn,
  calibration and post-hoc logit adjustment, bootstrap intervals and class groups
- ``comparison``, ``reports``: strategies compared over seeds, tables and plots
- ``predict``: top-k predictions for new image files
- ``tracking``: MLflow store, experiment, run tags and data inputs
"""
