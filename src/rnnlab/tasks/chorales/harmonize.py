"""Harmonisation: Bach's soprano given, the lower voices generated frame by frame, scored against Bach.

At every step the model's probabilities for the frame are constrained: the soprano (the highest
pitch of Bach's frame) on, everything above it off, and below it the ``voices - 1`` most probable
pitches on (nothing when Bach's frame is silent). The chosen frame — not Bach's — is fed back,
so the model harmonises its own earlier choices, as a composer would.

Score: frame accuracy of the lower voices, TP / (TP + FP + FN) summed over the frames, where a
true positive is a pitch below the soprano that both Bach and the model sound. Baseline: for each
soprano pitch the set of lower pitches most often under it in the training chorales (no context).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from ...losses import sigmoid
from .model import ChoraleModel, FrameStepper, input_step


def soprano(frames: np.ndarray) -> np.ndarray:
    """``(..., T)`` index of the highest pitch sounding in each frame, -1 for a silent frame."""
    on = np.asarray(frames).astype(bool)
    top = on.shape[-1] - 1 - np.argmax(on[..., ::-1], axis=-1)
    return np.where(on.any(axis=-1), top, -1)


def constrained(p: np.ndarray, top: np.ndarray, voices: int) -> np.ndarray:
    """Frames ``(B, P)``: the soprano ``top`` (per row, -1 = silent) and the ``voices - 1`` most
    probable pitches below it."""
    out = np.zeros(p.shape, dtype=np.uint8)
    for b, s in enumerate(top):
        if s < 0:
            continue
        out[b, s] = 1
        below = np.argsort(-p[b, :s], kind="stable")[:max(0, voices - 1)]
        out[b, below] = 1
    return out


def harmonize(model: ChoraleModel, x: np.ndarray, truth: np.ndarray, mask: np.ndarray, voices: int = 4) -> np.ndarray:
    """Lower voices under Bach's soprano for a batch laid out as in training (``x`` gives the bar
    positions, ``truth (B, T, P)`` the soprano, ``mask (B, T)`` the lengths) -> frames ``(B, T, P)``
    uint8 (zeros on padding)."""
    layout = model.need_layout()
    positions = np.argmax(x[..., layout.pitches:], axis=-1)
    tops = soprano(truth)
    B, T, P = truth.shape
    out = np.zeros((B, T, P), dtype=np.uint8)
    with FrameStepper(model) as run:
        z = run.start(input_step(layout, np.zeros((B, P), np.float32), positions[:, 0])[:, None, :])
        for t in range(T):
            out[:, t] = constrained(sigmoid(z), tops[:, t], voices) * mask[:, t, None]
            if t + 1 < T:
                z = run.step(input_step(layout, out[:, t].astype(np.float32), positions[:, t + 1]))
    return out


def lower_voice_accuracy(pred: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """TP / (TP + FP + FN) over the pitches below Bach's soprano, valid frames only."""
    tops = soprano(truth)
    below = np.arange(truth.shape[-1]) < np.where(tops < 0, 0, tops)[..., None]
    keep = below & mask[..., None]
    p, y = pred.astype(bool) & keep, truth.astype(bool) & keep
    tp, wrong = (p & y).sum(), (p ^ y).sum()
    return float(tp / max(1, tp + wrong))


def table_baseline(train: np.ndarray, train_mask: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """For each frame of ``truth``, the lower pitches most often under its soprano pitch in the
    training frames (the overall most frequent frame for a soprano never seen in training)."""
    counts: dict[int, Counter] = {}
    frames = train[train_mask].astype(bool)
    for frame, s in zip(frames, soprano(frames)):
        if s >= 0:
            counts.setdefault(int(s), Counter())[frame[:s].tobytes()] += 1
    overall = Counter(f.tobytes() for f in frames)
    fallback = np.frombuffer(overall.most_common(1)[0][0], dtype=bool)
    tops = soprano(truth)
    out = np.zeros(truth.shape, dtype=np.uint8)
    for idx in np.ndindex(tops.shape):
        s = int(tops[idx])
        if s < 0:
            continue
        if s in counts:
            lower = np.frombuffer(counts[s].most_common(1)[0][0], dtype=bool)
            out[idx][:s] = lower
        else:
            out[idx][:s] = fallback[:s]
        out[idx][s] = 1
    return out


def teacher_forced(model: ChoraleModel, x: np.ndarray, truth: np.ndarray, mask: np.ndarray, voices: int = 4) -> np.ndarray:
    """The same choice at every frame, but after Bach's own frames (not a harmonisation: a reference)."""
    p = model.predict(x, mask=mask, batch_size=64)
    tops = soprano(truth)
    out = np.stack([constrained(p[:, t], tops[:, t], voices) for t in range(truth.shape[1])], axis=1)
    return out * mask[..., None]


def score(model: ChoraleModel, train: tuple, test: tuple) -> dict:
    """Lower-voice frame accuracy on the test chorales of the model (harmonising its own choices),
    of the model after Bach's frames (teacher forced), and of the table baseline; ``train`` is
    ``(y, mask)``, ``test`` is ``(x, y, mask)``."""
    x, y, mask = test
    return {"model_lower_voice_accuracy": lower_voice_accuracy(harmonize(model, x, y, mask), y, mask),
            "teacher_forced_lower_voice_accuracy": lower_voice_accuracy(teacher_forced(model, x, y, mask), y, mask),
            "table_baseline_lower_voice_accuracy": lower_voice_accuracy(table_baseline(train[0], train[1], y), y, mask),
            "what": "Bach's soprano given; the 3 most probable pitches below it chosen at every frame and fed back "
                    "(teacher forced: after Bach's frames instead); TP / (TP + FP + FN) over the pitches below the "
                    "soprano. Baseline: the lower pitches most often under that soprano pitch in training"}
