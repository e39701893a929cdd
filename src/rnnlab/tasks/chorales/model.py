"""``ChoraleModel``: the next-frame network that carries its pitch range and grid, and sampling from it.

The network reads ``[previous frame, bar position]`` at every step and outputs one logit per
pitch (the lecture's logistic output, once per pitch); the frame's pitches are independent
given the past, each on with probability ``sigmoid(z_k)``. The layout (lowest and highest
pitch, grid, bar positions) is saved in the model folder (``extras/chorales.json``) and comes
back with ``rnnlab.load`` once this module is imported (``rnnlab.tasks.chorales`` imports it).

Generation is the one-to-many case: from one opening chord (or a longer prime), one frame at a
time, each pitch drawn on or off independently from ``sigmoid(z_k / temperature)`` with a seeded
NumPy generator, the drawn frame fed back as the next input.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from ...builders import stacked_rnn
from ...errors import InputError, ModelFileError
from ...fileio import atomic_write_text
from ...generation import SequenceStepper
from ...layers.base import Layer
from ...layers.recurrent import inference_mode
from ...losses import sigmoid
from ...sequential import Sequential
from .data import Layout

LAYOUT_FILE = "chorales.json"


class ChoraleModel(Sequential):
    """A :class:`~rnnlab.Sequential` over frames ``(batch, time, P + L)`` → ``(batch, time, P)`` logits,
    with its :class:`Layout` (saved and loaded with the model)."""

    def __init__(self, layers: Sequence[Layer], layout: Layout | None = None, input_size: int | None = None,
                 seed: int = 0, dtype: str | np.dtype = "float32") -> None:
        super().__init__(layers, input_size=input_size, seed=seed, dtype=dtype)
        self.layout = layout
        if layout is not None:
            self._check_layout(layout)

    def _check_layout(self, layout: Layout) -> None:
        if self.input_size is not None and self.input_size != layout.input_size:
            raise InputError(f"ChoraleModel: the network reads {self.input_size} features per step, the layout "
                             f"gives {layout.input_size} ({layout.pitches} pitches + {layout.positions} bar positions)")
        out = self.layers[-1].output_size
        if out is not None and out != layout.pitches:
            raise InputError(f"ChoraleModel: the network outputs {out} logits, the layout has {layout.pitches} pitches")

    def save_extras(self, folder: Path) -> None:
        if self.layout is None:
            raise ModelFileError("ChoraleModel.save: the model has no layout (pitch range, grid) to save")
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / LAYOUT_FILE, json.dumps({"format": 1, **self.layout.to_dict()}, indent=1) + "\n")

    def load_extras(self, folder: Path) -> None:
        path = folder / LAYOUT_FILE
        try:
            layout = Layout.from_dict(json.loads(path.read_text(encoding="utf-8")))
            self._check_layout(layout)
        except FileNotFoundError:
            raise ModelFileError(f"{path}: missing (a chorale model keeps its pitch range there)") from None
        except (ValueError, KeyError, TypeError, InputError, RecursionError, OverflowError) as exc:
            raise ModelFileError(f"{path}: not a valid chorale layout: {type(exc).__name__}: {str(exc)[:200]}") from None
        except OSError as exc:
            raise ModelFileError(f"{path}: cannot read the chorale layout ({exc})") from None
        self.layout = layout

    def need_layout(self) -> Layout:
        if self.layout is None:
            raise InputError("this ChoraleModel has no layout: pass layout=... or set model.layout")
        return self.layout


def build_model(layout: Layout, cell: str, hidden: int, layers: int, dropout: float, seed: int,
                frequencies: np.ndarray | None = None) -> ChoraleModel:
    """``layers`` recurrent layers (every step) and ``Dense(P)``: one logit per pitch. With
    ``frequencies`` (each pitch's training frequency) the output biases start at their logits,
    so the untrained network already predicts as well as the independent baseline."""
    stack = stacked_rnn(cell, hidden, layers=layers, dropout=dropout, head=layout.pitches, return_sequences=True,
                        seed=seed)
    model = ChoraleModel(stack.layers, layout, input_size=layout.input_size, seed=seed)
    if frequencies is not None:
        f = np.clip(np.asarray(frequencies, dtype=np.float64), 1e-4, 1 - 1e-4)
        model.layers[-1].params["bias"][...] = np.log(f / (1 - f))
    return model


# ------------------------------------------------------------------------------- generation
class FrameStepper(SequenceStepper):
    """:class:`rnnlab.generation.SequenceStepper` for float frames: ``start(x (B, T, F))`` and
    ``step(x (B, F))`` return the logits ``(B, P)`` after the last step read."""

    def _frame_logits(self, x: np.ndarray) -> np.ndarray:
        with inference_mode():
            z, _ = self.model.forward(np.asarray(x, dtype=self.model.dtype), None, training=False)
        return np.asarray(z[:, -1, :], dtype=np.float64)

    def start(self, prime: np.ndarray) -> np.ndarray:  # type: ignore[override]
        prime = np.asarray(prime)
        if prime.ndim != 3 or prime.shape[1] < 1:
            raise InputError(f"prime: expected input frames of shape (batch, time >= 1, features), got {prime.shape}")
        for layer in self.recurrent:
            layer.reset_states()
        return self._frame_logits(prime)

    def step(self, x: np.ndarray) -> np.ndarray:  # type: ignore[override]
        return self._frame_logits(np.asarray(x)[:, None, :])


def input_step(layout: Layout, previous: np.ndarray, position: int | np.ndarray) -> np.ndarray:
    """One input step per row: ``[previous frame (B, P), onehot(position)]`` → ``(B, P + L)``
    (``position``: one for all rows, or one per row)."""
    batch = previous.shape[0]
    x = np.zeros((batch, layout.input_size), dtype=np.float32)
    x[:, :layout.pitches] = previous
    pos = np.broadcast_to(np.minimum(np.asarray(position, dtype=np.int64), layout.positions - 1), (batch,))
    x[np.arange(batch), layout.pitches + pos] = 1.0
    return x


def draw_frame(p: np.ndarray, rng: np.random.Generator, max_voices: int = 0) -> np.ndarray:
    """One frame per row: pitch k on with probability ``p[:, k]``, independently; with
    ``max_voices`` > 0, of the pitches drawn only the ``max_voices`` most probable stay on."""
    on = rng.random(p.shape) < p
    if max_voices > 0 and (on.sum(axis=1) > max_voices).any():
        rank = np.argsort(np.argsort(-np.where(on, p, -1.0), axis=1, kind="stable"), axis=1, kind="stable")
        on &= rank < max_voices
    return on.astype(np.uint8)


def compose(model: ChoraleModel, prime: np.ndarray, steps: int, positions: np.ndarray, *,
            temperature: float = 1.0, seed: int | np.random.Generator = 0, samples: int = 1,
            max_voices: int = 0) -> np.ndarray:
    """Continue ``prime`` (``(T0, P)`` frames, T0 >= 1) by ``steps`` frames: ``(samples, T0 + steps, P)`` uint8.

    ``positions``: the bar position of every frame (length T0 + steps). Each new frame's pitches
    are drawn independently, pitch k on with probability ``sigmoid(z_k / temperature)``
    (:func:`draw_frame`; ``max_voices`` > 0 keeps at most that many of them).
    """
    layout = model.need_layout()
    prime = np.asarray(prime, dtype=np.uint8)
    if prime.ndim != 2 or prime.shape[1] != layout.pitches or len(prime) < 1:
        raise InputError(f"prime: expected frames of shape (time >= 1, {layout.pitches}), got {prime.shape}")
    if not (temperature > 0 and np.isfinite(temperature)):
        raise InputError(f"temperature: expected a positive number, got {temperature!r}")
    steps, t0 = int(steps), len(prime)
    if steps < 0 or len(positions) != t0 + steps:
        raise InputError(f"positions: expected {t0 + steps} bar positions (prime + steps), got {len(positions)}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = np.zeros((samples, t0 + steps, layout.pitches), dtype=np.uint8)
    out[:, :t0] = prime
    if steps == 0:
        return out
    # read the prime: x_0 … x_T0 (x_t holds frame t-1 and the position of frame t)
    previous = np.zeros((samples, t0 + 1, layout.pitches), dtype=np.float32)
    previous[:, 1:] = prime
    xs = np.stack([input_step(layout, previous[:, t], positions[t]) for t in range(t0 + 1)], axis=1)
    with FrameStepper(model) as run:
        z = run.start(xs)
        for t in range(t0, t0 + steps):
            out[:, t] = draw_frame(sigmoid(z / float(temperature)), rng, int(max_voices))
            if t + 1 < t0 + steps:
                z = run.step(input_step(layout, out[:, t].astype(np.float32), positions[t + 1]))
    return out


def frame_probabilities(model: ChoraleModel, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``p(frame_t | frames < t)`` for every step: ``(B, T, P)`` float64."""
    return model.predict(x, mask=mask, batch_size=64).astype(np.float64)
