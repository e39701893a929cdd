"""``rnnlab run pm25 --report``: the full grid and one markdown table for the docs.

Grid (every run uses the command line's other options: steps, horizons, epochs, hidden, seed...):

* regression, direct multi-horizon: rnn, gru, lstm (one layer) and rnn x 2 layers (deep);
* regression, recursive (the reference's scheme): rnn, one step fed back; scored with the
  weather held at its last value (a forecast) and with the observed future weather (the
  reference's way, not a forecast);
* classification (6 bands), one model per horizon: rnn, gru, lstm and rnn x 2 layers.

Each run writes its own folder under the report folder; ``report.md`` / ``report.json`` hold the
tables. The "selected" rows pick, per horizon, the configuration with the best *validation*
(2013) score, so the test year (2014) never chooses the model.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import time
from concurrent.futures import as_completed
from pathlib import Path
from typing import Any

from ...fileio import atomic_write_text
from ..base import RunContext
from ..workers import process_pool
from .config import NAME, REFERENCE, Config, horizons, years
from .single import run_single

# name, overrides, label; longest first so parallel workers finish together
GRID: list[tuple[str, dict[str, Any], str]] = [
    ("cls-gru", {"head": "classification", "cell": "gru"}, "GRU"),
    ("cls-lstm", {"head": "classification", "cell": "lstm"}, "LSTM"),
    ("cls-rnn-deep", {"head": "classification", "cell": "rnn", "layers": 2}, "RNN x 2 layers (deep)"),
    ("reg-gru", {"cell": "gru"}, "GRU, direct"),
    ("reg-lstm", {"cell": "lstm"}, "LSTM, direct"),
    ("cls-rnn", {"head": "classification", "cell": "rnn"}, "RNN"),
    ("reg-rnn-deep", {"cell": "rnn", "layers": 2}, "RNN x 2 layers (deep), direct"),
    ("reg-rnn", {"cell": "rnn"}, "RNN, direct"),
    ("reg-rnn-recursive", {"cell": "rnn", "strategy": "recursive"}, "RNN, recursive"),
]


def run_one(cfg: Config, path: Path, resume: bool = False, checkpoint_every: int | None = None
            ) -> tuple[dict, float]:
    """One run of the grid in its own folder, silently (also in a worker process): (doc, seconds)."""
    from ... import threads
    t0 = time.perf_counter()
    ctx = RunContext.for_folder(NAME, path, cfg, quiet=True, resume=resume, checkpoint_every=checkpoint_every)
    with threads.task_threads(cfg.threads):
        doc = run_single(cfg, ctx)
    return doc, time.perf_counter() - t0


def grid_configs(cfg: Config) -> list[tuple[str, str, Config]]:
    """(name, label, config) of every grid run: ``cfg`` with the grid's overrides."""
    out = []
    for name, over, label in GRID:
        # the headline (and the selection) stays a real forecast: recursive_weather "last"
        base = dataclasses.replace(cfg, report=False, head="regression", layers=1, strategy="direct",
                                   recursive_weather="last")
        out.append((name, label, dataclasses.replace(base, **over)))
    return out


def _f(v: Any, nd: int) -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{nd}f}"


