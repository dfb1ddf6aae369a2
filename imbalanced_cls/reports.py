"""Comparison tables and plots built from the evaluation results of each strategy."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd


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


def dump_json(path: Path, obj: object) -> None:
    """Write ``obj`` as indented JSON, with NaN (an undefined metric) written as null."""
    path.write_text(json.dumps(_without_nan(obj), indent=2) + "\n")


def _without_nan(obj: object) -> object:
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _without_nan(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_without_nan(v) for v in obj]
    return obj


def interval_cell(row: pd.Series, metric: str, digits: int = 3) -> str:
    """``mean ± sd [low, high]`` for a metric of a comparison row; sd omitted for one seed."""
    mean = row[metric]
    if pd.isna(mean):
        return "n/a"
    text = f"{mean:.{digits}f}"
    if not pd.isna(row.get(f"{metric}_sd", math.nan)):
        text += f" ± {row[f'{metric}_sd']:.{digits}f}"
    if f"{metric}_ci_low" in row:
        text += f" [{row[f'{metric}_ci_low']:.{digits}f}, {row[f'{metric}_ci_high']:.{digits}f}]"
    return text


def diff_cell(row: pd.Series, metric: str, digits: int = 3) -> str:
    """The paired difference to the reference with its interval; ``*`` if it excludes 0."""
    if f"{metric}_diff" not in row or pd.isna(row[f"{metric}_diff"]):
        return ""
    low, high = row[f"{metric}_diff_ci_low"], row[f"{metric}_diff_ci_high"]
    mark = " *" if row[f"{metric}_diff_significant"] else ""
    return f"{row[f'{metric}_diff']:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]{mark}"


def markdown_table(df: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub-flavoured markdown table; floats rounded to ``digits``."""

    def cell(v: object) -> str:
        if isinstance(v, float | np.floating):
            return "n/a" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)

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


def save_confusion_grid(
    matrices: dict[str, np.ndarray], class_names: list[str], path: Path
) -> None:
    """All strategies' confusion matrices (seeds summed) side by side in one PNG."""
    plt = _pyplot()
    n = len(matrices)
    cols = min(n, 3)
    rows = -(-n // cols)
    size = 1.2 + 0.4 * len(class_names)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax, (strategy, matrix) in zip(axes.flat, matrices.items(), strict=False):
        plot_confusion(matrix, class_names, strategy, ax=ax)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_recall_plot(
    recalls: pd.DataFrame, class_names: list[str], train_counts: list[int], path: Path
) -> None:
    """Grouped bars of per-class test recall, mean over seeds with sd error bars."""
    plt = _pyplot()
    means = recalls[recalls["statistic"] == "mean"].set_index("strategy")
    sds = recalls[recalls["statistic"] == "sd"].set_index("strategy")
    strategies = means.index.tolist()
    x = np.arange(len(class_names))
    width = 0.8 / len(strategies)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(class_names) + 2), 4))
    for i, s in enumerate(strategies):
        errors = np.nan_to_num(sds.loc[s, class_names].to_numpy(dtype=float))
        ax.bar(
            x + (i - (len(strategies) - 1) / 2) * width,
            means.loc[s, class_names].to_numpy(dtype=float),
            width,
            yerr=errors,
            error_kw={"elinewidth": 0.6, "capsize": 1.5},
            label=s,
        )
    labels = [f"{c}\n(n={n})" for c, n in zip(class_names, train_counts, strict=True)]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("test recall (mean ± sd over seeds)")
    ax.set_xlabel("class (training images)")
    ax.set_title("Per-class recall on the balanced test set")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_reliability(bins: dict[str, np.ndarray], title: str, ax=None):
    """Reliability diagram: accuracy per confidence bin against the diagonal, with counts."""
    plt = _pyplot()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 4))
    centres = (bins["lower"] + bins["upper"]) / 2
    widths = bins["upper"] - bins["lower"]
    filled = bins["count"] > 0
    ax.bar(
        centres[filled],
        bins["accuracy"][filled],
        widths[filled],
        edgecolor="black",
        linewidth=0.5,
        label="accuracy",
    )
    gap = bins["confidence"][filled] - bins["accuracy"][filled]
    ax.bar(
        centres[filled],
        gap,
        widths[filled],
        bottom=bins["accuracy"][filled],
        color="tab:red",
        alpha=0.3,
        label="gap to confidence",
    )
    ax.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")
    if fig is not None:
        fig.tight_layout()
    return fig


def save_reliability_grid(bins_by_row: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    """Every strategy's reliability diagram, predictions of all seeds pooled, in one PNG."""
    plt = _pyplot()
    n = len(bins_by_row)
    cols = min(n, 3)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.6 * rows), squeeze=False)
    for ax, (name, bins) in zip(axes.flat, bins_by_row.items(), strict=False):
        plot_reliability(bins, name, ax=ax)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
