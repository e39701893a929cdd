"""Plots for run folders (matplotlib, Agg backend: no screen needed). Each function writes one PNG."""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no screen needed)."""
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> None:
    """Write ``fig`` as a PNG atomically (temporary file + rename) and close it."""
    import io
    from .fileio import atomic_write_bytes
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    pyplot().close(fig)


def plot_history(history, path: str | os.PathLike, title: str = "") -> None:
    """Loss (left) and each metric (right), train and validation, per epoch."""
    plt = pyplot()
    h = history.history
    metrics = [k for k in h if not k.startswith("val_") and k not in ("loss", "lr", "time")]
    ncols = 1 + (1 if metrics else 0)
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 3.8), squeeze=False)
    ax = axes[0, 0]
    ax.plot(history.epochs, h["loss"], label="train")
    if "val_loss" in h:
        ax.plot(history.epochs, h["val_loss"], label="validation")
    ax.set_xlabel("epoch"); ax.set_ylabel("loss"); ax.set_yscale("log"); ax.legend(); ax.grid(alpha=.3)
    ax.set_title(f"{title} loss".strip())
    if metrics:
        ax = axes[0, 1]
        for m in metrics:
            ax.plot(history.epochs, h[m], label=f"train {m}")
            if f"val_{m}" in h:
                ax.plot(history.epochs, h[f"val_{m}"], "--", label=f"validation {m}")
        ax.set_xlabel("epoch"); ax.legend(); ax.grid(alpha=.3); ax.set_title("metrics")
    save_figure(fig, path)


def plot_series(path, series: dict[str, np.ndarray], title: str, xlabel: str = "step", ylabel: str = "") -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 3.8))
    for name, values in series.items():
        ax.plot(values, label=name, lw=1.2)
    ax.set_title(title); ax.set_xlabel(xlabel); ax.set_ylabel(ylabel); ax.legend(); ax.grid(alpha=.3)
    save_figure(fig, path)


def plot_independent(path, target: np.ndarray, pred: np.ndarray, title: str, shown: int = 60,
                     inputs: dict[str, np.ndarray] | None = None, xlabel: str = "test sequence") -> None:
    """Predictions of *independent* test sequences (one value each): never joined into a line.

    Left: the first ``shown`` sequences, target (circle) and prediction (cross) of each joined by
    a vertical error segment, any ``inputs`` as dots. Right: prediction against target for every
    test sequence, with the line of perfect prediction.
    """
    plt = pyplot()
    target, pred = np.asarray(target).ravel(), np.asarray(pred).ravel()
    k = min(shown, len(target))
    idx = np.arange(k)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [2.2, 1]})
    ax.vlines(idx, target[:k], pred[:k], color="tab:red", lw=1.0, alpha=.7, label="error")
    ax.plot(idx, target[:k], "o", ms=4, color="tab:blue", label="target", ls="none")
    ax.plot(idx, pred[:k], "x", ms=5, color="tab:orange", label="prediction", ls="none")
    for name, values in (inputs or {}).items():
        ax.plot(idx, np.asarray(values).ravel()[:k], ".", ms=3, color="gray", alpha=.6, label=name, ls="none")
    ax.set_title(f"first {k} of {len(target)} (each its own sequence)"); ax.set_xlabel(xlabel)
    ax.legend(fontsize=8, ncol=4); ax.grid(alpha=.3)
    lo, hi = float(min(target.min(), pred.min())), float(max(target.max(), pred.max()))
    ax2.plot(target, pred, ".", ms=2, alpha=.5, ls="none")
    ax2.plot([lo, hi], [lo, hi], color="gray", lw=1, ls="--", label="perfect")
    ax2.set_xlabel("target"); ax2.set_ylabel("prediction"); ax2.set_title(f"all {len(target)}")
    ax2.legend(fontsize=8); ax2.grid(alpha=.3)
    fig.suptitle(title)
    save_figure(fig, path)


def plot_confusion(path, matrix: np.ndarray, class_names: Sequence[str], title: str = "confusion matrix") -> None:
    plt = pyplot()
    k = len(class_names)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 0.8 + 0.55 * k))
    ax.imshow(matrix, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=8,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set_xticks(range(k), class_names, rotation=45, ha="right"); ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted"); ax.set_ylabel("true"); ax.set_title(title)
    save_figure(fig, path)


def plot_lines(path, x, ys: dict[str, np.ndarray], title: str, xlabel: str, ylabel: str,
               logy: bool = False, chance: float | None = None) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, y in ys.items():
        ax.plot(x, y, "o-", label=name)
    if chance is not None:
        ax.axhline(chance, color="gray", ls=":", label="chance")
    if logy:
        ax.set_yscale("log")
    ax.set_title(title); ax.set_xlabel(xlabel); ax.set_ylabel(ylabel); ax.legend(); ax.grid(alpha=.3)
    save_figure(fig, path)
