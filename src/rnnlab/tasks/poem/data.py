"""The poem task's data: Tang poems read from ``verse.jsonl`` (every line checked), written out as
text with the verse punctuation, split by poem, and encoded for a character language model.

A poem ``{"chars": 5, "lines": ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"]}`` becomes the
text ``春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。`` (``，`` after odd lines, ``。`` after
even ones — the source's punctuation in all but 274 of 36,290 poems). The model reads
``<bos>`` + text and predicts text + ``<eos>``; poems are padded to the longest of a batch and
the padding is masked out of the loss.

>>> format_poem(["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"])
'春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。'
>>> parse_poem('{"title": "t", "author": "a", "chars": 5, "lines": ["春眠不觉晓", "处处闻啼", "夜来风雨声", "花落知多少"]}',
...            "x.jsonl, line 3")
Traceback (most recent call last):
...
rnnlab.errors.InputError: x.jsonl, line 3: line 2 of the poem ('处处闻啼') has 4 characters, expected 5 ("chars")
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ...data.paths import find_data_file
from ...data.text import Vocabulary
from ...errors import DataNotFoundError, InputError

DEFAULT_FILE = "poetry/verse.jsonl"
COMMA, FULL_STOP = "，", "。"
PUNCTUATION = (COMMA, FULL_STOP)
LINE_COUNTS = (4, 8)
CHAR_COUNTS = (5, 7)
_HAN_NAMES = ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")


def is_han(ch: str) -> bool:
    """True for one Han character (CJK unified or compatibility ideograph, any extension)."""
    return len(ch) == 1 and unicodedata.name(ch, "").startswith(_HAN_NAMES)


def line_end(index: int, n_lines: int) -> str:
    """The punctuation after line ``index`` (from 0) of ``n_lines``: ``，`` and ``。`` alternate,
    and the last line always ends with ``。``."""
    return FULL_STOP if index % 2 == 1 or index == n_lines - 1 else COMMA


def format_poem(lines: Sequence[str]) -> str:
    """The poem's text: every line followed by its punctuation (:func:`line_end`)."""
    return "".join(line + line_end(i, len(lines)) for i, line in enumerate(lines))


@dataclass(frozen=True)
class Poem:
    title: str
    author: str
    chars: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return format_poem(self.lines)


