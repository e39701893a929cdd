"""The regression head: pm2.5 in µg/m³ at each horizon, direct or recursive."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..base import RunContext
from .baselines import baseline_values, pooled_r2, regression_scores
from .config import REFERENCE, Config, horizons, parse_day
from .data import Prepared, inv, window_ends, windows_x
from .forecast import TargetCoder, recursive_rollout
from .model import build_model, train
from .tables import plot_rows


def run_regression(cfg: Config, prep: Prepared, ctx: RunContext) -> tuple[dict, dict, dict]:
    """Train the regression model (direct or recursive), score it and the baselines on the test year."""
    folder = ctx.folder
    hs = horizons(cfg)
    max_h = max(hs)
    leads = list(range(1, max_h + 1)) if cfg.strategy == "direct" else [1]
    tr, va = window_ends(prep, leads, "train"), window_ends(prep, leads, "val")
    coder = TargetCoder(prep, leads, residual=cfg.target == "residual").fit(tr)
    model = build_model(cfg.cell, cfg.hidden, cfg.layers, len(leads), prep.scaled.shape[1], cfg.seed)
    history, best_epoch = train(model, windows_x(prep, tr), coder.encode(tr), windows_x(prep, va),
                                coder.encode(va), cfg, loss="mse", fit_options=ctx.fit_options())

    def forecasts(ends: np.ndarray) -> dict[str, np.ndarray]:
        """(n, max_h) µg/m³ per forecast kind; 'model' is the headline one."""
        if cfg.strategy == "direct":
            z = model.predict(windows_x(prep, ends), batch_size=4096)
            return {"model": inv(coder.decode_g(z, prep.g_known[ends]), prep.transform)}
        out = {f"recursive_{w}_weather": recursive_rollout(model, prep, coder, ends, max_h, w)
               for w in ("last", "observed")}
        out["model"] = out[f"recursive_{cfg.recursive_weather}_weather"]
        return out

    pm, obs = np.asarray(prep.data.pm25), ~np.asarray(prep.data.was_missing)
    ve, te = window_ends(prep, hs, "val"), window_ends(prep, hs, "test")
    val_pred, test_pred = forecasts(ve), forecasts(te)
    pred = test_pred["model"]
    per_h: dict[str, Any] = {}
    for h in hs:
        ok = obs[te + h]
        truth = pm[te + h][ok]
        r: dict[str, Any] = {"model": regression_scores(pred[ok, h - 1], truth)}
        for name, vals in baseline_values(prep, te, h).items():
            r[name] = regression_scores(vals[ok], truth)
        r["model_r2_pooled"] = pooled_r2(pred, prep, te, h, obs)
        r["persistence_r2_pooled"] = pooled_r2(np.repeat(prep.pm_known[te][:, None], max_h, 1), prep, te, h, obs)
        for kind, vals in test_pred.items():
            if kind != "model":
                r[kind] = regression_scores(vals[ok, h - 1], truth)
                r[kind]["r2_pooled"] = pooled_r2(vals, prep, te, h, obs)
        okv = obs[ve + h]
        r["validation"] = {"model": regression_scores(val_pred["model"][okv, h - 1], pm[ve + h][okv]),
                           "persistence": regression_scores(prep.pm_known[ve][okv], pm[ve + h][okv])}
        per_h[str(h)] = r
    res = {"head": "regression", "strategy": cfg.strategy, "layers": cfg.layers, "cell": cfg.cell,
           "per_horizon": per_h, "best_epoch": best_epoch, "epochs_run": len(history.epochs),
           "train_windows": int(len(tr)), "val_windows": int(len(ve)), "test_windows": int(len(te)),
           "target_coder": coder.to_dict()}
    folder.write_history(history, title=f"pm25 regression ({cfg.cell}, {cfg.strategy})")
    model.save(folder.file("model"))
    # two weeks of the test year: observed vs predicted at 1 h and at the longest horizon
    from ...viz import plot_series
    sel = plot_rows(prep, te, parse_day(cfg.plot_start), cfg.plot_days)
    series = {f"observed pm2.5 at t+{max_h}": pm[te[sel] + max_h],
              f"model, {max_h} h ahead": pred[sel, max_h - 1],
              f"persistence, {max_h} h ahead": prep.pm_known[te[sel]]}
    if max_h != 1 and 1 in hs:
        series["model, 1 h ahead"] = np.concatenate([pred[sel, 0][max_h - 1:], np.full(max_h - 1, np.nan)])
    plot_series(folder.file("prediction.png"), series,
                title=f"pm2.5, {len(sel) // 24} days of the test year from {cfg.plot_start}, aligned on the target "
                      f"hour (test-year RMSE at {max_h} h: model {per_h[str(max_h)]['model']['rmse']:.1f}, "
                      f"persistence {per_h[str(max_h)]['persistence']['rmse']:.1f})",
                xlabel="hour", ylabel="µg/m³")
    metrics = {"per_horizon": {h: r["model"] for h, r in per_h.items()}, "details": res}
    baselines = {"persistence": {h: r["persistence"] for h, r in per_h.items()},
                 "climatology": {h: r["climatology"] for h, r in per_h.items()},
                 "reference_implementation": REFERENCE}
    return res, metrics, baselines
