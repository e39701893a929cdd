"""Piano-roll pictures: a test chorale beside the model's predicted probabilities, and a composed piece."""
from __future__ import annotations

import os

import numpy as np

from ...viz import pyplot, save_figure

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def note_name(midi: int) -> str:
    """MIDI number -> name with octave (60 -> C4)."""
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def key_text(tonic: int, mode: str) -> str:
    """Pitch class and mode -> e.g. ``'G minor'``."""
    return f"{NOTE_NAMES[int(tonic) % 12]} {mode}"


def _roll_axes(ax, image: np.ndarray, low: int, grid: float, bar_steps: int | None, title: str, cmap: str,
               vmax: float = 1.0) -> object:
    steps, pitches = image.shape
    im = ax.imshow(image.T, origin="lower", aspect="auto", cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest",
                   extent=(-0.5, steps - 0.5, low - 0.5, low + pitches - 0.5))
    cs = [m for m in range(low, low + pitches) if m % 12 == 0]
    ax.set_yticks(cs, [note_name(m) for m in cs])
    if bar_steps:
        for b in range(0, steps + 1, bar_steps):
            ax.axvline(b - 0.5, color="0.6", lw=0.5)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f"step ({grid:g} quarter notes each)")
    ax.set_ylabel("pitch")
    return im


def plot_prediction(path: str | os.PathLike, truth: np.ndarray, probs: np.ndarray, low: int, grid: float,
                    title: str, bar_steps: int | None = None, pickup_steps: int = 0) -> None:
    """Truth (top), predicted probabilities p(frame_t | frames < t) (middle), and both overlaid
    (bottom: probabilities in grey, true notes outlined in red)."""
    plt = pyplot()
    fig, axes = plt.subplots(3, 1, figsize=(min(16, 4 + len(truth) * 0.07), 9.5), sharex=True)
    _roll_axes(axes[0], truth.astype(float), low, grid, None, f"{title}: Bach", "Greys")
    im = _roll_axes(axes[1], probs, low, grid, None, "the model's probability of each pitch, given the frames before",
                    "viridis")
    fig.colorbar(im, ax=axes[1], fraction=0.025, pad=0.01)
    _roll_axes(axes[2], probs, low, grid, None, "overlay: probability (grey) and Bach's notes (red)", "Greys")
    t, k = np.nonzero(truth)
    axes[2].scatter(t, low + k, s=6, marker="s", facecolors="none", edgecolors="red", linewidths=0.6)
    if bar_steps:
        for ax in axes:
            for b in range(pickup_steps % bar_steps, len(truth) + 1, bar_steps):
                ax.axvline(b - 0.5, color="0.7", lw=0.4)
    for ax in axes[:2]:
        ax.set_xlabel("")
    save_figure(fig, path)


def plot_roll(path: str | os.PathLike, roll: np.ndarray, low: int, grid: float, title: str,
              bar_steps: int | None = None) -> None:
    """One piano roll (a composed piece), bar lines every ``bar_steps`` steps."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(min(16, 4 + len(roll) * 0.08), 4.2))
    _roll_axes(ax, roll.astype(float), low, grid, bar_steps, title, "Greys")
    save_figure(fig, path)
