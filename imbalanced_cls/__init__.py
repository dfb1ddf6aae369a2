"""Single-label image classification on imbalanced data: the reusable parts.

- ``config``: the validated view of params.yaml
- ``data``, ``profiles``: datasets, the balanced held-out splits, imbalance profiles
- ``models``: CNNs that output logits
- ``strategies``, ``augment``: loss weights, resampling, targeted augmentation
- ``training``: the seeded training loop with validation-based checkpoint selection
- ``metrics``, ``reports``: per-class evaluation with scikit-learn, comparison reports
- ``tracking``: MLflow store, experiment and run tags
"""
