"""Loader for the UCI Beijing PM2.5 data set (Liang et al. 2015), hourly, 2010-2014.

The file is ``PRSA_data_2010.1.1-2014.12.31.csv`` with the columns
``No,year,month,day,hour,pm2.5,DEWP,TEMP,PRES,cbwd,Iws,Is,Ir``. :func:`load_pm25` validates it
and turns it into a float feature matrix (columns in this order):

* ``pm2.5`` (µg/m³), with ``NA`` gaps filled by linear interpolation in time; a leading gap is
  back-filled with the first observed value and a trailing gap forward-filled with the last;
* ``DEWP``, ``TEMP`` (°C) and ``PRES`` (hPa) as they are;
* ``wind_NE, wind_NW, wind_SE, wind_cv``: the combined wind direction ``cbwd`` one-hot coded
  (``cv`` is "calm and variable");
* ``Iws_hourly, Is_hourly, Ir_hourly``: the file's ``Iws`` (cumulated wind speed, m/s), ``Is``
  (cumulated hours of snow) and ``Ir`` (cumulated hours of rain) run totals turned into
  per-hour increments. Rule: ``inc[t] = v[t] - v[t-1]`` when the previous value is nonzero, the
  run goes on (for ``Iws``: the wind direction is unchanged) and ``v[t] >= v[t-1]``; otherwise
  the run restarted and ``inc[t] = v[t]`` (a reset gives the raw value; the first row too);
* ``hour_sin, hour_cos``: hour of day on the unit circle, angle ``2*pi*hour/24``;
* ``doy_sin, doy_cos``: day of year on the unit circle, angle ``2*pi*(doy-1)/days_in_that_year``.
"""
from __future__ import annotations

import csv
import datetime
import io
import os
import pathlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import InputError
from .paths import find_data_file
from .text import decode_utf8

RELPATH = "PM25_data.csv"
URL = ("https://archive.ics.uci.edu/ml/machine-learning-databases/00381/"
       "PRSA_data_2010.1.1-2014.12.31.csv")
SHA256 = "4fe4c954a563d0e746f96c258e1acf31f7880f1ad825b046052121938781c656"

COLUMNS = ("No", "year", "month", "day", "hour", "pm2.5", "DEWP", "TEMP", "PRES", "cbwd",
           "Iws", "Is", "Ir")
WIND_CODES = ("NE", "NW", "SE", "cv")
FEATURE_NAMES = ("pm2.5", "DEWP", "TEMP", "PRES", "wind_NE", "wind_NW", "wind_SE", "wind_cv",
                 "Iws_hourly", "Is_hourly", "Ir_hourly", "hour_sin", "hour_cos", "doy_sin",
                 "doy_cos")
_INT_COLS = ("year", "month", "day", "hour")
_FLOAT_COLS = ("DEWP", "TEMP", "PRES", "Iws", "Is", "Ir")
_MISSING = {"NA", "", "NaN", "nan"}


@dataclass
class PM25Data:
    """The loaded series. ``values[:, 0]`` is ``pm25``; see the module docstring for the columns."""

    values: np.ndarray          # (N, F) float64 features, names in feature_names
    feature_names: list[str]
    pm25: np.ndarray            # (N,) float64, gaps interpolated
    was_missing: np.ndarray     # (N,) bool, True where pm2.5 was NA in the file
    years: np.ndarray           # (N,) int64
    months: np.ndarray
    days: np.ndarray
    hours: np.ndarray
    n_filled: int               # number of pm2.5 values filled in

    def __len__(self) -> int:
        return int(self.values.shape[0])


def cumulative_to_hourly(cum: np.ndarray, same_run: np.ndarray | None = None) -> np.ndarray:
    """Per-hour increments of run totals (rule in the module docstring).

    ``same_run[t]`` says whether row ``t`` may continue the run of row ``t-1`` (``None``: always).
    """
    cum = np.asarray(cum, dtype=np.float64)
    inc = cum.copy()
    if cum.size > 1:
        prev, cur = cum[:-1], cum[1:]
        cont = (prev != 0) & (cur >= prev)
        if same_run is not None:
            cont &= np.asarray(same_run, dtype=bool)[1:]
        inc[1:] = np.where(cont, cur - prev, cur)
    return inc


