"""``examples.txt`` of a couplet run: the lecture's line and held-out test pairs, each with the true
second line, the model's output and the aligned-table baseline's output.

Columns: 上联 (first line), 真下联 (the true second line), 模型 (our model's output), 对照表 (the
aligned-table baseline's output), and how many of our characters equal the true ones."""
from __future__ import annotations

from typing import Sequence

from .baselines import reduplication_positions

Pair = tuple[str, str]
WIDE_SPACE = "\u3000"              # an ideographic space: as wide as a Han character
HEADER = "  ".join(name.ljust(7, WIDE_SPACE) for name in ("上联", "真下联", "模型", "对照表")) + "  ours right"


def _cell(line: str) -> str:
    return (line or "—").ljust(7, WIDE_SPACE)


def _row(first: str, true: str, ours: str, table: str) -> str:
    right = "" if not true else f"{sum(a == b for a, b in zip(ours, true))}/{len(true)}"
    return "  ".join(_cell(t) for t in (first, true, ours, table)) + f"  {right}"


def examples_text(lecture_line: str, lecture_ours: str, lecture_table: str, test_pairs: Sequence[Pair],
                  ours: Sequence[str], table: Sequence[str], shown: int = 10, reduplications: int = 5) -> str:
    """The lecture's line, the first ``shown`` test pairs (the split's random order), and the first
    ``reduplications`` test pairs whose first line holds a reduplication (AA)."""
    lines = ["Columns: 上联 first line, 真下联 true second line, 模型 our model (greedy), 对照表 the aligned-table "
             "baseline, and how many of our characters are the true ones.", "",
             "The lecture's example (its second line in the lecture: 雨打沙滩点点坑):", HEADER,
             _row(lecture_line, "", lecture_ours, lecture_table), "",
             f"{min(shown, len(test_pairs))} held-out test pairs (first lines never seen in training):", HEADER]
    lines += [_row(a, b, o, t) for (a, b), o, t in list(zip(test_pairs, ours, table))[:shown]]
    redup = [(p, o, t) for p, o, t in zip(test_pairs, ours, table) if reduplication_positions(p[0])]
    if redup:
        lines += ["", f"Held-out test pairs whose first line holds a reduplication (first {reduplications}):", HEADER]
        lines += [_row(a, b, o, t) for (a, b), o, t in redup[:reduplications]]
    return "\n".join(lines) + "\n"
