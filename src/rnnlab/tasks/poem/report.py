"""What the poem run writes besides its numbers: 20 sample acrostics (``samples.txt`` and
``samples.png``), the shape check over 200 generated poems, and the 春夏秋冬 examples.

Every sample is generated alone (a batch of one) with its own seed, so the line printed above
it in samples.txt — ``rnnlab poem RUN --heads … --chars … --seed …`` — writes the same poem again
from the saved model.
"""
from __future__ import annotations

import shlex
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...data.text import Vocabulary
from ...fonts import FontNotFoundError, missing_glyphs
from ...generation import Sampling
from .acrostic import acrostic_problems, body_ids, split_lines, write_acrostic, write_acrostics
from .picture import draw_poems

SHAPES = ((5, 4), (7, 4), (5, 8), (7, 8))       # (characters per line, lines)
EXAMPLE_HEADS = "春夏秋冬"


def common_characters(vocab: Vocabulary, texts: Sequence[str], count: int = 300) -> list[str]:
    """The ``count`` generatable characters (:func:`body_ids`) most frequent in ``texts``."""
    body = {vocab.tokens[i] for i in body_ids(vocab)}
    freq = Counter(c for t in texts for c in t if c in body)
    return [c for c, _ in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:count]]


def random_heads(characters: Sequence[str], n_lines: int, rng: np.random.Generator) -> str:
    """``n_lines`` distinct characters drawn from ``characters``."""
    return "".join(rng.choice(np.asarray(list(characters)), size=n_lines, replace=False))


def reproduce_command(folder: Path | str, heads: str, chars: int, seed: int, sampling: Sampling) -> str:
    cmd = f"rnnlab poem {shlex.quote(str(folder))} --heads {heads} --chars {chars} --seed {seed}"
    cmd += f" --temperature {sampling.temperature:g}"
    return cmd + (f" --top-k {sampling.top_k}" if sampling.top_k is not None else "")


def sample_poems(model, common: Sequence[str], n: int, seed: int, sampling: Sampling) -> list[dict[str, Any]]:
    """``n`` four-line acrostics on random common heads, 5 and 7 characters in turn; sample ``i``
    is generated with seed ``seed + i``."""
    rng = np.random.default_rng([seed, 1])
    out = []
    for i in range(n):
        chars, heads = (5, 7)[i % 2], random_heads(common, 4, rng)
        out.append({"heads": heads, "chars": chars, "seed": seed + i,
                    "text": write_acrostic(model, heads, chars, sampling=sampling, seed=seed + i)})
    return out


def samples_text(samples: Sequence[dict[str, Any]], folder: Path | str, sampling: Sampling) -> str:
    blocks = []
    for i, s in enumerate(samples, start=1):
        lines = "\n".join(split_lines(s["text"]))
        blocks.append(f"--- sample {i}: heads {s['heads']}, {s['chars']} characters per line ---\n"
                      f"# {reproduce_command(folder, s['heads'], s['chars'], s['seed'], sampling)}\n{lines}\n")
    return "\n".join(blocks)


def write_samples(folder, samples: Sequence[dict[str, Any]], sampling: Sampling, title: str) -> dict[str, Any]:
    """samples.txt, and samples.png when a CJK font is installed; what was written (and why not)."""
    text = samples_text(samples, folder.path, sampling)
    folder.write_text("samples.txt", text)
    if not samples:
        return {"picture": None, "picture_skipped": "no samples (--samples 0)"}
    try:
        poems = [(f"{s['heads']} · {s['chars']}言 · seed {s['seed']}", s["text"]) for s in samples]
        draw_poems(folder.file("samples.png"), poems, title=title)
    except FontNotFoundError as exc:
        return {"picture": None, "picture_skipped": str(exc)}
    return {"picture": "samples.png", "missing_glyphs": missing_glyphs("".join(s["text"] for s in samples))}


def shape_check(model, n: int, seed: int, sampling: Sampling) -> dict[str, Any]:
    """Generate ``n`` acrostics on random heads (any generatable character), a quarter in each of
    :data:`SHAPES`, and re-read every one with :func:`acrostic_problems`."""
    vocab = model.vocab
    body = [vocab.tokens[i] for i in body_ids(vocab)]
    rng = np.random.default_rng([seed, 2])
    ok, failures, by_shape = 0, [], {}
    for g, (chars, n_lines) in enumerate(SHAPES):
        count = n // len(SHAPES) + (1 if g < n % len(SHAPES) else 0)
        if count == 0:
            continue
        heads = [random_heads(body, n_lines, rng) for _ in range(count)]
        texts = write_acrostics(model, heads, chars, sampling=sampling, seed=np.random.default_rng([seed, 3, g]))
        good = 0
        for h, t in zip(heads, texts):
            problems = acrostic_problems(t, h, chars)
            good += not problems
            if problems and len(failures) < 5:
                failures.append({"heads": h, "chars": chars, "text": t, "problems": problems})
        by_shape[f"{chars}x{n_lines}"] = {"poems": count, "ok": good}
        ok += good
    return {"poems": n, "ok": ok, "share_ok": ok / n if n else float("nan"), "by_shape": by_shape,
            "failures": failures}


def examples(model, seed: int, sampling: Sampling) -> dict[str, str]:
    """The 春夏秋冬 acrostic in 5 and 7 characters (when all four are in the vocabulary)."""
    if not all(c in model.vocab for c in EXAMPLE_HEADS):
        return {}
    return {f"{EXAMPLE_HEADS} {chars}": write_acrostic(model, EXAMPLE_HEADS, chars, sampling=sampling, seed=seed)
            for chars in (5, 7)}
