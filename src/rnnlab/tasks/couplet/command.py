"""``rnnlab couplet RUN_OR_MODEL 风吹水面层层浪 [more first lines] [--temperature T] [--top-k K] [--greedy] [--seed S]``.

Prints one second line per first line, each exactly as long as its first line, with a saved
couplet model (a ``rnnlab run couplet`` folder or its ``model/``). By default every position takes
its most probable character (greedy); ``--temperature`` or ``--top-k`` draw instead (seeded: the
same seed gives the same lines). Special symbols are never printed.

A character the model's vocabulary does not hold is read as ``<unk>``: the line is still
answered, and stderr names those characters. Empty input or any character that is not a Han
character (Latin letters, digits, punctuation such as ，) is a one-line error, exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...generation import Sampling
from ...io import load_run_or_model
from ...text_model import TextModel
from .data import LINE_LENGTHS
from .predict import GREEDY, check_first_line, second_lines, unknown_characters

SUMMARY = "write the second line of a couplet (对联) with a saved couplet model: same length as the first"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, metavar="RUN_OR_MODEL", help="a run folder (runs/couplet) or a model folder")
    p.add_argument("first_lines", nargs="+", metavar="FIRST_LINE", help="the first line(s), Han characters only")
    p.add_argument("--temperature", type=float, default=None,
                   help="sample at this temperature instead of taking the most probable character")
    p.add_argument("--top-k", type=int, default=None, help="sample among the K most probable characters only")
    p.add_argument("--greedy", action="store_true",
                   help="the most probable character at every position (the default; overrides the two above)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the sampling (default 0)")


def main(args: argparse.Namespace) -> int:
    lines = [check_first_line(t) for t in args.first_lines]           # bad input fails before loading
    sampling = GREEDY
    if not args.greedy and (args.temperature is not None or args.top_k is not None):
        sampling = Sampling(temperature=1.0 if args.temperature is None else args.temperature, top_k=args.top_k)
    model = load_run_or_model(args.model, TextModel)
    for line in lines:
        unknown = unknown_characters(model.vocab, line)
        if unknown:
            print(f"rnnlab couplet: note: {''.join(unknown)} not in the model's vocabulary, read as <unk>",
                  file=sys.stderr)
        if len(line) not in LINE_LENGTHS:
            print(f"rnnlab couplet: note: the model was trained on lines of {' or '.join(map(str, LINE_LENGTHS))} "
                  f"characters; {line!r} has {len(line)}", file=sys.stderr)
    for out in second_lines(model, lines, sampling, seed=args.seed):
        print(out)
    return 0
