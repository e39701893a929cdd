"""Sliding windows over a time series, a leak-free chronological split, and PM2.5 bands.

Window convention: the window *ending* at row ``i`` holds the inputs ``values[i-steps+1 .. i]``
(both ends included) and, for each horizon ``h``, the target ``target[i+h]``. ``h = 1`` is the
next hour. Several horizons give a direct multi-horizon target ``y[:, k] = target[i + h_k]``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..errors import InputError

#: Lower edges (µg/m³) of the air-quality bands 1..5; band 0 is below 50.
PM25_BAND_EDGES = (50.0, 100.0, 150.0, 200.0, 300.0)
PM25_BAND_NAMES = ("<50", "50-100", "100-150", "150-200", "200-300", ">=300")


def _as_horizons(horizon: int | Sequence[int]) -> np.ndarray:
    h = np.atleast_1d(np.asarray(horizon))
    if h.ndim != 1 or h.size == 0 or not np.issubdtype(h.dtype, np.integer) or np.any(h < 0):
        raise InputError(f"horizon: expected a non-negative int or a non-empty sequence of them, "
                         f"got {horizon!r}")
    return h.astype(np.int64)


def _check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise InputError(f"steps: expected a positive int, got {steps!r}")
    return int(steps)


def window_ends(n_rows: int, steps: int, horizon: int | Sequence[int]) -> np.ndarray:
    """All valid window end rows ``i``: ``steps-1 <= i`` and ``i + max(horizon) < n_rows``."""
    steps = _check_steps(steps)
    h = _as_horizons(horizon)
    return np.arange(steps - 1, n_rows - int(h.max()), dtype=np.int64)


def make_windows(values: Any, target: Any, steps: int, horizon: int | Sequence[int],
                 ends: Any = None, dtype: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``(x, y)`` windows from a series.

    Parameters
    ----------
    values: ``(N, F)`` inputs (a 1-D series is taken as ``F = 1``).
    target: ``(N,)`` series the targets are read from.
    steps: window length ``T``.
    horizon: one int or a sequence of ints; ``y[:, k] = target[i + horizon[k]]``.
    ends: the window end rows to use (default: every valid one, see :func:`window_ends`).
    dtype: dtype of ``x`` and ``y`` (default: that of ``values``, at least float).

    Returns
    -------
    x: ``(n, steps, F)``; y: ``(n, len(horizons))`` (an int horizon counts as one horizon).
    """
    steps = _check_steps(steps)
    h = _as_horizons(horizon)
    v = np.asarray(values)
    if v.ndim == 1:
        v = v[:, None]
    tgt = np.asarray(target)
    if v.ndim != 2 or tgt.ndim != 1 or tgt.shape[0] != v.shape[0]:
        raise InputError(f"make_windows: expected values (N, F) and target (N,) with the same N, "
                         f"got values {np.shape(values)} and target {np.shape(target)}")
    if not (np.issubdtype(v.dtype, np.number) and np.issubdtype(tgt.dtype, np.number)):
        raise InputError(f"make_windows: expected numeric values and target, got dtypes "
                         f"{v.dtype} and {tgt.dtype}")
    n = v.shape[0]
    if ends is None:
        ends = window_ends(n, steps, h)
    ends = np.asarray(ends)
    if ends.ndim != 1 or not (ends.size == 0 or np.issubdtype(ends.dtype, np.integer)):
        raise InputError(f"ends: expected a 1-D integer array of window end rows, got shape "
                         f"{ends.shape}, dtype {ends.dtype}")
    ends = ends.astype(np.int64)
    if ends.size and (ends.min() < steps - 1 or ends.max() + h.max() >= n):
        raise InputError(f"ends: each window end i must satisfy {steps - 1} <= i <= "
                         f"{n - 1 - int(h.max())} (steps={steps}, max horizon={int(h.max())}, "
                         f"N={n}); got range [{ends.min()}, {ends.max()}]")
    if dtype is None:
        dtype = np.result_type(v.dtype, np.float32)
    idx = ends[:, None] + np.arange(-steps + 1, 1)[None, :]
    x = v[idx].astype(dtype, copy=False)
    y = tgt[ends[:, None] + h[None, :]].astype(dtype, copy=False)
    return x, y


