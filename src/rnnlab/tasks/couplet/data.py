"""The couplet data: reading ``poetry/couplets.tsv``, the split grouped by first line, the vocabulary,
and the padded id arrays the model trains on.

The file holds one pair a line, ``first line<TAB>second line``, both halves the same length (5 or
7 Han characters), no header. Any other line is an :class:`~rnnlab.errors.InputError` naming the
file and the line number.

The split is by **first line**: all pairs that share a first line land in the same part, so no
test first line was ever seen in training (the file holds a few first lines with two or three
different second lines). The vocabulary comes from the training pairs only (both halves).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ...data.paths import find_data_file
from ...data.text import PAD, UNK, Vocabulary
from ...errors import InputError

DEFAULT_FILE = "poetry/couplets.tsv"
LINE_LENGTHS = (5, 7)
PARTS = ("train", "val", "test")

Pair = tuple[str, str]


def is_han(ch: str) -> bool:
    """True for a Han character: CJK Unified Ideographs (with extension A and the supplementary
    planes' extensions) and CJK Compatibility Ideographs."""
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF
            or 0x20000 <= o <= 0x323AF)


def parse_pairs(text: str, source: str | Path) -> list[Pair]:
    """The pairs of a couplets file's text; a malformed line is an error naming ``source:line``."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()                                   # the final newline
    pairs: list[Pair] = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        halves = line.split("\t")
        where = f"{source}:{number}"
        if len(halves) != 2:
            raise InputError(f"{where}: expected 'first line<TAB>second line' (one tab), "
                             f"got {len(halves) - 1} tabs in {line[:40]!r}")
        first, second = halves
        for name, half in (("first", first), ("second", second)):
            if len(half) not in LINE_LENGTHS:
                raise InputError(f"{where}: expected a {name} line of 5 or 7 Han characters, "
                                 f"got {len(half)} characters {half[:20]!r}")
            bad = [c for c in half if not is_han(c)]
            if bad:
                raise InputError(f"{where}: expected Han characters only in the {name} line, got {bad[0]!r} in {half!r}")
        if len(first) != len(second):
            raise InputError(f"{where}: the two lines must have the same length, got {len(first)} and {len(second)}")
        pairs.append((first, second))
    if not pairs:
        raise InputError(f"{source}: no couplets in the file (expected lines 'first<TAB>second')")
    return pairs


def read_pairs(path: str | None = None) -> tuple[list[Pair], Path]:
    """The pairs of ``path`` (a couplets file, or a folder holding ``poetry/couplets.tsv``), else of
    ``poetry/couplets.tsv`` in the data folders (``$RNNLAB_DATA``)."""
    file = Path(path) if path is not None and Path(path).is_file() else find_data_file(DEFAULT_FILE, path)
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(f"{file}:{line}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_pairs(text, file), file


def split_by_first_line(pairs: Sequence[Pair], val_fraction: float, test_fraction: float, seed: int,
                        max_pairs: int | None = None) -> dict[str, list[Pair]]:
    """Train / validation / test, grouped by first line (a first line lands in one part only).

    The distinct first lines are shuffled with ``seed``; the first ``test_fraction`` of them (with
    all their pairs) make the test part, the next ``val_fraction`` the validation part, the rest
    the training part. ``max_pairs``: only the groups met first in that order, until they hold at
    least that many pairs (a seeded subset for short runs).
    """
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < f < 1.0:
            raise InputError(f"{name}: expected a fraction in (0, 1), got {f}")
    if val_fraction + test_fraction >= 1.0:
        raise InputError(f"val_fraction + test_fraction must leave training pairs, got {val_fraction + test_fraction}")
    if max_pairs is not None and max_pairs < 10:
        raise InputError(f"max_pairs: expected at least 10 pairs (or none for all), got {max_pairs}")
    groups: dict[str, list[Pair]] = {}
    for pair in pairs:
        groups.setdefault(pair[0], []).append(pair)
    firsts = sorted(groups)
    order = [firsts[i] for i in np.random.default_rng(seed).permutation(len(firsts))]
    if max_pairs is not None:
        kept, count = [], 0
        for first in order:
            if count >= max_pairs:
                break
            kept.append(first)
            count += len(groups[first])
        order = kept
    n_test = max(1, int(round(len(order) * test_fraction)))
    n_val = max(1, int(round(len(order) * val_fraction)))
    if n_test + n_val >= len(order):
        raise InputError(f"{len(order)} distinct first lines are too few to split into train, validation and test")
    chosen = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
    return {part: [p for first in chosen[part] for p in groups[first]] for part in PARTS}


def make_vocabulary(train_pairs: Sequence[Pair], min_count: int) -> Vocabulary:
    """Characters of the training pairs (both halves) seen at least ``min_count`` times; the
    others read as ``<unk>``. Specials: ``<pad>`` (padding of the 5-character lines) and ``<unk>``."""
    return Vocabulary.from_text([a + b for a, b in train_pairs], min_count=min_count, specials=(PAD, UNK))


@dataclass
class Encoded:
    """One part as arrays: first-line ids ``x``, second-line ids ``y`` (both ``(N, 7)``, padded
    with ``<pad>``), the mask (True = a real character), and the pairs themselves."""
    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    pairs: list[Pair]


def encode_pairs(vocab: Vocabulary, pairs: Sequence[Pair]) -> Encoded:
    length = max(LINE_LENGTHS)
    x, mask = vocab.encode_batch([a for a, _ in pairs], length=length)
    y, _ = vocab.encode_batch([b for _, b in pairs], length=length)
    return Encoded(x, y, mask, list(pairs))
