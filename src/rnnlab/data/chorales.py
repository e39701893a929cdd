"""Bach's four-part chorales from music21's corpus, as notes and as piano rolls on a time grid.

music21 ships about 430 Bach works (``music21.corpus.getComposer("bach")``); the ones with
exactly four parts (soprano, alto, tenor, bass) are the chorales used here. Parsing them with
music21 takes minutes, so the converted notes are cached in the per-user cache
(``cache_dir()/chorales/notes-v1-<count>.npz``, written atomically); later loads take a second.

A chorale is kept as its notes — MIDI pitch, start and end in quarter notes (tied notes
merged) — with its key (tonic pitch class, mode), meter (bar length in quarter notes, the
time signature) and the length of its pickup. :func:`piano_roll` samples the sounding pitches
at the start of every grid step (a multi-hot frame per step), :func:`bar_positions` gives each
step's position in the bar, and :func:`roll_to_notes` turns a roll back into notes (a pitch
held over consecutive frames is one note: the roll, like the JSB Chorales data set, has no
re-articulation).

music21 is an optional extra (``pip install "rnnlab[music]"``): it is imported inside the
functions that need it, never when this module is imported.

>>> roll = np.zeros((4, 3), dtype=np.uint8); roll[0:2, 0] = 1; roll[1:4, 2] = 1
>>> roll_to_notes(roll, low=60, grid=0.5)
[(60, 0.0, 1.0), (62, 0.5, 2.0)]
"""
from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import DataNotFoundError, InputError, RnnlabError
from ..fileio import atomic_write_bytes
from .paths import cache_dir

CONVERTER_VERSION = 1
#: grid name -> step length in quarter notes
GRIDS = {"quarter": 1.0, "eighth": 0.5, "sixteenth": 0.25}
PARTS = 4
MUSIC_EXTRA = 'pip install "rnnlab[music]"'


def require_music21() -> Any:
    """The ``music21`` module, or an :class:`InputError` saying how to install it."""
    try:
        import music21
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("music21"):
            raise
        raise InputError(f"the Bach chorales and MIDI/MusicXML output need music21, which is not installed: "
                         f"{MUSIC_EXTRA}") from None
    return music21


def grid_length(grid: str | float) -> float:
    """A grid name (``quarter``, ``eighth``, ``sixteenth``) or a step in quarter notes -> the step."""
    if isinstance(grid, str):
        if grid not in GRIDS:
            raise InputError(f"grid: expected one of {sorted(GRIDS)}, got {grid!r}")
        return GRIDS[grid]
    g = float(grid)
    if not (g > 0 and np.isfinite(g)):
        raise InputError(f"grid: expected a positive step in quarter notes, got {grid!r}")
    return g


@dataclass
class Chorale:
    """One chorale: notes ``(N, 3)`` float64 rows (MIDI pitch, start, end) in quarter notes, and its
    key, meter and pickup. ``pickup`` is the time (quarter notes) before the first downbeat."""
    name: str
    notes: np.ndarray
    tonic: int
    mode: str
    bar: float
    meter: str
    pickup: float

    @property
    def length(self) -> float:
        return float(self.notes[:, 2].max()) if len(self.notes) else 0.0

    def transposed(self, semitones: int) -> "Chorale":
        notes = self.notes.copy()
        notes[:, 0] += semitones
        return Chorale(self.name, notes, (self.tonic + semitones) % 12, self.mode, self.bar, self.meter, self.pickup)


# ------------------------------------------------------------------------------- grid conversion
def piano_roll(chorale: Chorale, grid: float, low: int, high: int) -> np.ndarray:
    """``(T, high - low + 1)`` uint8: pitch ``low + k`` sounds at the start of step t
    (``start <= t * grid < end``). Pitches outside ``[low, high]`` are an :class:`InputError`."""
    steps = int(np.ceil(chorale.length / grid - 1e-9))
    roll = np.zeros((steps, high - low + 1), dtype=np.uint8)
    for pitch, start, end in chorale.notes:
        k = int(pitch) - low
        if not 0 <= k <= high - low:
            raise InputError(f"{chorale.name}: pitch {int(pitch)} lies outside the range [{low}, {high}]")
        a, b = int(np.ceil(start / grid - 1e-9)), int(np.ceil(end / grid - 1e-9))
        roll[a:b, k] = 1
    return roll


