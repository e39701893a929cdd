"""Lecture case 3: Beijing PM2.5, hourly 2010-2014 — regression or the 6-band classification.

The lecture's table: time steps and batch size set by the user, output at the last step, with
biases, softmax + cross-entropy over the six air-quality bands. The same windows also train a
regression head (MSE on pm2.5), as the reference implementation (ai-edu ch. 19.4/19.6) does.

Honest evaluation (the reference's leaked; see docs/pm25.md):

* chronological split by the year of a window's targets: train 2010-2012, validation 2013
  (early stopping and the report's model selection), test 2014; a validation/test window's
  targets all lie in its year;
* every scaler (inputs and targets) is fitted on training rows / training windows only;
* the pm2.5 *input* column is filled causally (last observed value carried forward), never by
  the loader's interpolation, which would look at hours after the forecast is issued;
* test metrics count only targets that were observed in the file (not filled in);
* every model number stands beside persistence (last observed value / band), climatology (mean
  by month x hour of day over the training years; for bands the most frequent band there),
  the majority band, and the reference's published figures.

Regression predicts in scaled space: by default the change ``pm[t+h] - pm[t]`` from the last
observed value (``--target residual``; ``--transform log1p`` works on ``log1p(pm2.5)`` instead),
standardised per lead time with training statistics; metrics are in µg/m³.
``--strategy direct`` has one output per lead time 1..max(horizon); ``--strategy recursive``
trains a one-step model and feeds its predictions back (the reference's scheme, its Fig. 19-17),
holding the weather at its last observed value (``--recursive-weather last``, a real forecast)
or, to mirror the reference, reading the observed future weather (``observed``: not a forecast).
``--report`` runs the whole grid (:mod:`.report`).

Modules: ``config`` (options, checks, the reference's figures), ``data`` (leak-free inputs),
``baselines``, ``forecast`` (target coding, recursive rollout), ``model``, ``regression``,
``classification``, ``tables``, ``single`` (one run), ``report`` (the grid).
"""
from __future__ import annotations

from ... import threads
from ..base import RunContext
from .config import (BAND_NAMES, CALENDAR, N_CLASSES, NAME, REFERENCE, SUMMARY, WEATHER, Config, check,
                     horizons, parse_day)
from .data import Prepared, causal_fill, fwd, inv, prepare, window_ends, windows_x
from .forecast import TargetCoder, recursive_rollout
from .model import build_model

__all__ = ["NAME", "SUMMARY", "Config", "run", "check", "horizons", "parse_day", "causal_fill", "fwd", "inv",
           "prepare", "Prepared", "window_ends", "windows_x", "TargetCoder", "recursive_rollout", "build_model",
           "REFERENCE", "WEATHER", "CALENDAR", "BAND_NAMES", "N_CLASSES"]


def run(config: Config, ctx: RunContext) -> dict:
    """One run (``config.report`` off) or the report grid; returns the metrics.json document
    (the grid: the report.json document)."""
    check(config)
    if config.report:
        from .report import run_report
        return run_report(config, ctx)
    from .single import run_single
    with threads.task_threads(config.threads):
        return run_single(config, ctx)
