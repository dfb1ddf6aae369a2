"""Comparison tables and plots built from the evaluation results of each strategy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from imbalanced_cls.metrics import summary_columns


def per_class_table(result: dict, class_names: list[str], train_counts: list[int]) -> pd.DataFrame:
    """One row per class: training count, test support, precision, recall, F1."""
    pc = result["per_class"]
    return pd.DataFrame(
        {
            "class": class_names,
            "train_count": train_counts,
            "test_support": pc["support"],
            "precision": pc["precision"],
            "recall": pc["recall"],
            "f1": pc["f1"],
        }
    )


def comparison_table(results: dict[str, dict], top_k: list[int]) -> pd.DataFrame:
    """One row per strategy with the summary metrics, in the order given."""
    columns = summary_columns(top_k)
    rows = [{"strategy": s, **{c: r[c] for c in columns}} for s, r in results.items()]
    return pd.DataFrame(rows, columns=["strategy", *columns])


def recall_table(results: dict[str, dict], class_names: list[str]) -> pd.DataFrame:
    """Per-class recall: one row per strategy, one column per class."""
    return pd.DataFrame(
        [[s, *r["per_class"]["recall"]] for s, r in results.items()],
        columns=["strategy", *class_names],
    )


def markdown_table(df: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured markdown table; floats rounded to ``digits``."""

    def cell(v: object) -> str:
        return f"{v:.{digits}f}" if isinstance(v, float | np.floating) else str(v)

    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(df.columns))) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(matrix: np.ndarray, class_names: list[str], title: str, ax=None):
    """Row-normalised confusion matrix (rows: true class), with counts in the cells."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    fig = None
    if ax is None:
        size = 1.2 + 0.45 * len(class_names)
        fig, ax = plt.subplots(figsize=(size, size))
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ticks = range(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=90 if len(class_names) > 12 else 0)
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if len(class_names) <= 20:
        for i in ticks:
            for j in ticks:
                color = "white" if rates[i, j] > 0.5 else "black"
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7, color=color)
    if fig is not None:
        fig.tight_layout()
    return fig


def save_confusion_grid(results: dict[str, dict], class_names: list[str], path: Path) -> None:
    """All strategies' confusion matrices side by side in one PNG."""
    plt = _pyplot()
    n = len(results)
    cols = min(n, 3)
    rows = -(-n // cols)
    size = 1.2 + 0.4 * len(class_names)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax, (strategy, r) in zip(axes.flat, results.items(), strict=False):
        plot_confusion(r["confusion_matrix"], class_names, strategy, ax=ax)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_recall_plot(
    recalls: pd.DataFrame, class_names: list[str], train_counts: list[int], path: Path
) -> None:
    """Grouped bars: per-class test recall of each strategy, classes by training count."""
    plt = _pyplot()
    strategies = recalls["strategy"].tolist()
    x = np.arange(len(class_names))
    width = 0.8 / len(strategies)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(class_names) + 2), 4))
    for i, s in enumerate(strategies):
        values = recalls.loc[recalls["strategy"] == s, class_names].to_numpy().ravel()
        ax.bar(x + (i - (len(strategies) - 1) / 2) * width, values, width, label=s)
    labels = [f"{c}\n(n={n})" for c, n in zip(class_names, train_counts, strict=True)]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("test recall")
    ax.set_xlabel("class (training images)")
    ax.set_title("Per-class recall on the balanced test set")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