def bar_positions(chorale: Chorale, grid: float, steps: int) -> np.ndarray:
    """``(steps,)`` int: each step's position in its bar, in grid steps (0 = downbeat)."""
    t = np.arange(steps) * grid + (chorale.bar - chorale.pickup) % chorale.bar
    return np.floor((t % chorale.bar) / grid + 1e-9).astype(np.int64)


def roll_to_notes(roll: np.ndarray, low: int, grid: float) -> list[tuple[int, float, float]]:
    """Notes ``(pitch, start, end)`` in quarter notes, sorted by start then pitch: every run of
    consecutive frames holding a pitch is one note."""
    roll = np.asarray(roll).astype(bool)
    padded = np.pad(roll, ((1, 1), (0, 0)))
    change = np.diff(padded.astype(np.int8), axis=0)
    out = []
    for k in range(roll.shape[1]):
        starts, ends = np.flatnonzero(change[:, k] == 1), np.flatnonzero(change[:, k] == -1)
        out += [(low + k, float(a * grid), float(b * grid)) for a, b in zip(starts, ends)]
    return sorted(out, key=lambda n: (n[1], n[0]))


# ------------------------------------------------------------------------------- music21 side
def corpus_paths() -> list[Path]:
    """music21's Bach files, sorted by name (the order chorales are taken in)."""
    music21 = require_music21()
    return sorted((Path(p) for p in music21.corpus.getComposer("bach")), key=lambda p: p.name)


def score_notes(score: Any) -> np.ndarray:
    """All notes of a music21 score (ties merged, chords split): ``(N, 3)`` pitch, start, end."""
    rows = []
    for part in score.parts:
        for n in part.stripTies().flatten().notes:
            start = float(n.offset)
            end = start + float(n.quarterLength)
            if end <= start:
                continue                                   # grace notes
            rows += [(p.midi, start, end) for p in n.pitches]
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    return arr[np.lexsort((arr[:, 0], arr[:, 1]))]


def convert_score(score: Any, name: str) -> Chorale | None:
    """A :class:`Chorale` from a music21 score; None unless it has exactly four parts with notes."""
    music21 = require_music21()
    parts = list(score.parts)
    if len(parts) != PARTS or any(len(p.flatten().notes) == 0 for p in parts):
        return None
    notes = score_notes(score)
    sigs = list(score.recurse().getElementsByClass(music21.meter.TimeSignature))
    ts = sigs[0] if sigs else music21.meter.TimeSignature("4/4")
    bar = float(ts.barDuration.quarterLength)
    measures = list(parts[0].getElementsByClass(music21.stream.Measure))
    pickup = 0.0
    if measures and float(measures[0].paddingLeft) > 0:
        pickup = float(measures[0].duration.quarterLength)
    key = score.analyze("key")
    return Chorale(name, notes, int(key.tonic.pitchClass), str(key.mode), bar, ts.ratioString, pickup)


def parse_file(path: str | Path) -> Any:
    """A music21 score from a MusicXML, MIDI, kern … file (an :class:`InputError` if unreadable)."""
    music21 = require_music21()
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: no such file (expected a MusicXML, MIDI or other music21-readable file)")
    try:
        return music21.converter.parse(str(path))
    except Exception as exc:  # noqa: BLE001 - music21 raises many kinds
        raise InputError(f"{path}: music21 cannot read it as a score ({type(exc).__name__}: {exc})") from None


# ------------------------------------------------------------------------------- the cache
def _cache_file(count: int | None) -> Path:
    return cache_dir() / "chorales" / f"notes-v{CONVERTER_VERSION}-{'all' if count is None else count}.npz"


