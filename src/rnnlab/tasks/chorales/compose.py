"""``rnnlab compose RUN_OR_MODEL --bars 8 [--prime CHORD_OR_FILE] [--temperature T] [--seed S] [--out DIR]``.

The one-to-many case: from one opening chord (default ``"C4 E4 G4 C5"``) or a prime file
(MusicXML, MIDI, … — anything music21 reads), a saved chorale model (a ``rnnlab run chorales``
folder or its ``model/``) writes N bars, one frame at a time. Out come ``chorale-seedS.mid``
and ``chorale-seedS.musicxml`` (written by music21) and ``chorale-seedS.png`` (the piano roll);
the same seed gives the same piece.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ...io import load_run_or_model
from .composer import DEFAULT_PRIME, DEFAULT_VOICES, write_piece
from .model import ChoraleModel

SUMMARY = "compose N bars in the style of Bach's chorales from an opening chord (MIDI, MusicXML, piano roll)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=Path, metavar="RUN_OR_MODEL", help="a run folder (runs/chorales) or a model folder")
    p.add_argument("--bars", type=int, default=8, help="length of the piece in bars, prime included (default 8)")
    p.add_argument("--prime", default=DEFAULT_PRIME,
                   help=f"an opening chord of pitch names or MIDI numbers, or a music file (default {DEFAULT_PRIME!r})")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="divides the logits: < 1 safer, > 1 wilder (default 1.0)")
    p.add_argument("--max-voices", type=int, default=DEFAULT_VOICES,
                   help=f"at most this many pitches per frame, the most probable of those drawn (0: no limit; "
                        f"default {DEFAULT_VOICES})")
    p.add_argument("--meter", default="4/4", help="time signature of the piece (default 4/4)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", type=Path, default=Path("composed"), help="output folder (default ./composed)")


def main(args: argparse.Namespace) -> int:
    model = load_run_or_model(args.model, ChoraleModel)
    info = write_piece(model, args.out, args.bars, args.prime, args.temperature, args.seed, args.meter,
                       args.max_voices)
    print(f"{info['bars']} bars ({info['meter']}) from {info['prime']!r}, temperature {info['temperature']:g}, "
          f"seed {info['seed']}: {info['notes']} notes, {info['mean_pitches_per_frame']:.2f} pitches per frame on "
          f"average, key {info['key_found_by_music21']}")
    for kind in ("midi", "musicxml", "picture"):
        print(f"  {kind:<9s}{info[kind]}")
    return 0
