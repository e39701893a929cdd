"""``rnnlab poem RUN_OR_MODEL --heads 春夏秋冬 [--chars 5|7] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--samples N]``.

Writes acrostic poems (藏头诗) with a saved poem model (a ``rnnlab run poem`` folder or its
``model/``): one line per head character, each starting with it, ``--chars`` characters per line,
``，``/``。`` after the lines (:mod:`rnnlab.tasks.poem.acrostic`). Sample ``k`` (from 1) uses the
seed ``S + k - 1`` on its own, so the same seed gives the same poem — and the commands in a run's
samples.txt give its poems again.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ...errors import InputError
from ...generation import Sampling
from ...io import load_run_or_model
from ...text_model import TextModel
from .acrostic import head_ids, split_lines, write_acrostic
from .data import CHAR_COUNTS

SUMMARY = "write acrostic poems (藏头诗) with a saved poem model: one line per head character (seeded)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, metavar="RUN_OR_MODEL", help="a run folder (runs/poem) or a model folder")
    p.add_argument("--heads", required=True, help="the head characters, one per line, e.g. 春夏秋冬")
    p.add_argument("--chars", type=int, default=5, choices=CHAR_COUNTS, help="characters per line (default 5)")
    p.add_argument("--temperature", type=float, default=0.8, help="< 1 sharper, > 1 more random (default 0.8)")
    p.add_argument("--top-k", type=int, default=None, help="sample among the K most probable characters only")
    p.add_argument("--top-p", type=float, default=None, help="nucleus: the most probable characters up to mass P")
    p.add_argument("--greedy", action="store_true", help="always the most probable character")
    p.add_argument("--samples", type=int, default=1, help="poems to write (default 1); poem k uses seed S+k-1")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def main(args: argparse.Namespace) -> int:
    if args.samples < 1:
        raise InputError(f"--samples: expected a positive number of poems, got {args.samples}")
    sampling = Sampling(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, greedy=args.greedy)
    model = load_run_or_model(args.model, TextModel)
    if model.vocab is None:
        raise InputError(f"{args.model}: the model has no vocabulary: it is not a poem model (`rnnlab run poem`)")
    head_ids(model.vocab, args.heads)                      # unknown heads: one clear line before any work
    poems = [write_acrostic(model, args.heads, args.chars, sampling=sampling, seed=args.seed + k)
             for k in range(args.samples)]
    print("\n\n".join("\n".join(split_lines(p)) for p in poems))
    return 0
