"""The misclassified test digits."""
from __future__ import annotations

import numpy as np


def plot_errors(path, x_test: np.ndarray, y_test: np.ndarray, pred: np.ndarray, k: int = 24) -> None:
    """The first ``k`` misclassified test digits, titled 'true→predicted'."""
    from ...viz import pyplot, save_figure
    plt = pyplot()
    wrong = np.flatnonzero(pred != y_test)[:k]
    cols = 8
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.25), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong):
        ax.imshow(x_test[i], cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{y_test[i]}→{pred[i]}", fontsize=9)
    fig.suptitle(f"misclassified test digits (first {len(wrong)} of {int(np.sum(pred != y_test))}): true→predicted",
                 fontsize=10)
    save_figure(fig, path)