def _tables(docs: dict[str, dict], seconds: dict[str, float], horizons: list[int]) -> tuple[str, dict]:
    hs = [str(h) for h in horizons]
    reg = [(n, lab) for n, _, lab in GRID if n.startswith("reg-") and n in docs]
    cls = [(n, lab) for n, _, lab in GRID if n.startswith("cls-") and n in docs]
    det = {n: docs[n]["metrics"]["details"] for n in docs}
    out: list[str] = []
    summary: dict[str, Any] = {}
    if reg:
        first = det[reg[0][0]]["per_horizon"]
        rows: list[tuple[str, dict, float | None, int | None]] = []
        for n, lab in reg:
            d = det[n]
            if d["strategy"] == "recursive":
                for w, text in (("last", "weather held at last value"),
                                ("observed", "observed future weather: **not a forecast**, the reference's way")):
                    per = {h: {**d["per_horizon"][h][f"recursive_{w}_weather"],
                               "r2_pooled": d["per_horizon"][h][f"recursive_{w}_weather"]["r2_pooled"]} for h in hs}
                    rows.append((f"{lab} ({text})", per, seconds.get(n), d["epochs_run"]))
            else:
                per = {h: {**d["per_horizon"][h]["model"], "r2_pooled": d["per_horizon"][h]["model_r2_pooled"]}
                       for h in hs}
                rows.append((lab, per, seconds.get(n), d["epochs_run"]))
        pers = {h: {**first[h]["persistence"], "r2_pooled": first[h]["persistence_r2_pooled"]} for h in hs}
        clim = {h: {**first[h]["climatology"], "r2_pooled": None} for h in hs}
        out += ["### Regression: RMSE (MAE) in µg/m³ on the 2014 test year, lower is better", "",
                "| model | " + " | ".join(f"{h} h" for h in hs) + " | epochs | seconds |",
                "|---|" + "---:|" * (len(hs) + 2)]
        for lab, per, sec, ep in rows:
            out.append(f"| {lab} | " + " | ".join(f"{per[h]['rmse']:.2f} ({per[h]['mae']:.2f})" for h in hs)
                       + f" | {ep} | {_f(sec, 0)} |")
        for lab, per in (("persistence (last observed value)", pers), ("climatology (month x hour, 2010-12)", clim)):
            out.append(f"| *{lab}* | " + " | ".join(f"{per[h]['rmse']:.2f} ({per[h]['mae']:.2f})" for h in hs) + " | | |")
        out += ["", "### Regression: R² at lead h / pooled over leads 1..h (the reference's scoring), 2014", "",
                "| model | " + " | ".join(f"{h} h" for h in hs) + " |", "|---|" + "---:|" * len(hs)]
        for lab, per, _, _ in rows + [("*persistence*", pers, None, None), ("*climatology*", clim, None, None)]:
            out.append(f"| {lab} | " + " | ".join(f"{per[h]['r2']:.3f} / {_f(per[h]['r2_pooled'], 3)}" for h in hs) + " |")
        for key, lab in (("r2_single_layer", "reference, 1 layer hidden 4 (leaky)"),
                         ("r2_deep", "reference, deep RNN (leaky)")):
            out.append(f"| *{lab}* | " + " | ".join(f"– / {_f(REFERENCE[key].get(h), 3)}" for h in hs) + " |")
        # selection on validation (2013) among real forecasts
        cands = [(n, lab) for n, lab in reg]
        sel_rows = []
        for h in hs:
            best = min(cands, key=lambda c: det[c[0]]["per_horizon"][h]["validation"]["model"]["rmse"])
            r = det[best[0]]["per_horizon"][h]
            m = r["model"]
            ref1, refd = REFERENCE["r2_single_layer"].get(h), REFERENCE["r2_deep"].get(h)
            beats_p = m["rmse"] < r["persistence"]["rmse"]
            beats_ref = None if ref1 is None else r["model_r2_pooled"] > max(ref1, refd or 0)
            sel_rows.append(f"| {h} h | {best[1]} | {m['rmse']:.2f} vs {r['persistence']['rmse']:.2f} "
                            f"{'✓' if beats_p else '✗'} | {m['r2']:.3f} / {r['model_r2_pooled']:.3f} vs "
                            f"{_f(ref1, 3)} (deep {_f(refd, 3)}) "
                            f"{'' if beats_ref is None else ('✓' if beats_ref else '✗')} |")
            summary[f"regression_{h}h"] = {"selected": best[0], "rmse": m["rmse"],
                                           "persistence_rmse": r["persistence"]["rmse"], "beats_persistence": beats_p,
                                           "r2": m["r2"], "r2_pooled": r["model_r2_pooled"],
                                           "beats_reference_pooled": beats_ref}
        out += ["", "### Regression, selected per horizon by 2013 validation RMSE (test year 2014)", "",
                "| horizon | selected | RMSE vs persistence | R² at lead / pooled vs reference (pooled) |",
                "|---|---|---|---|", *sel_rows]
    if cls:
        first = det[cls[0][0]]["per_horizon"]
        out += ["", "### Classification (6 bands): accuracy (macro-F1) on the 2014 test year, higher is better", "",
                "| model | " + " | ".join(f"{h} h" for h in hs) + " | seconds |", "|---|" + "---:|" * (len(hs) + 1)]
        for n, lab in cls:
            per = det[n]["per_horizon"]
            out.append(f"| {lab} | " + " | ".join(f"{per[h]['model']['accuracy']:.3f} ({per[h]['model']['macro_f1']:.3f})"
                                                  for h in hs) + f" | {_f(seconds.get(n), 0)} |")
        for key, lab in (("persistence", "persistence (last observed band)"),
                         ("climatology", "climatology (most frequent band by month x hour)"),
                         ("majority", "majority band (training years)")):
            out.append(f"| *{lab}* | " + " | ".join(f"{first[h][key]['accuracy']:.3f} ({first[h][key]['macro_f1']:.3f})"
                                                    for h in hs) + " | |")
        out.append(f"| *reference (leaky; horizon not stated)* | about {REFERENCE['classification_accuracy_about']:.2f} |"
                   + " |" * len(hs))
        sel_rows = []
        for h in hs:
            best = max(cls, key=lambda c: det[c[0]]["per_horizon"][h]["validation"]["model"]["accuracy"])
            r = det[best[0]]["per_horizon"][h]
            ok = r["model"]["accuracy"] > r["persistence"]["accuracy"]
            sel_rows.append(f"| {h} h | {best[1]} | {r['model']['accuracy']:.3f} vs {r['persistence']['accuracy']:.3f} "
                            f"{'✓' if ok else '✗'} | {r['model']['macro_f1']:.3f} vs {r['persistence']['macro_f1']:.3f} |")
            summary[f"classification_{h}h"] = {"selected": best[0], "accuracy": r["model"]["accuracy"],
                                               "persistence_accuracy": r["persistence"]["accuracy"],
                                               "beats_persistence": ok}
        out += ["", "### Classification, selected per horizon by 2013 validation accuracy (test year 2014)", "",
                "| horizon | selected | accuracy vs persistence | macro-F1 vs persistence |", "|---|---|---|---|",
                *sel_rows]
    return "\n".join(out), summary