def parse_poem(line: str, where: str) -> Poem:
    """One line of verse.jsonl as a :class:`Poem`; anything else is an InputError starting with ``where``."""
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{where}: expected a JSON object {{\"title\", \"author\", \"chars\", \"lines\"}}, "
                         f"got {type(doc).__name__}")
    missing = [k for k in ("title", "author", "chars", "lines") if k not in doc]
    if missing:
        raise InputError(f"{where}: missing field(s) {missing}; expected \"title\", \"author\", \"chars\", \"lines\"")
    chars, lines = doc["chars"], doc["lines"]
    if type(chars) is not int or chars not in CHAR_COUNTS:
        raise InputError(f"{where}: \"chars\" must be 5 or 7, got {chars!r}")
    if not isinstance(lines, list) or len(lines) not in LINE_COUNTS:
        got = f"{len(lines)} lines" if isinstance(lines, list) else type(lines).__name__
        raise InputError(f"{where}: \"lines\" must be a list of 4 or 8 strings, got {got}")
    for i, text in enumerate(lines, start=1):
        if not isinstance(text, str):
            raise InputError(f"{where}: line {i} of the poem is {type(text).__name__}, expected a string")
        if len(text) != chars:
            raise InputError(f"{where}: line {i} of the poem ({text!r}) has {len(text)} characters, "
                             f"expected {chars} (\"chars\")")
        bad = [c for c in text if not is_han(c)]
        if bad:
            raise InputError(f"{where}: line {i} of the poem ({text!r}) holds {bad[0]!r}, expected Han characters "
                             "only (no punctuation: it is added when the poem is formatted)")
    for key in ("title", "author"):
        if not isinstance(doc[key], str):
            raise InputError(f"{where}: \"{key}\" must be a string, got {type(doc[key]).__name__}")
    return Poem(doc["title"], doc["author"], chars, tuple(lines))


def poem_file(path: str | None) -> Path:
    """``path`` (a verse.jsonl file, or a folder holding poetry/verse.jsonl), else the data folders."""
    if path is not None and Path(path).is_file():
        return Path(path)
    try:
        return find_data_file(DEFAULT_FILE, path)
    except DataNotFoundError as exc:
        raise DataNotFoundError(f"{exc}\nOr give a verse.jsonl file with --data PATH.") from None


def read_poems(path: str | None = None) -> tuple[list[Poem], Path]:
    """Every poem of the file, in file order; a bad line is an InputError naming the file and line
    number. Blank lines are skipped."""
    file = poem_file(path)
    poems = []
    with open(file, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            where = f"{file}, line {number}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"{where}: not UTF-8 ({exc.reason} at byte {exc.start} of the line)") from None
            if line.strip():
                poems.append(parse_poem(line, where))
    if not poems:
        raise InputError(f"{file}: no poems in the file (expected one JSON object per line)")
    return poems, file


def split_poems(n: int, val_fraction: float, test_fraction: float, seed: int,
                max_poems: int | None = None) -> dict[str, np.ndarray]:
    """Indices of the training, validation and test poems: a seeded permutation of all ``n``
    (its first ``max_poems`` when given), the test poems first, then validation, then training."""
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < f < 0.5:
            raise InputError(f"--{name.replace('_', '-')}: expected a fraction in (0, 0.5), got {f}")
    order = np.random.default_rng(seed).permutation(n)
    if max_poems is not None:
        order = order[:max_poems]
    n_test = int(round(len(order) * test_fraction))
    n_val = int(round(len(order) * val_fraction))
    if min(n_test, n_val) < 1 or len(order) - n_test - n_val < 10:
        raise InputError(f"{len(order)} poems are too few to split into training, validation ({val_fraction:g}) "
                         f"and test ({test_fraction:g}) poems; use --max-poems 100 or more")
    return {"test": np.sort(order[:n_test]), "val": np.sort(order[n_test:n_test + n_val]),
            "train": np.sort(order[n_test + n_val:])}


@dataclass
class PoemData:
    poems: dict[str, list[Poem]]                                  # part -> its poems
    vocab: Vocabulary                                             # from the training poems only
    arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # part -> (x, y, mask), (poems, T)
    source: Path

    def texts(self, part: str) -> list[str]:
        return [p.text for p in self.poems[part]]


def encode_poems(vocab: Vocabulary, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs ``<bos>`` + text, targets text + ``<eos>`` (padded with ``<pad>``), and the mask of
    the real targets: three ``(poems, longest + 1)`` arrays."""
    x, mask = vocab.encode_batch(texts, bos=True)
    y, _ = vocab.encode_batch(texts, eos=True)         # the same lengths: one symbol added to each text
    return x, y, mask


def make_data(poems: list[Poem], source: Path, *, min_count: int, val_fraction: float, test_fraction: float,
              seed: int, max_poems: int | None = None) -> PoemData:
    """Split by poem, build the vocabulary from the training poems (characters seen fewer than
    ``min_count`` times there → ``<unk>``), and encode every part."""
    parts = split_poems(len(poems), val_fraction, test_fraction, seed, max_poems)
    chosen = {k: [poems[i] for i in idx] for k, idx in parts.items()}
    vocab = Vocabulary.from_text([p.text for p in chosen["train"]], min_count=min_count)
    missing = [c for c in PUNCTUATION if c not in vocab]
    if missing:
        raise InputError(f"the training poems give a vocabulary without {missing}; use more poems (--max-poems)")
    arrays = {k: encode_poems(vocab, [p.text for p in v]) for k, v in chosen.items()}
    return PoemData(chosen, vocab, arrays, source)
