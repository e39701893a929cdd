"""The chorales as training data: a seeded split by chorale, piano rolls, inputs and targets.

Frame t of a chorale is the multi-hot vector of the pitches sounding at grid step t (the pitch
range is the one that occurs in the loaded chorales). The network reads, at step t, the previous
frame (silence before the first) and the bar position of frame t (one-hot), and predicts frame t:

    x_t = [frame_{t-1}, onehot(position_t)]        y_t = frame_t        (t = 0 … T-1)

so every frame of a chorale is scored, the first one from silence. Sequences are padded to the
longest in the set with a mask ``(B, T)``. Transposition (training part only) shifts a whole
chorale by a number of semitones, only as far as its notes stay inside the pitch range.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ...data.chorales import Chorale, bar_positions, piano_roll
from ...errors import InputError

SPLITS = ("train", "val", "test")


@dataclass
class Layout:
    """What a frame and an input step hold: pitches ``low … high``, ``positions`` bar positions,
    on a grid of ``grid`` quarter notes."""
    low: int
    high: int
    grid: float
    positions: int

    @property
    def pitches(self) -> int:
        return self.high - self.low + 1

    @property
    def input_size(self) -> int:
        return self.pitches + self.positions

    def to_dict(self) -> dict:
        return {"low": self.low, "high": self.high, "grid": self.grid, "positions": self.positions}

    @classmethod
    def from_dict(cls, d: dict) -> "Layout":
        return cls(int(d["low"]), int(d["high"]), float(d["grid"]), int(d["positions"]))

    def inputs(self, rolls: Sequence[np.ndarray],
               positions: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Padded ``x (B, T, P + L)`` float32, ``y (B, T, P)`` float32 and ``mask (B, T)`` bool."""
        n, t_max = len(rolls), max(len(r) for r in rolls)
        x = np.zeros((n, t_max, self.input_size), dtype=np.float32)
        y = np.zeros((n, t_max, self.pitches), dtype=np.float32)
        mask = np.zeros((n, t_max), dtype=bool)
        for i, (roll, pos) in enumerate(zip(rolls, positions)):
            t = len(roll)
            y[i, :t] = roll
            x[i, 1:t, :self.pitches] = roll[:-1]
            x[i, np.arange(t), self.pitches + np.minimum(pos[:t], self.positions - 1)] = 1.0
            mask[i, :t] = True
        return x, y, mask


def pitch_range(chorales: Sequence[Chorale]) -> tuple[int, int]:
    lo = min(int(c.notes[:, 0].min()) for c in chorales)
    hi = max(int(c.notes[:, 0].max()) for c in chorales)
    return lo, hi


def split_chorales(n: int, seed: int, val_fraction: float, test_fraction: float) -> dict[str, np.ndarray]:
    """Indices of the training, validation and test chorales (a seeded permutation, each part sorted)."""
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise InputError(f"val_fraction, test_fraction: expected fractions in (0, 1) with a sum below 1, "
                         f"got {val_fraction}, {test_fraction}")
    n_val, n_test = max(1, int(round(n * val_fraction))), max(1, int(round(n * test_fraction)))
    if n - n_val - n_test < 1:
        raise InputError(f"{n} chorales leave none for training after {n_val} validation and {n_test} test ones: "
                         "load more (--max-chorales)")
    order = np.random.default_rng([seed, 7]).permutation(n)
    return {"train": np.sort(order[n_val + n_test:]), "val": np.sort(order[:n_val]),
            "test": np.sort(order[n_val:n_val + n_test])}


def allowed_shifts(chorale: Chorale, layout: Layout, max_shift: int) -> np.ndarray:
    """The transpositions (semitones, 0 included) in ``[-max_shift, max_shift]`` keeping every note in range."""
    lo, hi = int(chorale.notes[:, 0].min()), int(chorale.notes[:, 0].max())
    shifts = np.arange(-max_shift, max_shift + 1)
    return shifts[(lo + shifts >= layout.low) & (hi + shifts <= layout.high)]


@dataclass
class ChoraleData:
    """The loaded chorales, the split, and the padded arrays of the validation and test parts."""
    chorales: list[Chorale]
    layout: Layout
    split: dict[str, np.ndarray]
    max_shift: int = 0
    arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)

    def part(self, name: str) -> list[Chorale]:
        return [self.chorales[i] for i in self.split[name]]

    def rolls(self, chorales: Sequence[Chorale]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        rolls = [piano_roll(c, self.layout.grid, self.layout.low, self.layout.high) for c in chorales]
        return rolls, [bar_positions(c, self.layout.grid, len(r)) for c, r in zip(chorales, rolls)]

    def array(self, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, y, mask)`` of a part as Bach wrote it (no transposition)."""
        if name not in self.arrays:
            self.arrays[name] = self.layout.inputs(*self.rolls(self.part(name)))
        return self.arrays[name]

    def training_epoch(self, epoch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch of training data: each training chorale transposed by a shift drawn from ``rng``
        among its allowed ones (no transposition when ``max_shift`` is 0)."""
        part = self.part("train")
        if self.max_shift > 0:
            part = [c.transposed(int(rng.choice(allowed_shifts(c, self.layout, self.max_shift)))) for c in part]
        return self.layout.inputs(*self.rolls(part))


def unique_chorales(chorales: Sequence[Chorale], grid: float) -> tuple[list[Chorale], list[str]]:
    """The chorales without exact repeats (the same piano roll on this grid as an earlier one, e.g.
    one chorale filed under two BWV numbers), and the names of the repeats dropped."""
    lo, hi = pitch_range(chorales)
    seen: set[bytes] = set()
    kept, dropped = [], []
    for c in chorales:
        key = piano_roll(c, grid, lo, hi).tobytes()
        (dropped.append(c.name) if key in seen else kept.append(c))
        seen.add(key)
    return kept, dropped


def make_data(chorales: Sequence[Chorale], grid: float, seed: int, val_fraction: float, test_fraction: float,
              max_shift: int) -> ChoraleData:
    """Split the chorales and fix the layout: the pitch range of all loaded chorales, and as many
    bar positions as the longest bar has grid steps."""
    if max_shift < 0:
        raise InputError(f"transpose: expected a number of semitones >= 0, got {max_shift}")
    lo, hi = pitch_range(chorales)
    positions = max(int(round(c.bar / grid)) for c in chorales)
    layout = Layout(lo, hi, float(grid), max(1, positions))
    split = split_chorales(len(chorales), seed, val_fraction, test_fraction)
    return ChoraleData(list(chorales), layout, split, int(max_shift))
