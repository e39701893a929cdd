"""``rnnlab translate RUN_OR_MODEL "我们明天去北京。" [more sentences] [--beam 5] [--plot attention.png]``.

Prints one English translation per Chinese sentence with a saved translation model (a
``rnnlab run translate`` folder or its ``model/``): greedy with ``--beam 1``, else beam search.
``--plot`` draws the attention weights of the (first) sentence — English outputs down, Chinese
characters across, in a CJK font so that every character is legible; a model without attention
has nothing to draw (an error). Characters the model never saw are read as ``<unk>`` (stderr
names them).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...errors import InputError
from ...io import load_run_or_model
from ...seq2seq import Seq2Seq
from ..seq2seq_options import add_decoding_arguments, check_decoding_arguments
from .predict import translate, unknown_characters
from .report import plot_attention

SUMMARY = "translate Chinese into English with a saved translation model (beam search, attention map)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, metavar="RUN_OR_MODEL", help="a run folder (runs/translate) or a model folder")
    p.add_argument("sentences", nargs="+", metavar="SENTENCE", help="Chinese sentence(s)")
    add_decoding_arguments(p)
    p.add_argument("--plot", type=Path, default=None, metavar="PNG", help="draw the first sentence's attention map")


def main(args: argparse.Namespace) -> int:
    check_decoding_arguments(args)
    sentences = [s.strip() for s in args.sentences]
    if any(not s for s in sentences):
        raise InputError("SENTENCE: expected non-empty Chinese text")
    model = load_run_or_model(args.model, Seq2Seq)
    if model.src_vocab is None or model.tgt_vocab is None:
        raise InputError(f"{args.model}: this Seq2Seq carries no vocabularies (not a `rnnlab run translate` model)")
    if args.plot is not None and model.attn is None:
        raise InputError(f"--plot: the model in {args.model} has no attention (attention={model.attention_kind!r}): "
                         "nothing to draw")
    for s in sentences:
        unknown = unknown_characters(model, s)
        if unknown:
            print(f"rnnlab translate: note: {''.join(unknown)} not in the model's vocabulary, read as <unk>",
                  file=sys.stderr)
    out = translate(model, sentences, beam=args.beam, length_penalty=args.length_penalty,
                    return_attention=args.plot is not None)
    for t in out:
        print(t.english)
    if args.plot is not None:
        first = out[0]
        path = plot_attention(sentences[0], first.tokens, first.attention, args.plot,
                              title=f"{sentences[0]} → {first.english}")
        print(f"attention map: {path}", file=sys.stderr)
    return 0
