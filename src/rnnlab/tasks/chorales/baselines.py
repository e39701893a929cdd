"""Frame-level negative log-likelihood, the two naive baselines, and the literature's figures.

Every figure is the NLL of a frame **summed over the pitches**, in nats per frame, averaged over
the scored frames (every frame of every chorale in the part):

    NLL(frame) = - sum_k [ y_k log p_k + (1 - y_k) log(1 - p_k) ]

rnnlab's binary cross-entropy averages over the pitches as well (mean over frames x P), so the
model's figure is ``loss x P`` (:func:`nats_per_frame_from_loss`).

Baselines, scored on the same frames as the model:

- ``independent``: each pitch on with its frequency in the training part (add-one smoothed),
  the same for every frame;
- ``repeat_previous``: the previous frame (silence before the first), smoothed with those
  frequencies, ``p = w * previous + (1 - w) * frequency``; ``w`` chosen on the validation part.
"""
from __future__ import annotations

import numpy as np

#: The literature's JSB Chorales figures (test NLL, nats per frame summed over pitches).
LITERATURE = {
    "source_note": (
        "JSB Chorales as prepared by Boulanger-Lewandowski et al. (2012): 382 chorales split 229/76/77 "
        "(train/validation/test), one frame per quarter note, an 88-key piano range (as the data set is usually "
        "described; not re-checked in this session). Ours: music21's corpus (366 four-part chorales), a seeded "
        "split 292/37/37, our own grid (eighth notes by default: about twice as many frames, many of them held "
        "notes that are easy to predict), the 46 pitches that occur, bar positions as input and transposed "
        "training copies. The figures are of the same kind (nats per frame) but not directly comparable."),
    "entries": [
        {"paper": "Boulanger-Lewandowski, Bengio & Vincent 2012 (ICML), Table 1", "model": "RNN", "nll": 8.71,
         "checked": "not verified in this session (from memory of the paper; check before quoting)"},
        {"paper": "Boulanger-Lewandowski, Bengio & Vincent 2012 (ICML), Table 1", "model": "RNN-RBM", "nll": 7.27,
         "checked": "not verified in this session (from memory of the paper; check before quoting)"},
        {"paper": "Boulanger-Lewandowski, Bengio & Vincent 2012 (ICML), Table 1", "model": "RNN-NADE (HF)",
         "nll": 5.56, "checked": "not verified in this session (from memory of the paper; check before quoting)"},
        {"paper": "Chung, Gulcehre, Cho & Bengio 2014, Table 2", "model": "tanh RNN", "nll": 8.61,
         "checked": "figure from the task brief; not found in a searchable copy"},
        {"paper": "Chung, Gulcehre, Cho & Bengio 2014, Table 2", "model": "GRU", "nll": 8.54,
         "checked": "matches the Papers with Code entry of the paper (JSB Chorales, GRU, NLL 8.54)"},
        {"paper": "Chung, Gulcehre, Cho & Bengio 2014, Table 2", "model": "LSTM", "nll": 8.67,
         "checked": "figure from the task brief; not found in a searchable copy"},
    ],
}

EPS = 1e-7


def frame_nll(p: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    """Mean over the valid frames of ``-sum_k [y log p + (1-y) log(1-p)]`` (nats per frame)."""
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    y = np.asarray(y, dtype=np.float64)
    per_frame = -(y * np.log(p) + (1 - y) * np.log1p(-p)).sum(axis=-1)
    return float(per_frame[mask].mean())


def nats_per_frame_from_loss(loss: float, pitches: int) -> float:
    """rnnlab's binary cross-entropy (mean over frames x pitches) -> nats per frame summed over pitches."""
    return float(loss) * int(pitches)


def pitch_frequencies(y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(P,)``: add-one smoothed frequency of each pitch being on, over the valid frames."""
    frames = y[mask]
    return (frames.sum(axis=0) + 1.0) / (len(frames) + 2.0)


def previous_frames(y: np.ndarray) -> np.ndarray:
    """The frame before each one (silence before the first)."""
    prev = np.zeros_like(y)
    prev[:, 1:] = y[:, :-1]
    return prev


def repeat_probabilities(y: np.ndarray, freq: np.ndarray, w: float) -> np.ndarray:
    return w * previous_frames(y) + (1 - w) * freq


def best_repeat_weight(y: np.ndarray, mask: np.ndarray, freq: np.ndarray) -> float:
    """The mixture weight minimising the validation NLL (grid, then a finer grid around the best)."""
    grid = np.linspace(0.0, 0.99, 100)
    scores = [frame_nll(repeat_probabilities(y, freq, w), y, mask) for w in grid]
    best = float(grid[int(np.argmin(scores))])
    fine = np.clip(np.linspace(best - 0.01, best + 0.01, 41), 0.0, 0.9999)
    scores = [frame_nll(repeat_probabilities(y, freq, w), y, mask) for w in fine]
    return float(fine[int(np.argmin(scores))])


def score_baselines(train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray],
              test: tuple[np.ndarray, np.ndarray]) -> dict:
    """Both baselines on the validation and test frames; each part is ``(y, mask)``."""
    freq = pitch_frequencies(*train)
    w = best_repeat_weight(*val, freq)
    out = {"independent": {}, "repeat_previous": {"weight": w, "weight_chosen_on": "validation"}}
    for name, (y, mask) in (("val", val), ("test", test)):
        out["independent"][f"{name}_nats_per_frame"] = frame_nll(np.broadcast_to(freq, y.shape), y, mask)
        out["repeat_previous"][f"{name}_nats_per_frame"] = frame_nll(repeat_probabilities(y, freq, w), y, mask)
    out["independent"]["what"] = "each pitch on with its training frequency (add-one smoothed), every frame alike"
    out["repeat_previous"]["what"] = "w * previous frame + (1 - w) * training frequency, w chosen on validation"
    return out
