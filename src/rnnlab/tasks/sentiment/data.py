"""The film-review snippets: reading the file, the binary labels, the seeded split, the word ids.

The file (``sentiment/movieReviewSnippets_GroundTruth.txt``, VADER's copy of Pang & Lee's
rotten-tomatoes sentences) holds one snippet a line, ``id<TAB>mean rating<TAB>text``, the rating
the mean of ≥ 20 human raters on −4 … +4. Positive = rating > 0, negative = rating < 0; the
snippets rated exactly 0 are dropped (and counted). A line that does not parse is an
:class:`~rnnlab.errors.InputError` naming the file and the line.

Text is lower-cased (:func:`normalize`, also what ``rnnlab classify`` does) and cut into words
and punctuation marks by :func:`rnnlab.data.text.tokenize`. The vocabulary comes from the
training part only; a word seen fewer than ``min_count`` times there is ``<unk>``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...data.text import PAD, UNK, Vocabulary, read_text_file, tokenize
from ...errors import InputError

DEFAULT_FILE = "sentiment/movieReviewSnippets_GroundTruth.txt"
PARTS = ("train", "val", "test")


def normalize(text: str) -> str:
    """What the model reads: the text lower-cased (the vocabulary holds lower-case words only)."""
    return text.lower()


@dataclass
class Snippets:
    """The labelled snippets of one file (zero ratings already dropped)."""
    ids: np.ndarray                  # (N,) int: the file's snippet ids
    ratings: np.ndarray              # (N,) float: mean human rating, −4 … +4, never 0
    texts: list[str]                 # as in the file
    source: Path
    dropped_zero: int = 0            # snippets rated exactly 0 (neither positive nor negative)

    @property
    def labels(self) -> np.ndarray:
        """1.0 for a positive snippet (rating > 0), 0.0 for a negative one."""
        return (self.ratings > 0).astype(np.float32)

    def __len__(self) -> int:
        return len(self.texts)


def _parse_line(line: str, where: str) -> tuple[int, float, str]:
    parts = line.split("\t", 2)
    if len(parts) != 3:
        raise InputError(f"{where}: expected 'id<TAB>mean rating<TAB>text', got {len(parts) - 1} tab(s) in {line[:60]!r}")
    sid, rating, text = parts
    try:
        sid_i = int(sid)
    except ValueError:
        raise InputError(f"{where}: expected an integer snippet id, got {sid[:20]!r}") from None
    if not -2 ** 63 <= sid_i < 2 ** 63:
        raise InputError(f"{where}: expected a snippet id that fits 64 bits, got {sid[:20]!r}…")
    try:
        value = float(rating)
    except ValueError:
        raise InputError(f"{where}: expected a mean rating (a number in [-4, 4]), got {rating[:20]!r}") from None
    if not math.isfinite(value) or not -4.0 <= value <= 4.0:
        raise InputError(f"{where}: expected a mean rating in [-4, 4], got {value:g}")
    if not text.strip():
        raise InputError(f"{where}: snippet {sid_i} has no text")
    return sid_i, value, text.strip()


def read_snippets(path: str | None = None) -> Snippets:
    """The snippets of ``path`` (the file, or a folder holding ``sentiment/…GroundTruth.txt``), else
    of the data folders (``$RNNLAB_DATA``); snippets rated exactly 0 dropped and counted."""
    content, file = read_text_file(DEFAULT_FILE, path, "--data")
    ids, ratings, texts, zeros, seen = [], [], [], 0, {}
    for n, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        sid, rating, text = _parse_line(line, f"{file}, line {n}")
        if sid in seen:
            raise InputError(f"{file}, line {n}: snippet id {sid} repeats the one on line {seen[sid]}")
        seen[sid] = n
        if rating == 0.0:
            zeros += 1
            continue
        ids.append(sid); ratings.append(rating); texts.append(text)
    if len(texts) < 10 or len(set(r > 0 for r in ratings)) < 2:
        raise InputError(f"{file}: expected at least 10 rated snippets with both signs of rating, got {len(texts)}")
    return Snippets(np.asarray(ids, dtype=np.int64), np.asarray(ratings, dtype=np.float64), texts, file, zeros)


def split_indices(n: int, seed: int, fractions: tuple[float, float] = (0.1, 0.1),
                  limit: int | None = None) -> dict[str, np.ndarray]:
    """A seeded shuffle of ``range(n)`` cut into train / val / test (validation and test fractions
    given); with ``limit``, only the first ``limit`` indices of the shuffle are split (a quick run)."""
    order = np.random.default_rng(seed).permutation(n)
    if limit is not None:
        if limit < 30:
            raise InputError(f"--samples: expected at least 30 snippets (or none for all {n}), got {limit}")
        order = order[:limit]
    n = len(order)
    n_val, n_test = (int(round(n * f)) for f in fractions)
    if n - n_val - n_test < 1 or n_val < 1 or n_test < 1:
        raise InputError(f"split: {n} snippets are too few for fractions {fractions}")
    cut = n - n_val - n_test
    return {"train": np.sort(order[:cut]), "val": np.sort(order[cut:cut + n_val]), "test": np.sort(order[cut + n_val:])}


@dataclass
class Part:
    """One part of the split: the texts, the padded word ids and their mask, the labels, the ratings."""
    texts: list[str]
    x: np.ndarray                    # (n, T) int64 word ids, right padded with <pad>
    mask: np.ndarray                 # (n, T) bool
    y: np.ndarray                    # (n,) float32: 1 positive, 0 negative
    ratings: np.ndarray              # (n,) mean human rating
    ids: np.ndarray                  # (n,) snippet ids in the file

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class SentimentData:
    vocab: Vocabulary
    parts: dict[str, Part]
    source: Path
    dropped_zero: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


def encode(vocab: Vocabulary, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Padded ids and mask of several texts (lower-cased first); a text without a single word is an error."""
    normal = [normalize(t) for t in texts]
    for i, t in enumerate(normal):
        if not tokenize(t, "word"):
            raise InputError(f"text {i + 1}: expected at least one word or punctuation mark, got {texts[i]!r}")
    return vocab.encode_batch(normal)


def make_data(snippets: Snippets, split_seed: int, min_count: int, limit: int | None = None) -> SentimentData:
    """The split (of a seeded subset of ``limit`` snippets, if given), the vocabulary of the
    training part, and every part encoded."""
    if min_count < 1:
        raise InputError(f"--min-count: expected a positive integer, got {min_count}")
    idx = split_indices(len(snippets), split_seed, limit=limit)
    train_texts = [normalize(snippets.texts[i]) for i in idx["train"]]
    vocab = Vocabulary.from_text(train_texts, level="word", min_count=min_count, specials=(PAD, UNK))
    parts, counts = {}, {}
    labels = snippets.labels
    for name in PARTS:
        texts = [snippets.texts[i] for i in idx[name]]
        x, mask = encode(vocab, texts)
        parts[name] = Part(texts, x, mask, labels[idx[name]], snippets.ratings[idx[name]], snippets.ids[idx[name]])
        counts[name] = {"snippets": len(texts), "positive": int(labels[idx[name]].sum()),
                        "words": int(mask.sum()), "unknown_words": int(((x == vocab.unk_id) & mask).sum())}
    return SentimentData(vocab, parts, snippets.source, snippets.dropped_zero, counts)