def _read_header(reader, path: pathlib.Path) -> dict[str, int]:
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: the file is empty; expected a header line "
                         f"{','.join(COLUMNS)}") from None
    header = [h.strip() for h in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    missing = [c for c in COLUMNS if c not in header]
    extra = [h for h in header if h not in COLUMNS]
    if dupes or missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {missing}")
        if extra:
            parts.append(f"unexpected column(s) {extra}")
        if dupes:
            parts.append(f"duplicated column(s) {dupes}")
        found = ",".join(header)
        raise InputError(f"{path}: line {reader.line_num}: bad header, {'; '.join(parts)[:300]}. Expected the "
                         f"columns {','.join(COLUMNS)}; found {found[:200]}{'…' if len(found) > 200 else ''}")
    return {name: header.index(name) for name in COLUMNS}


def _column_to_float(texts: Sequence[str], name: str, lines: list[int],
                     path: pathlib.Path) -> np.ndarray:
    """Convert one column; on a bad cell raise InputError naming its line, row and column."""
    if name == "pm2.5":
        texts = ["nan" if t.strip() in _MISSING else t for t in texts]
    texts = list(texts)
    unparsable = np.zeros(len(texts), dtype=bool)
    try:
        vals = np.asarray(texts, dtype=np.float64)
    except ValueError:  # find the culprit(s) cell by cell
        vals = np.empty(len(texts), dtype=np.float64)
        for k, t in enumerate(texts):
            try:
                vals[k] = float(t)
            except ValueError:
                vals[k], unparsable[k] = np.nan, True
    bad = unparsable | ~np.isfinite(vals)
    if name == "pm2.5":
        bad &= unparsable | ~np.isnan(vals)
    if name in _INT_COLS:           # (beyond 2**53 a float is no longer an exact integer)
        bad |= np.isfinite(vals) & ((vals != np.round(vals)) | (np.abs(vals) > 2.0 ** 53))
    if not bad.any():
        return vals
    first = int(np.flatnonzero(bad)[0])
    text = texts[first].strip()
    kind = "an integer" if name in _INT_COLS else "a finite number"
    note = " (only pm2.5 may be NA)" if text in _MISSING or text == "nan" else ""
    raise InputError(f"{path}: line {lines[first]} (data row {first + 1}), column '{name}': "
                     f"expected {kind}{note}, found {text!r}")


def _parse_rows(path: pathlib.Path) -> tuple[dict[str, np.ndarray], list[int]]:
    """Check every cell; return one array per column (NaN for NA in pm2.5) and the line numbers."""
    names = (*_INT_COLS, "pm2.5", *_FLOAT_COLS, "cbwd")
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    with io.StringIO(decode_utf8(blob, path, bom=True), newline="") as fh:
        reader = csv.reader(fh)
        idx = _read_header(reader, path)
        n_fields = len(idx)
        for fields in reader:
            if len(fields) != n_fields:
                if not any(f.strip() for f in fields):
                    continue  # blank line
                raise InputError(f"{path}: line {reader.line_num} (data row {len(lines) + 1}): "
                                 f"expected {n_fields} comma-separated fields, found {len(fields)}")
            rows.append(fields)
            lines.append(reader.line_num)
    if not rows:
        raise InputError(f"{path}: expected at least one data row after the header, found none")
    columns = list(zip(*rows))
    texts = {name: columns[idx[name]] for name in names}
    cols: dict[str, np.ndarray] = {}
    for name in names[:-1]:
        vals = _column_to_float(texts[name], name, lines, path)
        cols[name] = vals.astype(np.int64) if name in _INT_COLS else vals
    codes = np.array([t.strip() for t in texts["cbwd"]])
    unknown = np.flatnonzero(~np.isin(codes, WIND_CODES))
    if unknown.size:
        first = int(unknown[0])
        raise InputError(f"{path}: line {lines[first]} (data row {first + 1}), column 'cbwd': "
                         f"expected a wind code in {list(WIND_CODES)}, found {codes[first]!r}")
    cols["cbwd"] = codes
    return cols, lines


def _timeline(cols: dict[str, np.ndarray], lines: list[int],
              path: pathlib.Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hours since 0001-01-01, day of year and days in that year; check dates and order."""
    n = len(cols["year"])
    t = np.empty(n, dtype=np.int64)
    doy = np.empty(n, dtype=np.int64)
    ndays = np.empty(n, dtype=np.int64)
    cache: dict[tuple[int, int, int], tuple[int, int, int]] = {}
    for i, (y, m, d, h) in enumerate(zip(*(cols[c].tolist() for c in _INT_COLS))):
        key = (y, m, d)
        if key not in cache:
            try:
                date = datetime.date(y, m, d)
            except (ValueError, OverflowError) as exc:
                raise InputError(f"{path}: line {lines[i]} (data row {i + 1}): year/month/day "
                                 f"{y}/{m}/{d} is not a valid date ({exc})") from None
            cache[key] = (date.toordinal(), date.timetuple().tm_yday,
                          366 if datetime.date(y, 12, 31).timetuple().tm_yday == 366 else 365)
        if not 0 <= h <= 23:
            raise InputError(f"{path}: line {lines[i]} (data row {i + 1}), column 'hour': "
                             f"expected 0..23, found {h}")
        ordinal, doy[i], ndays[i] = cache[key]
        t[i] = ordinal * 24 + h
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise InputError(f"{path}: line {lines[i]} (data row {i + 1}): expected the rows in "
                         f"strictly increasing time order, found {cols['year'][i]}-"
                         f"{cols['month'][i]}-{cols['day'][i]} hour {cols['hour'][i]} after the "
                         "row before it")
    return t, doy, ndays


def _fill_gaps(pm: np.ndarray, t: np.ndarray, path: pathlib.Path) -> tuple[np.ndarray, np.ndarray]:
    missing = np.isnan(pm)
    if missing.all():
        raise InputError(f"{path}: column 'pm2.5' has no values at all (all {pm.size} are NA)")
    filled = pm.copy()
    # np.interp holds the end values constant: back-fill a leading gap, forward-fill a trailing one.
    filled[missing] = np.interp(t[missing], t[~missing], pm[~missing])
    return filled, missing


def load_pm25(path: str | os.PathLike | None = None) -> PM25Data:
    """Load the Beijing PM2.5 CSV into :class:`PM25Data`.

    ``path`` is the CSV (or a folder holding ``PM25_data.csv``); without it the file is looked up
    with :func:`rnnlab.data.find_data_file` (``$RNNLAB_DATA``, the cache, then a checked download
    from UCI). Raises :class:`InputError` naming the line and column of any bad cell.
    """
    file = find_data_file(RELPATH, path=path, url=URL, sha256=SHA256)
    cols, lines = _parse_rows(file)
    t, doy, ndays = _timeline(cols, lines, file)
    pm25, missing = _fill_gaps(cols["pm2.5"], t, file)

    codes = cols["cbwd"]
    onehot = (codes[:, None] == np.array(WIND_CODES)[None, :]).astype(np.float64)
    same_wind = np.concatenate([[False], codes[1:] == codes[:-1]])
    iws = cumulative_to_hourly(cols["Iws"], same_run=same_wind)
    snow = cumulative_to_hourly(cols["Is"])
    rain = cumulative_to_hourly(cols["Ir"])

    hours = cols["hour"]
    a_hour = 2.0 * np.pi * hours / 24.0
    a_day = 2.0 * np.pi * (doy - 1) / ndays
    values = np.column_stack([
        pm25, cols["DEWP"], cols["TEMP"], cols["PRES"], onehot, iws, snow, rain,
        np.sin(a_hour), np.cos(a_hour), np.sin(a_day), np.cos(a_day),
    ]).astype(np.float64)
    return PM25Data(
        values=values,
        feature_names=list(FEATURE_NAMES),
        pm25=pm25,
        was_missing=missing,
        years=cols["year"],
        months=cols["month"],
        days=cols["day"],
        hours=hours,
        n_filled=int(missing.sum()),
    )
