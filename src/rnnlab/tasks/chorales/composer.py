"""Composing a piece with a trained chorale model: N bars from an opening chord (or a prime file),
written as MIDI and MusicXML (by music21) and as a piano-roll picture.

The number of steps is the number of bars: ``bars × steps per bar`` frames in all, the prime
first (one chord is the first frame, the downbeat of bar 1), the rest drawn one frame at a time, at most four pitches
per frame by default (the four voices; ``max_voices=0`` lifts the limit).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from ...data.chorales import roll_to_notes
from ...errors import InputError
from .model import ChoraleModel, compose
from .pictures import plot_roll
from .score import prime_roll, write_files

DEFAULT_PRIME = "C4 E4 G4 C5"
DEFAULT_VOICES = 4                 # a chorale's four voices: at most four pitches per frame


def steps_per_bar(meter: str, grid: float, positions: int) -> int:
    """``"4/4"`` on an eighth-note grid -> 8; an error if the bar is not a whole number of steps or
    has more steps than the model has bar positions."""
    try:
        num, den = (int(v) for v in meter.split("/"))
        if num < 1 or den not in (1, 2, 4, 8, 16):
            raise ValueError
    except ValueError:
        raise InputError(f"--meter: expected a time signature such as 4/4 or 3/4, got {meter!r}") from None
    steps = Fraction(num * 4, den) / Fraction(grid).limit_denominator(64)
    if steps.denominator != 1 or not 1 <= steps <= positions:
        raise InputError(f"--meter {meter}: a bar must be a whole number of grid steps ({grid:g} quarter notes) "
                         f"and at most {positions} steps (the longest bar the model was trained on)")
    return int(steps)


def compose_piece(model: ChoraleModel, bars: int, prime: str = DEFAULT_PRIME, temperature: float = 1.0,
                  seed: int = 0, meter: str = "4/4", max_voices: int = DEFAULT_VOICES) -> np.ndarray:
    """The piece's frames ``(bars × steps per bar, P)`` uint8, the prime's frames first."""
    layout = model.need_layout()
    if int(bars) < 1:
        raise InputError(f"--bars: expected a positive number of bars, got {bars}")
    bar_steps = steps_per_bar(meter, layout.grid, layout.positions)
    first = prime_roll(prime, layout.low, layout.high, layout.grid)
    total = int(bars) * bar_steps
    if len(first) >= total:
        raise InputError(f"--prime lasts {len(first)} steps, {bars} bar(s) of {meter} are {total}: "
                         "ask for more bars than the prime fills")
    positions = np.arange(total) % bar_steps
    if int(max_voices) < 0:
        raise InputError(f"--max-voices: expected 0 (no limit) or a positive number, got {max_voices}")
    return compose(model, first, total - len(first), positions, temperature=temperature, seed=seed,
                   max_voices=int(max_voices))[0]


def write_piece(model: ChoraleModel, out_dir: Path, bars: int, prime: str = DEFAULT_PRIME, temperature: float = 1.0,
                seed: int = 0, meter: str = "4/4", max_voices: int = DEFAULT_VOICES) -> dict:
    """Compose and write ``chorale-seedS.mid``, ``.musicxml`` and ``.png`` into ``out_dir``."""
    layout = model.need_layout()
    roll = compose_piece(model, bars, prime, temperature, seed, meter, max_voices)
    stem = Path(out_dir) / f"chorale-seed{seed}"
    title = f"rnnlab chorale, seed {seed}"
    paths, key = write_files(roll, layout.low, layout.grid, stem, meter=meter, title=title)
    picture = stem.with_suffix(".png")
    bar_steps = steps_per_bar(meter, layout.grid, layout.positions)
    plot_roll(picture, roll, layout.low, layout.grid, f"{title}: {bars} bars from {prime!r}, temperature "
              f"{temperature:g}", bar_steps=bar_steps)
    notes = roll_to_notes(roll, layout.low, layout.grid)
    return {"midi": str(paths["midi"]), "musicxml": str(paths["musicxml"]), "picture": str(picture),
            "bars": int(bars), "meter": meter, "prime": prime, "temperature": float(temperature), "seed": int(seed),
            "max_voices": int(max_voices),
            "notes": len(notes), "mean_pitches_per_frame": float(roll.sum(axis=1).mean()),
            "key_found_by_music21": key or None}


def write_example(model: ChoraleModel, out_dir: Path, bars: int, temperature: float, seed: int) -> dict:
    """The run folder's example: ``bars`` bars of 4/4 from the default opening chord."""
    return write_piece(model, out_dir, bars, DEFAULT_PRIME, temperature, seed)
