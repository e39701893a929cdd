"""One PM2.5 run (a head, a cell, the horizons): train, score beside the baselines, write the folder."""
from __future__ import annotations

import time

from ..base import RunContext
from .classification import run_classification
from .config import Config, horizons, years
from .data import load
from .regression import run_regression
from .tables import classification_table, regression_table


def run_single(cfg: Config, ctx: RunContext) -> dict:
    """The run's metrics.json document (``results.md`` holds its table)."""
    t0 = time.perf_counter()
    prep = load(cfg)
    if cfg.head == "regression":
        res, metrics, baselines = run_regression(cfg, prep, ctx)
        table = regression_table(res)
    else:
        res, metrics, baselines = run_classification(cfg, prep, ctx)
        table = classification_table(res)
    title = (f"pm25 {cfg.head}, {cfg.cell} x {cfg.layers} layer(s), hidden {cfg.hidden}, "
             f"{cfg.steps} steps" + (f", {cfg.strategy}" if cfg.head == "regression" else ""))
    note = ("Test year " + ", ".join(map(str, years(cfg, "test"))) + ", observed targets only; units µg/m³. "
            "Reference figures come from a leaky evaluation (see docs/pm25.md).")
    ctx.folder.write_text("results.md", f"# {title}\n\n{note}\n\n{table}\n")
    extra = {"scaler": prep.scaler.to_dict(), "train_rows_end": prep.train_rows_end,
             "feature_names": prep.feature_names, "horizons": horizons(cfg),
             "wall_seconds": round(time.perf_counter() - t0, 2)}
    doc = ctx.folder.write_metrics(metrics, baselines, extra)
    ctx.say(title, table)
    ctx.result(f"pm25 {cfg.head}: -> {ctx.folder.path}  ({time.perf_counter() - t0:.0f} s)")
    return doc
