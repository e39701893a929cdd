"""``samples.png``: generated poems on a grid, one character per cell, drawn with a CJK font
(:func:`rnnlab.fonts.cjk_font`); the head characters in red, the punctuation in grey."""
from __future__ import annotations

import os
from typing import Sequence

from ...fonts import cjk_font
from ...viz import pyplot, save_figure
from .acrostic import split_lines
from .data import PUNCTUATION

HEAD_COLOUR, TEXT_COLOUR, MARK_COLOUR = "#b22222", "#111111", "#888888"


def draw_poems(path: str | os.PathLike, poems: Sequence[tuple[str, str]], title: str = "", columns: int = 5) -> None:
    """Draw ``poems`` — (caption, poem text) pairs — in ``columns`` columns and write the PNG.

    Raises :class:`rnnlab.fonts.FontNotFoundError` when no font with Chinese glyphs is installed.
    """
    font = cjk_font()
    plt = pyplot()
    laid_out = [(caption, split_lines(text)) for caption, text in poems]
    rows = -(-len(laid_out) // columns)
    cell_w = max((len(line) for _, lines in laid_out for line in lines), default=8) + 1.5
    row_h = [max((len(lines) for _, lines in laid_out[r * columns:(r + 1) * columns]), default=4) + 2.2
             for r in range(rows)]
    unit = 0.3                                                    # inches per character cell
    width, height = columns * cell_w, sum(row_h) + (1.5 if title else 0.0)
    fig = plt.figure(figsize=(width * unit, height * unit))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    size = unit * 72 * 0.62                                       # points: a glyph fills ~62 % of its cell
    top = 0.0
    if title:
        ax.text(width / 2, 0.75, title, ha="center", va="center", fontproperties=font, fontsize=size * 0.8)
        top = 1.5
    for r in range(rows):
        for c, (caption, lines) in enumerate(laid_out[r * columns:(r + 1) * columns]):
            x0 = c * cell_w + 0.75
            ax.text(x0, top + 0.6, caption, ha="left", va="center", fontproperties=font, fontsize=size * 0.55,
                    color=MARK_COLOUR)
            for i, line in enumerate(lines):
                y = top + 1.7 + i
                for k, ch in enumerate(line):
                    colour = MARK_COLOUR if ch in PUNCTUATION else HEAD_COLOUR if k == 0 else TEXT_COLOUR
                    ax.text(x0 + k + 0.5, y, ch, ha="center", va="center", fontproperties=font, fontsize=size,
                            color=colour)
        top += row_h[r]
    save_figure(fig, path)
