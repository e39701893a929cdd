"""Scores, and the naive forecasts every model number stands beside (persistence, climatology, majority)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ... import metrics as M
from .config import N_CLASSES
from .data import Prepared

def regression_scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    p, y = np.asarray(pred, np.float64)[:, None], np.asarray(truth, np.float64)[:, None]
    return {"rmse": M.rmse(p, y), "mae": M.mae(p, y), "r2": M.r2(p, y), "n": int(len(y))}


def classification_scores(pred: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    pred, truth = np.asarray(pred, np.int64), np.asarray(truth, np.int64)
    return {"accuracy": float(np.mean(pred == truth)),
            "macro_f1": M.macro_f1(pred, truth, N_CLASSES),
            "confusion": M.confusion_matrix(pred, truth, N_CLASSES).tolist(), "n": int(len(truth))}


def baseline_values(prep: Prepared, ends: np.ndarray, h: int) -> dict[str, np.ndarray]:
    """Persistence and climatology forecasts (µg/m³) of pm[end + h]."""
    d = prep.data
    t = ends + h
    return {"persistence": prep.pm_known[ends],
            "climatology": prep.climatology[np.asarray(d.months)[t] - 1, np.asarray(d.hours)[t]]}


def baseline_bands(prep: Prepared, ends: np.ndarray, h: int) -> dict[str, np.ndarray]:
    from ...data.windows import pm25_band
    d = prep.data
    t = ends + h
    return {"persistence": pm25_band(prep.pm_known[ends]),
            "climatology": prep.clim_band[np.asarray(d.months)[t] - 1, np.asarray(d.hours)[t]],
            "majority": np.full(len(ends), prep.majority_band, dtype=np.int64)}


def pooled_r2(pred: np.ndarray, prep: Prepared, ends: np.ndarray, h: int, obs: np.ndarray) -> float:
    """The reference's scoring: blocks of ``h`` hours, each forecast from the block's first
    window for the lead times 1..h, so every hour is predicted once; R² pooled over all of them."""
    pm = np.asarray(prep.data.pm25)
    starts = np.arange(0, len(ends) - h + 1, h)
    rows = ends[starts][:, None] + np.arange(1, h + 1)[None, :]
    ok = obs[rows]
    return M.r2(pred[starts, :h][ok][:, None], pm[rows][ok][:, None])
