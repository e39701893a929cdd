"""PM2.5 inputs without leaks: causal gap filling, training-only scalers, windows inside their years."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ...errors import InputError
from .config import N_CLASSES, Config, years

def causal_fill(pm: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """pm2.5 with each gap filled by the last observed value (a leading gap by the first one).

    Unlike interpolation this uses nothing from later hours, so a window's inputs hold only what
    was known when the forecast is issued.
    """
    pm = np.asarray(pm, dtype=np.float64)
    missing = np.asarray(missing, dtype=bool)
    if pm.shape != missing.shape or pm.ndim != 1:
        raise InputError(f"causal_fill: expected pm and missing of one shape (N,), got {pm.shape}, {missing.shape}")
    if missing.all():
        raise InputError("causal_fill: no observed pm2.5 value at all")
    idx = np.where(~missing, np.arange(pm.size), -1)
    idx = np.maximum.accumulate(idx)
    first = int(np.flatnonzero(~missing)[0])
    idx[idx < 0] = first
    return pm[idx]


def fwd(v: np.ndarray, kind: str) -> np.ndarray:
    """The pm2.5 transform g: log1p or identity."""
    return np.log1p(np.maximum(v, 0.0)) if kind == "log1p" else np.asarray(v, dtype=np.float64)


def inv(v: np.ndarray, kind: str) -> np.ndarray:
    """g^-1, clipped at 0 µg/m³."""
    out = np.expm1(np.minimum(v, 20.0)) if kind == "log1p" else np.asarray(v, dtype=np.float64)
    return np.maximum(out, 0.0)


@dataclass
class Prepared:
    """Everything the models and baselines read; built by :func:`prepare`."""

    data: Any                       # PM25Data
    transform: str
    pm_known: np.ndarray            # (N,) µg/m³, causal fill: the inputs' pm2.5
    g_known: np.ndarray             # (N,) g(pm_known)
    features: np.ndarray            # (N, F) unscaled inputs (column 0 = g_known)
    scaler: Any                     # StandardScaler fitted on features[:train_rows_end]
    scaled: np.ndarray              # (N, F) float32
    train_rows_end: int
    train_years: list[int]
    val_years: list[int]
    test_years: list[int]
    steps: int
    climatology: np.ndarray         # (12, 24) mean observed pm2.5 by month x hour, training rows
    clim_band: np.ndarray           # (12, 24) most frequent band by month x hour, training rows
    majority_band: int
    feature_names: list[str] = field(default_factory=list)


def prepare(data, steps: int, transform: str = "none", train_years: Sequence[int] = (2010, 2011, 2012),
            val_years: Sequence[int] = (2013,), test_years: Sequence[int] = (2014,)) -> Prepared:
    """Inputs, the input scaler (training rows only) and the climatology tables."""
    from ...data.scaling import StandardScaler
    from ...data.windows import pm25_band
    years = np.asarray(data.years)
    train_rows = np.flatnonzero(np.isin(years, train_years))
    if train_rows.size == 0:
        raise InputError(f"no rows in the training years {list(train_years)}; the file has years "
                         f"{sorted(set(years.tolist()))}")
    later = np.flatnonzero(years > max(train_years))
    train_rows_end = int(later[0]) if later.size else int(years.size)
    pm_known = causal_fill(data.pm25, data.was_missing)
    g_known = fwd(pm_known, transform)
    features = np.array(data.values, dtype=np.float64, copy=True)
    features[:, 0] = g_known
    scaler = StandardScaler().fit(features[:train_rows_end])
    scaled = scaler.transform(features).astype(np.float32)

    obs = ~np.asarray(data.was_missing)[:train_rows_end]
    months = np.asarray(data.months)[:train_rows_end] - 1
    hours = np.asarray(data.hours)[:train_rows_end]
    pm_tr = np.asarray(data.pm25)[:train_rows_end]
    clim = np.full((12, 24), np.nan)
    cband = np.zeros((12, 24), dtype=np.int64)
    bands_tr = pm25_band(pm_tr)
    overall = float(pm_tr[obs].mean())
    for m in range(12):
        for h in range(24):
            sel = obs & (months == m) & (hours == h)
            clim[m, h] = pm_tr[sel].mean() if sel.any() else overall
            cband[m, h] = np.bincount(bands_tr[sel], minlength=N_CLASSES).argmax() if sel.any() else 0
    majority = int(np.bincount(bands_tr[obs], minlength=N_CLASSES).argmax())
    return Prepared(data=data, transform=transform, pm_known=pm_known, g_known=g_known,
                    features=features, scaler=scaler, scaled=scaled, train_rows_end=train_rows_end,
                    train_years=list(train_years), val_years=list(val_years), test_years=list(test_years),
                    steps=int(steps), climatology=clim, clim_band=cband, majority_band=majority,
                    feature_names=list(data.feature_names))


def window_ends(prep: Prepared, horizons: Sequence[int], split: str) -> np.ndarray:
    """Window end rows of a split whose targets at *every* horizon lie in that split's years.

    Training windows come from :func:`rnnlab.data.chronological_split_pm25` (no input or target
    from a later year); validation and test windows additionally drop the few whose nearest
    target still falls in the previous year.
    """
    from ...data.windows import chronological_split_pm25
    sp = chronological_split_pm25(prep.data, prep.steps, list(horizons), prep.train_years,
                                  prep.val_years, prep.test_years)
    ends = sp.ends(split)
    yrs = {"train": prep.train_years, "val": prep.val_years, "test": prep.test_years}[split]
    ends = ends[np.isin(np.asarray(prep.data.years)[ends + min(horizons)], yrs)]
    if ends.size == 0:
        raise InputError(f"no {split} windows with steps={prep.steps}, horizons={list(horizons)} "
                         f"in the years {yrs}")
    return ends


def windows_x(prep: Prepared, ends: np.ndarray) -> np.ndarray:
    idx = ends[:, None] + np.arange(-prep.steps + 1, 1)[None, :]
    return prep.scaled[idx]


def load(cfg: Config) -> Prepared:
    """Read the CSV (``cfg.data`` or ``$RNNLAB_DATA``) and :func:`prepare` it with the options."""
    from ...data.pm25 import load_pm25
    return prepare(load_pm25(cfg.data), cfg.steps, cfg.transform, years(cfg, "train"), years(cfg, "val"),
                   years(cfg, "test"))
