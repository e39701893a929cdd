"""Piano rolls to and from music21: voices, MIDI and MusicXML files, primes.

A roll becomes notes (:func:`rnnlab.data.chorales.roll_to_notes`), the notes are dealt to
voices top-down (at each onset the highest new note goes to the highest free voice, so a
four-part texture comes out as soprano, alto, tenor, bass), and each voice becomes a music21
part; music21 writes the MIDI and MusicXML files. music21 is imported only inside the functions.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...data.chorales import parse_file, require_music21, roll_to_notes, score_notes
from ...errors import InputError
from ...fileio import atomic_write_bytes

Note = tuple[int, float, float]            # MIDI pitch, start, end (quarter notes)


def split_voices(notes: Sequence[Note]) -> list[list[Note]]:
    """Deal the notes to voices (no two notes of a voice overlap), the highest voice first."""
    voices: list[list[Note]] = []
    by_onset: dict[float, list[Note]] = {}
    for n in notes:
        by_onset.setdefault(n[1], []).append(n)
    for onset in sorted(by_onset):
        for n in sorted(by_onset[onset], key=lambda n: -n[0]):
            free = [i for i, v in enumerate(voices) if v[-1][2] <= onset + 1e-9]
            if free:
                # the free voice whose last note is nearest in pitch among the voices ordered top-down
                i = min(free, key=lambda i: (abs(voices[i][-1][0] - n[0]), i))
                voices[i].append(n)
            else:
                voices.append([n])
    voices.sort(key=lambda v: -float(np.mean([n[0] for n in v])))
    return voices


def notes_to_score(notes: Sequence[Note], meter: str = "4/4", title: str = "", tempo: int = 80) -> tuple[Any, str]:
    """A music21 Score with one part per voice (clefs chosen by music21), the meter and the key
    signature of the key music21 finds in the notes; and that key's name (``"G minor"``)."""
    m21 = require_music21()
    score = m21.stream.Score()
    score.insert(0, m21.metadata.Metadata(title=title or "rnnlab chorale"))
    names = ["Soprano", "Alto", "Tenor", "Bass"]
    voices = split_voices(notes)
    for i, voice in enumerate(voices):
        part = m21.stream.Part()
        part.partName = names[i] if len(voices) == 4 else f"Voice {i + 1}"
        part.insert(0, m21.meter.TimeSignature(meter))
        if i == 0:
            part.insert(0, m21.tempo.MetronomeMark(number=tempo))
        for pitch, start, end in voice:
            n = m21.note.Note(int(pitch))
            n.quarterLength = end - start
            part.insert(start, n)
        part.insert(0, m21.clef.bestClef(part, recurse=True))
        score.insert(0, part)
    name = ""
    if notes:
        key = score.analyze("key")
        name = f"{key.tonic.name} {key.mode}"
        for part in score.parts:
            part.insert(0, m21.key.KeySignature(key.sharps))
    return score, name


def write_files(roll: np.ndarray, low: int, grid: float, out_stem: Path, meter: str = "4/4",
                title: str = "") -> tuple[dict[str, Path], str]:
    """Write ``out_stem.mid`` and ``out_stem.musicxml`` (music21) for a roll; returns the paths and
    the key music21 finds."""
    score, key = notes_to_score(roll_to_notes(roll, low, grid), meter=meter, title=title)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = {"midi": out_stem.with_suffix(".mid"), "musicxml": out_stem.with_suffix(".musicxml")}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, path in paths.items():
            written = Path(score.write(fmt, fp=str(Path(tmp) / path.name)))
            atomic_write_bytes(path, written.read_bytes())      # whole file or none
    return paths, key


def read_notes(path: str | Path) -> list[Note]:
    """The notes of a music file as music21 parses them (ties merged, chords split), sorted."""
    arr = score_notes(parse_file(path))
    return sorted((int(p), float(s), float(e)) for p, s, e in arr)


# ------------------------------------------------------------------------------- primes
def chord_pitches(text: str) -> list[int]:
    """``"C4 E4 G4 C5"`` (music21 pitch names, or MIDI numbers) -> MIDI numbers."""
    m21 = require_music21()
    out = []
    for token in text.replace(",", " ").split():
        try:
            out.append(int(token) if token.isdigit() else int(m21.pitch.Pitch(token).midi))
        except Exception:  # noqa: BLE001 - music21 raises several kinds for a bad name
            raise InputError(f"--prime: {token!r} is not a pitch (expected names like C4 E-4 F#3, or MIDI numbers)") from None
    if not out:
        raise InputError("--prime: expected a chord such as \"C4 E4 G4 C5\" or a music file")
    return out


def prime_roll(prime: str, low: int, high: int, grid: float) -> np.ndarray:
    """The prime as frames ``(T0, P)``: a chord (one frame) or a music file (sampled on the grid,
    taken to start on a downbeat). Pitches outside the model's range are an error naming it."""
    path = Path(prime)
    if path.suffix and path.exists():
        notes = np.asarray(read_notes(path), dtype=np.float64).reshape(-1, 3)
        if len(notes) == 0:
            raise InputError(f"--prime {path}: the file holds no notes")
        notes[:, 1:] -= notes[:, 1].min()
        steps = int(np.ceil(notes[:, 2].max() / grid - 1e-9))
        frames = [(int(p), int(np.ceil(s / grid - 1e-9)), int(np.ceil(e / grid - 1e-9))) for p, s, e in notes]
    else:
        steps, frames = 1, [(p, 0, 1) for p in chord_pitches(prime)]
    bad = sorted({p for p, _, _ in frames if not low <= p <= high})
    if bad:
        raise InputError(f"--prime: pitch(es) {bad} outside the model's range {low}-{high} (MIDI numbers)")
    roll = np.zeros((max(steps, 1), high - low + 1), dtype=np.uint8)
    for p, a, b in frames:
        roll[a:max(b, a + 1), p - low] = 1
    return roll
