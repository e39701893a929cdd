"""The sentiment run's picture and text report: the verdict word by word, and the test snippets the
classifier got wrong."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ...viz import pyplot, save_figure


@dataclass
class Verdict:
    """One text read prefix by prefix: its words and p(positive) after each."""
    title: str
    words: list[str]
    probs: np.ndarray


def plot_verdicts(path: str | os.PathLike, verdicts: list[Verdict], note: str = "") -> None:
    """One panel per text: p(positive) after each word, above 0.5 green, below red, words on the axis."""
    plt = pyplot()
    fig, axes = plt.subplots(len(verdicts), 1, figsize=(11, 3.3 * len(verdicts)), squeeze=False)
    for ax, v in zip(axes[:, 0], verdicts):
        t = np.arange(len(v.words))
        p = np.asarray(v.probs)
        ax.axhline(0.5, color="gray", lw=0.8, ls=":")
        ax.bar(t, p - 0.5, bottom=0.5, width=1.0, alpha=0.3,
               color=np.where(p >= 0.5, "tab:green", "tab:red"))          # above 0.5: leaning positive
        ax.step(t, p, where="mid", color="black", lw=1.2)
        ax.plot(t, p, "o", ms=3.5, color="black")
        ax.set_xticks(t, v.words, rotation=60, ha="right", fontsize=8)
        ax.set_xlim(-0.5, len(v.words) - 0.5)
        ax.set_ylim(0, 1)
        ax.set_ylabel("p(positive)")
        ax.set_title(v.title, fontsize=9, loc="left")
        ax.grid(alpha=0.3, axis="y")
    if note:
        fig.text(0.01, -0.01, note, fontsize=8, va="top", wrap=True)
    fig.tight_layout()
    save_figure(fig, path)


def misclassified_report(texts: list[str], probs: np.ndarray, labels: np.ndarray, ratings: np.ndarray,
                         ids: np.ndarray) -> str:
    """The wrongly classified snippets, most confidently wrong first, with p(positive) and the rating."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    wrong = np.flatnonzero((probs >= 0.5) != (labels > 0.5))
    wrong = wrong[np.argsort(-np.abs(probs[wrong] - 0.5), kind="stable")]
    lines = [f"# {len(wrong)} of {len(texts)} test snippets misclassified, most confidently wrong first",
             "# columns: p(positive) from the model, true mean human rating (-4 … +4; > 0 is positive), "
             "snippet id, text",
             ""]
    for i in wrong:
        lines.append(f"p={probs[i]:.3f}\trating={ratings[i]:+.2f}\tid={int(ids[i])}\t{texts[i]}")
    return "\n".join(lines) + "\n"
