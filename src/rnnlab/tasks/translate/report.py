"""What the translation task shows a person: example translations and the attention map."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ...errors import InputError
from .data import JOINER


def examples_text(rows: Sequence[dict], title: str) -> str:
    """Rows of ``{"zh", "reference", "beam", "greedy", "retrieval", "chrf"}`` as readable text."""
    lines = [title, ""]
    for i, r in enumerate(rows, 1):
        lines += [f"{i:2d}. {r['zh']}",
                  f"    reference: {r['reference']}",
                  f"    beam:      {r['beam']}   (sentence chrF {r['chrf']:.1f})",
                  f"    greedy:    {r['greedy']}",
                  f"    retrieval: {r['retrieval']}", ""]
    return "\n".join(lines)


def plot_attention(source: str, tokens: Sequence[str], weights: np.ndarray, path: str | Path,
                   title: str = "") -> Path:
    """Heat map of α (rows: English outputs, <eos> last; columns: Chinese characters), CJK font."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...fonts import cjk_font, missing_glyphs
    weights = np.asarray(weights, dtype=float)
    labels = [t.replace(JOINER, "") for t in tokens] + ["<eos>"]
    labels = labels[:weights.shape[0]]
    if weights.ndim != 2 or weights.shape[1] != len(source):
        raise InputError(f"plot_attention: expected weights of shape (outputs, {len(source)}), got {weights.shape}")
    font = cjk_font()
    missing = missing_glyphs(source)
    if missing:
        raise InputError(f"plot_attention: the CJK font has no glyph for {''.join(missing)!r}")
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * len(source), 1.0 + 0.35 * len(labels)))
    ax.imshow(weights, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)))
    ax.set_xticklabels(list(source), fontproperties=font, fontsize=13)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=11)
    ax.xaxis.tick_top()
    if title:
        ax.set_title(title, fontproperties=font, fontsize=11, pad=28)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
