"""``rnnlab g2p RUN_OR_MODEL word [word ...] [--beam 5]``: pronounce words with a saved G2P model.

Prints one line per word, ``word<TAB>PH1 PH2 ...`` (ARPAbet, as the model was trained: with or
without stress digits), from a ``rnnlab run g2p`` folder or its ``model/``: greedy with
``--beam 1``, else beam search. Words are lower-cased; letters the model never saw (``-``, digits)
are read as ``<unk>`` (stderr names them).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...errors import InputError
from ...io import load_run_or_model
from ...seq2seq import Seq2Seq
from ..seq2seq_options import add_decoding_arguments, check_decoding_arguments
from .predict import check_model, pronounce, unknown_letters

SUMMARY = "pronounce English words (ARPAbet phonemes) with a saved G2P model (beam search)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, metavar="RUN_OR_MODEL", help="a run folder (runs/g2p) or a model folder")
    p.add_argument("words", nargs="+", metavar="WORD", help="English word(s)")
    add_decoding_arguments(p)


def main(args: argparse.Namespace) -> int:
    check_decoding_arguments(args)
    words = [w.strip().lower() for w in args.words]
    if any(not w for w in words):
        raise InputError("WORD: expected non-empty words")
    model = load_run_or_model(args.model, Seq2Seq)
    try:
        check_model(model)
    except InputError:
        raise InputError(f"{args.model}: this Seq2Seq carries no vocabularies (not a `rnnlab run g2p` model)") from None
    for w in words:
        unknown = unknown_letters(model, w)
        if unknown:
            print(f"rnnlab g2p: note: {''.join(unknown)!r} in {w!r} not in the model's letters, read as <unk>",
                  file=sys.stderr)
    for w, phonemes in zip(words, pronounce(model, words, beam=args.beam, length_penalty=args.length_penalty)):
        print(f"{w}\t{' '.join(phonemes)}")
    return 0