def run_report(cfg: Config, ctx: RunContext) -> dict:
    """Every run of :data:`GRID` in a sub-folder of the run folder; report.md / report.json."""
    root = ctx.folder.path
    jobs = grid_configs(cfg)
    opts = {"resume": ctx.resume, "checkpoint_every": ctx.checkpoint_every}
    t0 = time.perf_counter()
    docs: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    ctx.say(f"pm25 report: {len(jobs)} runs, {cfg.jobs} in parallel -> {root}")
    if cfg.jobs == 1:
        for name, _, sub in jobs:
            docs[name], seconds[name] = run_one(sub, root / name, **opts)
            ctx.say(f"  {name} done in {seconds[name]:.0f} s")
    else:
        with process_pool(cfg.jobs) as pool:             # an interrupt stops the workers cleanly too
            futures = {pool.submit(run_one, sub, root / name, **opts): name for name, _, sub in jobs}
            for fut in as_completed(futures):
                name = futures[fut]
                docs[name], seconds[name] = fut.result()
                ctx.say(f"  {name} done in {seconds[name]:.0f} s ({time.perf_counter() - t0:.0f} s so far)")
    wall = time.perf_counter() - t0
    tables, summary = _tables(docs, seconds, horizons(cfg))
    cmd = (f"RNNLAB_DATA=... rnnlab run pm25 --report --jobs {cfg.jobs} --epochs {cfg.epochs} "
           f"--patience {cfg.patience} --hidden {cfg.hidden} --steps {cfg.steps} --batch-size {cfg.batch_size} "
           f"--lr {cfg.lr:g} --seed {cfg.seed} --horizon '{' '.join(map(str, horizons(cfg)))}'")
    head = [f"## PM2.5 report grid ({len(jobs)} runs, {wall / 60:.1f} min wall on {os.cpu_count()} cores, "
            f"{cfg.jobs} parallel jobs)", "", f"`{cmd}`", "",
            f"Train {years(cfg, 'train')}, validation {years(cfg, 'val')} (early stopping and model selection "
            f"only), test {years(cfg, 'test')}; scalers fitted on training rows; observed targets only; "
            f"hidden {cfg.hidden}, {cfg.steps} steps, batch {cfg.batch_size}, Adam lr {cfg.lr:g}, "
            f"clipnorm {cfg.clipnorm:g}, up to {cfg.epochs} epochs with early stopping (patience {cfg.patience}), "
            f"target: {cfg.target} on {cfg.transform}, seed {cfg.seed}.", ""]
    text = "\n".join(head) + "\n" + tables + "\n"
    atomic_write_text(root / "report.md", text)
    doc = {"task": "pm25-report", "wall_seconds": round(wall, 1), "run_seconds": {k: round(v, 1) for k, v in seconds.items()},
           "summary": summary, "runs": {n: str(root / n) for n in docs}, "command": cmd,
           "cpu_count": os.cpu_count(), "python": platform.python_version()}
    atomic_write_text(root / "report.json", json.dumps(doc, indent=2) + "\n")
    ctx.say(text)
    ctx.result(f"pm25 report -> {root / 'report.md'}  ({wall:.0f} s)")
    return doc
