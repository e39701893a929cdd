"""The classification head: the six air-quality bands, one model per horizon."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base import RunContext
from .baselines import baseline_bands, classification_scores
from .config import BAND_NAMES, N_CLASSES, REFERENCE, Config, horizons, parse_day
from .data import Prepared, window_ends, windows_x
from .model import build_model, train
from .tables import plot_rows


def run_classification(cfg: Config, prep: Prepared, ctx: RunContext) -> tuple[dict, dict, dict]:
    """One 6-band model per horizon; accuracy and macro-F1 beside persistence, climatology, majority."""
    from ...data.windows import pm25_band
    from ...viz import plot_confusion, plot_series
    folder = ctx.folder
    hs = horizons(cfg)
    te = window_ends(prep, hs, "test")
    x_te = windows_x(prep, te)
    pm, obs = np.asarray(prep.data.pm25), ~np.asarray(prep.data.was_missing)
    bands = pm25_band(pm)
    per_h: dict[str, Any] = {}
    preds: dict[int, np.ndarray] = {}
    for h in hs:
        tr, va = window_ends(prep, [h], "train"), window_ends(prep, [h], "val")
        model = build_model(cfg.cell, cfg.hidden, cfg.layers, N_CLASSES, prep.scaled.shape[1], cfg.seed)
        single = len(hs) == 1
        fit_options = {**ctx.fit_options(),   # one checkpoint folder per horizon's model
                       "checkpoint_dir": ctx.checkpoint_dir if single else ctx.checkpoint_dir / f"h{h}"}
        history, best_epoch = train(model, windows_x(prep, tr), bands[tr + h], windows_x(prep, va),
                                    bands[va + h], cfg, loss="categorical_crossentropy", metrics=["accuracy"],
                                    fit_options=fit_options)
        folder.write_history(history, name="history.csv" if single else f"history_h{h}.csv",
                             plot="loss.png" if single else f"loss_h{h}.png",
                             title=f"pm25 classification {h} h ({cfg.cell})")
        model.save(folder.file("model" if single else f"model_h{h}"))
        pred = model.predict(x_te, batch_size=4096).argmax(axis=1)
        preds[h] = pred
        ok = obs[te + h]
        truth = bands[te + h][ok]
        r: dict[str, Any] = {"model": classification_scores(pred[ok], truth)}
        for name, vals in baseline_bands(prep, te, h).items():
            r[name] = classification_scores(vals[ok], truth)
        ve = window_ends(prep, hs, "val")
        okv = obs[ve + h]
        pv = model.predict(windows_x(prep, ve), batch_size=4096).argmax(axis=1)
        r["validation"] = {"model": classification_scores(pv[okv], bands[ve + h][okv]),
                           "persistence": classification_scores(pm25_band(prep.pm_known[ve])[okv],
                                                                bands[ve + h][okv])}
        for v in r["validation"].values():
            v.pop("confusion")
        r["best_epoch"], r["epochs_run"] = best_epoch, len(history.epochs)
        r["train_windows"], r["val_windows"] = int(len(tr)), int(len(va))
        per_h[str(h)] = r
        plot_confusion(folder.file(f"confusion_h{h}.png"), np.asarray(r["model"]["confusion"]), BAND_NAMES,
                       title=f"{h} h ahead, test year (acc {r['model']['accuracy']:.3f}, "
                             f"persistence {r['persistence']['accuracy']:.3f})")
    if len(hs) > 1:  # a combined loss.png: validation loss of every horizon's model
        import csv
        from ...viz import plot_lines
        curves = {}
        for h in hs:
            with open(folder.file(f"history_h{h}.csv")) as fh:
                rows = list(csv.DictReader(fh))
            curves[f"{h} h train"] = np.array([float(r["loss"]) for r in rows])
            curves[f"{h} h validation"] = np.array([float(r["val_loss"]) for r in rows])
        n = max(len(v) for v in curves.values())
        curves = {k: np.concatenate([v, np.full(n - len(v), np.nan)]) for k, v in curves.items()}
        plot_lines(folder.file("loss.png"), np.arange(1, n + 1), curves,
                   title="pm25 classification: cross-entropy per horizon", xlabel="epoch", ylabel="loss")
    max_h = max(hs)
    sel = plot_rows(prep, te, parse_day(cfg.plot_start), cfg.plot_days)
    mid = np.array([25, 75, 125, 175, 250, 350], dtype=np.float64)
    plot_series(folder.file("prediction.png"),
                {"observed pm2.5 (hour t+h)": pm[te[sel] + max_h],
                 f"predicted band, {max_h} h ahead (band middle)": mid[preds[max_h][sel]],
                 f"persistence band, {max_h} h ahead (band middle)": mid[pm25_band(prep.pm_known[te[sel]])]},
                title=f"pm2.5 bands, {len(sel) // 24} days of the test year from {cfg.plot_start}, "
                      f"{max_h} h ahead", xlabel="hour", ylabel="µg/m³")
    res = {"head": "classification", "layers": cfg.layers, "cell": cfg.cell, "per_horizon": per_h,
           "test_windows": int(len(te)), "classes": list(BAND_NAMES)}
    metrics = {"per_horizon": {h: r["model"] for h, r in per_h.items()}, "details": res}
    baselines = {k: {h: r[k] for h, r in per_h.items()} for k in ("persistence", "climatology", "majority")}
    baselines["reference_implementation"] = REFERENCE
    return res, metrics, baselines