@dataclass
class ChronoSplit:
    """Window end rows per split, plus the rows a scaler may be fitted on.

    ``train_rows_end``: rows ``[0, train_rows_end)`` hold no value from the validation or test
    years; fit scalers on ``values[:train_rows_end]`` only. Every train window lies inside them.
    """

    steps: int
    horizons: np.ndarray
    train_ends: np.ndarray
    val_ends: np.ndarray
    test_ends: np.ndarray
    train_rows_end: int

    def ends(self, split: str) -> np.ndarray:
        """The window end rows of ``'train'``, ``'val'`` or ``'test'``."""
        if split not in ("train", "val", "test"):
            raise InputError(f"split: expected 'train', 'val' or 'test', got {split!r}")
        return getattr(self, f"{split}_ends")

    def windows(self, values: Any, target: Any, split: str,
                dtype: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``make_windows`` for one split (pass already scaled values/target if you scale)."""
        return make_windows(values, target, self.steps, self.horizons, ends=self.ends(split),
                            dtype=dtype)


def _year_set(years: Sequence[int], name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(years))
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"{name}: expected a non-empty sequence of int years, got {years!r}")
    return arr


def chronological_split(years: Any, steps: int, horizons: int | Sequence[int],
                        train_years: Sequence[int], val_years: Sequence[int],
                        test_years: Sequence[int]) -> ChronoSplit:
    """Assign every window to a split by the year of its *last* target row.

    Rows must be in time order and the year sets chronological (every train year before every
    validation year, before every test year). A window whose target is in year ``Y`` goes to the
    split that owns ``Y``; windows whose target year is in no set are dropped. A window that
    straddles a boundary (inputs in 2012, target in 2013) therefore goes to the *later* split and
    uses the earlier rows as context. No input or target of a train window comes from a
    validation or test year, and no test-year value enters a train or validation window.
    """
    yrs = np.asarray(years)
    if yrs.ndim != 1 or not np.issubdtype(yrs.dtype, np.integer):
        raise InputError(f"years: expected a 1-D int array, got shape {yrs.shape}, dtype {yrs.dtype}")
    if np.any(np.diff(yrs) < 0):
        raise InputError("years: expected rows in time order (non-decreasing years), found a year "
                         f"going back at row {int(np.flatnonzero(np.diff(yrs) < 0)[0]) + 1}")
    tr = _year_set(train_years, "train_years")
    va = _year_set(val_years, "val_years")
    te = _year_set(test_years, "test_years")
    if not (tr.max() < va.min() and va.max() < te.min()):
        raise InputError(f"expected chronological, disjoint year sets (train < val < test), got "
                         f"train {tr.tolist()}, val {va.tolist()}, test {te.tolist()}")
    h = _as_horizons(horizons)
    ends = window_ends(yrs.size, steps, h)
    target_year = yrs[ends + int(h.max())]
    later = np.flatnonzero(yrs > tr.max())
    train_rows_end = int(later[0]) if later.size else int(yrs.size)
    return ChronoSplit(
        steps=int(steps),
        horizons=h,
        train_ends=ends[np.isin(target_year, tr)],
        val_ends=ends[np.isin(target_year, va)],
        test_ends=ends[np.isin(target_year, te)],
        train_rows_end=train_rows_end,
    )


def chronological_split_pm25(data: Any, steps: int, horizons: int | Sequence[int],
                             train_years: Sequence[int] = (2010, 2011, 2012),
                             val_years: Sequence[int] = (2013,),
                             test_years: Sequence[int] = (2014,)) -> ChronoSplit:
    """:func:`chronological_split` on a :class:`~rnnlab.data.PM25Data` (uses ``data.years``).

    Then ``split.windows(values, data.pm25, 'train')`` gives the train ``(x, y)``; fit scalers on
    ``data.values[:split.train_rows_end]``.
    """
    years = getattr(data, "years", None)
    if years is None:
        raise InputError(f"data: expected a PM25Data (with a .years array), got {type(data).__name__}")
    return chronological_split(years, steps, horizons, train_years, val_years, test_years)


def pm25_band(values: Any) -> np.ndarray | int:
    """Air-quality band of PM2.5 concentrations (µg/m³): 0 ``<50``, 1 ``50-100``, 2 ``100-150``,
    3 ``150-200``, 4 ``200-300``, 5 ``>=300``. A boundary value goes to the upper band (50 -> 1).

    Returns an int64 array of the input's shape (a Python int for a scalar).
    """
    arr = np.asarray(values)
    if not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"pm25_band: expected numeric concentrations, got dtype {arr.dtype}")
    if np.any(np.isnan(arr)):
        raise InputError("pm25_band: found NaN concentrations; fill gaps first (load_pm25 does)")
    bands = np.digitize(arr, PM25_BAND_EDGES, right=False).astype(np.int64)
    return int(bands) if bands.ndim == 0 else bands