def _save(chorales: Sequence[Chorale], path: Path, complete: bool) -> None:
    meta = [{"name": c.name, "tonic": c.tonic, "mode": c.mode, "bar": c.bar, "meter": c.meter, "pickup": c.pickup}
            for c in chorales]
    lengths = np.array([len(c.notes) for c in chorales], dtype=np.int64)
    notes = np.concatenate([c.notes for c in chorales]) if chorales else np.zeros((0, 3))
    buf = io.BytesIO()
    np.savez_compressed(buf, notes=notes, lengths=lengths,
                        meta=np.array(json.dumps({"chorales": meta, "complete": complete})))
    atomic_write_bytes(path, buf.getvalue())


def _check_npz_sizes(path: Path) -> None:
    """Every array's declared size must equal its bytes in the archive — checked before NumPy
    allocates what a (damaged) header claims."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                    np.lib.format.read_array_header_2_0
                shape, _, dtype = read(fh)
                start = fh.tell()
            if dtype.hasobject or math.prod(shape) * dtype.itemsize != info.file_size - start:
                raise ValueError(f"{info.filename} declares {shape} {dtype}, which does not match its "
                                 f"{info.file_size - start} bytes")


def _load(path: Path) -> tuple[list[Chorale], bool]:
    """Read a cache file; any defect → :class:`InputError` naming it (the caller then rebuilds it)."""
    try:
        _check_npz_sizes(path)
        with np.load(path, allow_pickle=False) as z:
            notes, lengths, meta = z["notes"], z["lengths"], json.loads(str(z["meta"]))
        if notes.ndim != 2 or notes.shape[1] != 3 or lengths.ndim != 1 or (lengths < 0).any() \
                or int(lengths.sum()) != len(notes) or len(lengths) != len(meta["chorales"]):
            raise ValueError(f"notes {notes.shape} and lengths {lengths.shape} do not match")
        bounds = np.r_[0, np.cumsum(lengths)]
        out = [Chorale(str(m["name"]), notes[bounds[i]:bounds[i + 1]].astype(np.float64, copy=False), int(m["tonic"]),
                       str(m["mode"]), float(m["bar"]), str(m["meter"]), float(m["pickup"]))
               for i, m in enumerate(meta["chorales"])]
        return out, bool(meta["complete"])
    except Exception as exc:  # noqa: BLE001 - zip, npy, JSON and content defects alike: a damaged cache
        raise InputError(f"{path}: damaged chorale cache ({type(exc).__name__}: {exc})") from None


def _cached(count: int | None) -> list[Chorale] | None:
    """The first ``count`` chorales (all for None) from any cache file that holds them."""
    folder = cache_dir() / "chorales"
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob(f"notes-v{CONVERTER_VERSION}-*.npz")):
        try:
            chorales, complete = _load(path)
        except (OSError, RnnlabError):                            # a damaged cache is rebuilt
            continue
        if count is None and complete:
            return chorales
        if count is not None and (len(chorales) >= count or complete):
            return chorales[:count]
    return None


def load_chorales(max_chorales: int | None = None, *, use_cache: bool = True,
                  progress: Callable[[int, int], None] | None = None) -> list[Chorale]:
    """The four-part chorales of music21's Bach corpus (the first ``max_chorales`` in file-name
    order, or all), converted once and then read from the cache. ``progress(done, total)`` is
    called while converting."""
    if max_chorales is not None and int(max_chorales) < 1:
        raise InputError(f"max_chorales: expected a positive number (or None for all), got {max_chorales!r}")
    count = None if max_chorales is None else int(max_chorales)
    if use_cache and (hit := _cached(count)) is not None:
        return hit
    music21 = require_music21()
    paths = corpus_paths()
    out: list[Chorale] = []
    for i, path in enumerate(paths):
        if count is not None and len(out) >= count:
            break
        chorale = convert_score(music21.corpus.parse(str(path)), path.name.rsplit(".", 1)[0])
        if chorale is not None and len(chorale.notes):
            out.append(chorale)
        if progress is not None:
            progress(i + 1, len(paths))
    if not out:
        raise DataNotFoundError("music21's corpus holds no four-part Bach chorale (is its corpus installed?)")
    if use_cache:
        _save(out, _cache_file(count), complete=count is None or len(out) < count)
    return out
