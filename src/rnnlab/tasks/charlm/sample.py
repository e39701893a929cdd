"""``rnnlab sample RUN_OR_MODEL --prime "ROMEO:" --length 500 --temperature 0.8 [--top-k K] [--top-p P] [--seed S]``.

Continues the prime with a saved language model (a ``rnnlab run charlm`` folder or its ``model/``),
one character at a time (:mod:`rnnlab.generation`); the same seed gives the same text.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ...generation import Sampling
from ...io import load_run_or_model
from ...text_model import TextModel

SUMMARY = "continue a prime with a saved language model (temperature, top-k, nucleus sampling; seeded)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, metavar="RUN_OR_MODEL", help="a run folder (runs/charlm) or a model folder")
    p.add_argument("--prime", default="\n", help="text to start from (default: a newline)")
    p.add_argument("--length", type=int, default=500, help="characters to generate (default 500)")
    p.add_argument("--temperature", type=float, default=1.0, help="< 1 sharper, > 1 more random (default 1.0)")
    p.add_argument("--top-k", type=int, default=None, help="sample among the K most probable tokens only")
    p.add_argument("--top-p", type=float, default=None, help="nucleus: the most probable tokens up to mass P")
    p.add_argument("--greedy", action="store_true", help="always the most probable token")
    p.add_argument("--samples", type=int, default=1, help="independent samples (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def main(args: argparse.Namespace) -> int:
    model = load_run_or_model(args.model, TextModel)
    sampling = Sampling(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, greedy=args.greedy)
    texts = model.sample([args.prime] * max(1, args.samples), length=args.length, sampling=sampling, seed=args.seed)
    print("\n\n".join(texts))
    return 0
