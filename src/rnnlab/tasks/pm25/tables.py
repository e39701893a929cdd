"""The results tables (markdown) of one run, and which test windows the prediction plot shows."""
from __future__ import annotations

import datetime
import math
from typing import Any

import numpy as np

from .config import REFERENCE
from .data import Prepared


def plot_rows(prep: Prepared, ends: np.ndarray, start: datetime.date, days: int) -> np.ndarray:
    """Indices into ``ends`` of the windows issued in [start, start + days) (may be empty)."""
    d = prep.data
    t = (np.asarray(d.years)[ends] * 10000 + np.asarray(d.months)[ends] * 100 + np.asarray(d.days)[ends])
    lo = start.year * 10000 + start.month * 100 + start.day
    stop = start + datetime.timedelta(days=days)
    hi = stop.year * 10000 + stop.month * 100 + stop.day
    sel = np.flatnonzero((t >= lo) & (t < hi))
    return sel if sel.size else np.arange(min(len(ends), 24 * days))


def fmt(v: Any, nd: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def regression_table(res: dict[str, Any]) -> str:
    ref_key = "r2_deep" if res["layers"] > 1 else "r2_single_layer"
    lines = ["| h | model RMSE | MAE | R² | R² pooled 1..h | persistence RMSE | MAE | R² | "
             "climatology RMSE | R² | reference R² (leaky, pooled) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for h, r in res["per_horizon"].items():
        m, p, c = r["model"], r["persistence"], r["climatology"]
        lines.append(f"| {h} | {m['rmse']:.2f} | {m['mae']:.2f} | {m['r2']:.3f} | {fmt(r.get('model_r2_pooled'))} | "
                     f"{p['rmse']:.2f} | {p['mae']:.2f} | {p['r2']:.3f} | {c['rmse']:.2f} | {c['r2']:.3f} | "
                     f"{fmt(REFERENCE[ref_key].get(str(h)))} |")
    return "\n".join(lines)


def classification_table(res: dict[str, Any]) -> str:
    lines = ["| h | model acc | macro-F1 | persistence acc | macro-F1 | climatology acc | majority acc | "
             "reference acc (about) |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for h, r in res["per_horizon"].items():
        m, p, c, j = r["model"], r["persistence"], r["climatology"], r["majority"]
        lines.append(f"| {h} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {p['accuracy']:.3f} | "
                     f"{p['macro_f1']:.3f} | {c['accuracy']:.3f} | {j['accuracy']:.3f} | "
                     f"{REFERENCE['classification_accuracy_about']:.2f} |")
    return "\n".join(lines)
