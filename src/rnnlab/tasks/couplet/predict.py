"""Second lines from a trained couplet model: every output position at once, one choice per position.

The model (embedding → bidirectional recurrent layers → dense) gives a distribution over the
vocabulary at every position of the first line. The second line takes one character per
position — the most probable one (greedy, the default), or a draw with a temperature / top-k
(:mod:`rnnlab.generation`) — never a special symbol (``<pad> <unk> <bos> <eos>`` are banned).
The choices are independent of each other given the first line: nothing ties position i+1's
choice to position i's.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...data.text import SPECIALS, Vocabulary
from ...errors import InputError
from ...generation import Constraints, Sampling, choose
from .data import is_han

GREEDY = Sampling(greedy=True)
MAX_LINE = 50


def check_first_line(text: str) -> str:
    """The first line without surrounding spaces; empty or non-Han text is an :class:`InputError`."""
    if not isinstance(text, str):
        raise InputError(f"first line: expected a string, got {type(text).__name__}")
    line = text.strip()
    if not line:
        raise InputError("first line: expected Han characters (e.g. 风吹水面层层浪), got empty text")
    bad = [c for c in line if not is_han(c)]
    if bad:
        raise InputError(f"first line: expected Han characters only (e.g. 风吹水面层层浪), got {bad[0]!r} in {line!r}")
    if len(line) > MAX_LINE:
        raise InputError(f"first line: expected at most {MAX_LINE} characters, got {len(line)}")
    return line


def unknown_characters(vocab: Vocabulary, line: str) -> list[str]:
    """The characters of ``line`` the vocabulary does not hold (the model reads them as <unk>)."""
    return sorted({c for c in line if c not in vocab})


def banned_ids(vocab: Vocabulary) -> list[int]:
    return [vocab.id(s) for s in SPECIALS if s in vocab.specials]


def position_log_probs(model, first_lines: Sequence[str], chunk: int = 256) -> list[np.ndarray]:
    """log p(· | first line) at every position of every line: one ``(len(line), V)`` float64 array
    per line (computed ``chunk`` lines at a time, so a large test set never holds all logits)."""
    vocab = model.vocab
    out: list[np.ndarray] = []
    for start in range(0, len(first_lines), chunk):
        lines = list(first_lines[start:start + chunk])
        ids, mask = vocab.encode_batch(lines)
        z = model.predict(ids, mask=mask, logits=True).astype(np.float64)
        z -= z.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        out += [logp[i, :len(line)] for i, line in enumerate(lines)]
    return out


def second_lines(model, first_lines: Sequence[str], sampling: Sampling = GREEDY, seed: int = 0,
                 log_probs: list[np.ndarray] | None = None) -> list[str]:
    """One second line per first line, each as long as its first line (``log_probs``: reuse
    :func:`position_log_probs` already computed for these lines)."""
    vocab = model.vocab
    if log_probs is None:
        log_probs = position_log_probs(model, first_lines)
    rng = np.random.default_rng(seed)
    allowed = Constraints(len(vocab), banned=banned_ids(vocab)).allowed(0, 1)
    out = []
    for logp in log_probs:
        ids = choose(logp, sampling, rng, np.repeat(allowed, len(logp), axis=0))
        out.append("".join(vocab.tokens[i] for i in ids))
    return out


def target_nats(log_probs: Sequence[np.ndarray], vocab: Vocabulary, truths: Sequence[str]) -> float:
    """Mean −log p(true character) per character (true characters outside the vocabulary as <unk>)."""
    total, n = 0.0, 0
    for logp, true in zip(log_probs, truths, strict=True):
        ids = vocab.encode(true)
        if len(ids) != len(logp):
            raise InputError(f"target_nats: the true line {true!r} and the output differ in length")
        total -= float(logp[np.arange(len(ids)), ids].sum())
        n += len(ids)
    return total / n
