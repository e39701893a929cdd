"""Acrostic poems (藏头诗): one line per head character, each line starting with it, every line
exactly 5 or 7 characters followed by the verse punctuation (``，`` and ``。`` alternating, the last
line ending with ``。``).

The shape is not hoped for, it is imposed: :func:`rnnlab.generation.line_constraints` removes,
at every step, each token that may not come there from the model's distribution before the draw
(no rejection loop). At a line's first position only its head is possible; inside a line only
:func:`body_ids` — the vocabulary's Han characters of Unicode's Basic Multilingual Plane (the
rare variants in the supplementary planes, which common CJK fonts and terminals cannot draw, are
never generated); after the line only its punctuation mark. ``<pad> <unk> <bos> <eos>`` never.

:func:`check_acrostic` re-reads a generated text without trusting any of this.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...data.text import Vocabulary
from ...errors import InputError
from ...generation import Constraints, Sampling, line_constraints
from .data import CHAR_COUNTS, PUNCTUATION, is_han, line_end

MAX_LINES = 16


def body_ids(vocab: Vocabulary) -> np.ndarray:
    """Ids of the vocabulary's Han characters in the Basic Multilingual Plane (what lines are made of)."""
    ids = [i for i, tok in enumerate(vocab.tokens)
           if i >= vocab.first_token_id and is_han(tok) and ord(tok) <= 0xFFFF]
    if not ids:
        raise InputError("this model's vocabulary has no Han characters: it is not a poem model "
                         "(train one with `rnnlab run poem`)")
    missing = [c for c in PUNCTUATION if c not in vocab]
    if missing:
        raise InputError(f"this model's vocabulary has no {' '.join(missing)}: it is not a poem model "
                         "(train one with `rnnlab run poem`)")
    return np.asarray(ids, dtype=np.int64)


def head_ids(vocab: Vocabulary, heads: str) -> list[int]:
    """The ids of the head characters; an InputError naming any that is not a Han character of the
    vocabulary (one line)."""
    if not isinstance(heads, str) or not 1 <= len(heads) <= MAX_LINES:
        raise InputError(f"--heads: expected 1 to {MAX_LINES} Han characters (one per line), got {heads!r}")
    not_han = [c for c in heads if not is_han(c)]
    if not_han:
        raise InputError(f"--heads: expected Han characters only, got {', '.join(map(repr, not_han))} in {heads!r}")
    unknown = sorted({c for c in heads if c not in vocab}, key=heads.index)
    if unknown:
        what = "character" + ("s" if len(unknown) > 1 else "")
        raise InputError(f"head {what} {', '.join(map(repr, unknown))} not in the model's vocabulary "
                         f"({len(vocab) - vocab.first_token_id} characters, each seen at least min_count times "
                         "in the training poems); choose another")
    return [vocab.id(c) for c in heads]


def acrostic_constraints(vocab: Vocabulary, head_rows: Sequence[str], chars: int) -> Constraints:
    """The constraints of a batch of acrostics: row ``r`` has one line per character of
    ``head_rows[r]`` (every row the same number of lines), ``chars`` characters each."""
    if chars not in CHAR_COUNTS:
        raise InputError(f"--chars: expected 5 or 7 characters per line, got {chars!r}")
    if not head_rows or len({len(h) for h in head_rows}) != 1:
        raise InputError(f"heads: expected one or more rows with the same number of lines, got {list(head_rows)}")
    per_row = np.array([head_ids(vocab, h) for h in head_rows], dtype=np.int64)   # (rows, lines)
    n_lines = per_row.shape[1]
    ends = [vocab.id(line_end(i, n_lines)) for i in range(n_lines)]
    banned = [i for i in (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) if i is not None]
    return line_constraints(len(vocab), [chars] * n_lines, ends, body_ids(vocab),
                            heads=[per_row[:, line] for line in range(n_lines)], banned=banned)


def write_acrostics(model, head_rows: Sequence[str], chars: int, *, sampling: Sampling = Sampling(),
                    seed: int | np.random.Generator = 0) -> list[str]:
    """One acrostic per row of ``head_rows`` (one batch; the same seed gives the same poems)."""
    vocab = model.vocab
    if vocab is None or vocab.bos_id is None:
        raise InputError("this model has no vocabulary with <bos>: it is not a poem model (`rnnlab run poem`)")
    constraints = acrostic_constraints(vocab, head_rows, chars)
    n_lines = len(head_rows[0])
    prime = np.full((len(head_rows), 1), vocab.bos_id, dtype=np.int64)
    ids = model.generate_ids(prime, n_lines * (chars + 1), sampling=sampling, seed=seed, constraints=constraints)
    return [vocab.decode(row) for row in ids]


def write_acrostic(model, heads: str, chars: int, *, sampling: Sampling = Sampling(), seed: int = 0) -> str:
    """One acrostic with the head characters ``heads`` (a batch of one: what ``rnnlab poem`` does)."""
    return write_acrostics(model, [heads], chars, sampling=sampling, seed=seed)[0]


def split_lines(text: str) -> list[str]:
    """A poem's lines, each with its punctuation mark: ``'春…，夏…。'`` → ``['春…，', '夏…。']``."""
    lines, start = [], 0
    for i, c in enumerate(text):
        if c in PUNCTUATION:
            lines.append(text[start:i + 1])
            start = i + 1
    if start < len(text):
        lines.append(text[start:])
    return lines


def acrostic_problems(text: str, heads: str, chars: int) -> list[str]:
    """What is wrong with ``text`` as an acrostic on ``heads`` with ``chars`` per line ([] = nothing)."""
    lines = split_lines(text)
    if len(lines) != len(heads):
        return [f"{len(lines)} lines, expected {len(heads)}"]
    problems = []
    for i, (line, head) in enumerate(zip(lines, heads)):
        body, mark = line[:-1], line[-1]
        if mark != line_end(i, len(heads)):
            problems.append(f"line {i + 1} ends with {mark!r}, expected {line_end(i, len(heads))!r}")
        if len(body) != chars:
            problems.append(f"line {i + 1} has {len(body)} characters, expected {chars}")
        if not body.startswith(head):
            problems.append(f"line {i + 1} starts with {body[:1]!r}, expected the head {head!r}")
        if not all(is_han(c) for c in body):
            problems.append(f"line {i + 1} holds something other than Han characters: {body!r}")
    return problems


def check_acrostic(text: str, heads: str, chars: int) -> bool:
    """True when ``text`` has one line per head, starting with it, ``chars`` Han characters, and
    the verse punctuation after each line — and nothing else."""
    return not acrostic_problems(text, heads, chars)
