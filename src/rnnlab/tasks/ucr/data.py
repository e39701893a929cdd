"""UCR/UEA splits: a stratified validation set from TRAIN, training-only z-normalisation, framing, padding."""
from __future__ import annotations

import numpy as np

from ...data.padding import pad_sequences
from ...data.scaling import StandardScaler
from ...data.ucr import load_ucr
from ...errors import InputError


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(fit, validation) indices: ``round(fraction * n_c)`` of each class (at least one when the class
    has two or more members) go to validation, drawn with ``rng``. Both sorted."""
    labels = np.asarray(labels)
    if not 0.0 <= fraction < 1.0:
        raise InputError(f"--val-fraction: expected a fraction in [0, 1), got {fraction}")
    val = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = int(round(fraction * idx.size))
        if fraction > 0 and idx.size >= 2:
            k = min(max(k, 1), idx.size - 1)
        val.append(rng.permutation(idx)[:k])
    val_idx = np.sort(np.concatenate(val)) if val else np.array([], dtype=np.int64)
    fit_idx = np.setdiff1d(np.arange(labels.size), val_idx)
    return fit_idx, val_idx


def frame_series(s: np.ndarray, k: int) -> np.ndarray:
    """(T, D) -> (ceil(T/k), k*D): step j holds original steps jk .. jk+k-1 (the last one zero-padded,
    i.e. the training mean after z-normalisation)."""
    if k == 1:
        return s
    t, d = s.shape
    steps = -(-t // k)
    out = np.zeros((steps * k, d), dtype=s.dtype)
    out[:t] = s
    return out.reshape(steps, k * d)


class Prepared(dict):
    """The splits of one data set, ready for the model (a dict with attribute access)."""
    __getattr__ = dict.__getitem__


def prepare(name: str, seed: int = 0, val_fraction: float = 0.2, frame: int = 1, fit_on_all: bool = False) -> Prepared:
    """Load ``name``, carve the validation set, fit the scaler on the training part only, pad.

    ``fit_on_all=True`` fits the scaler on the whole TRAIN file (used by ``--refit``, which trains
    on all of it); the TEST file never enters a fitted statistic.
    """
    if frame < 1:
        raise InputError(f"--frame: expected a positive integer, got {frame}")
    train_s, train_y, classes = load_ucr(name, "train")
    test_s, test_y, test_classes = load_ucr(name, "test")
    if test_classes != classes:
        raise InputError(f"{name}: the TRAIN and TEST files list different classes: {classes} vs {test_classes}")
    rng = np.random.default_rng(seed)
    fit_idx, val_idx = stratified_split(train_y, val_fraction, rng)
    scaler_rows = np.arange(len(train_s)) if fit_on_all else fit_idx
    scaler = StandardScaler().fit(np.concatenate([train_s[i] for i in scaler_rows], axis=0))

    def pack(series: list[np.ndarray], idx: np.ndarray | None = None):
        chosen = series if idx is None else [series[i] for i in idx]
        x, mask = pad_sequences([frame_series(scaler.transform(s), frame) for s in chosen], dtype=np.float32)
        return x, mask

    x_fit, m_fit = pack(train_s, fit_idx)
    x_all, m_all = pack(train_s)
    x_test, m_test = pack(test_s)
    out = Prepared(name=name, classes=classes, scaler=scaler, frame=frame, fit_idx=fit_idx, val_idx=val_idx,
                   x_fit=x_fit, m_fit=m_fit, y_fit=train_y[fit_idx],
                   x_all=x_all, m_all=m_all, y_all=train_y,
                   x_test=x_test, m_test=m_test, y_test=test_y,
                   n_features=x_fit.shape[2],
                   lengths={"train": [int(min(len(s) for s in train_s)), int(max(len(s) for s in train_s))],
                            "test": [int(min(len(s) for s in test_s)), int(max(len(s) for s in test_s))]})
    if val_idx.size:
        out["x_val"], out["m_val"] = pack(train_s, val_idx)
        out["y_val"] = train_y[val_idx]
    return out
