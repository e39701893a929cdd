"""``rnnlab run ucr``: one data set, every data set (``--dataset all``), or the depth comparison."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from ... import threads
from ...data.ucr import available_ucr
from ...errors import InputError
from ..base import RunContext, RunFolder
from ..config import check_config
from .config import NAME, Config
from .data import Prepared, prepare
from .model import count_params, matched_hidden
from .published import DATASET_DEFAULTS, FALLBACK_DEFAULTS, PUBLISHED
from .results import baselines, write_run, write_summary
from .train import train_and_test


def frame_for(cfg: Config, dataset: str) -> int:
    """``--frame``, or the data set's default when it is not given."""
    return cfg.frame if cfg.frame is not None else {**FALLBACK_DEFAULTS, **DATASET_DEFAULTS.get(dataset, {})}["frame"]


def data_for(cfg: Config, dataset: str, seed: int) -> tuple[Prepared, Prepared | None]:
    """The prepared splits (scaler on the training part) and, with ``--refit``, on all of TRAIN."""
    frame = frame_for(cfg, dataset)
    data = prepare(dataset, seed, cfg.val_fraction, frame)
    refit = prepare(dataset, seed, cfg.val_fraction, frame, fit_on_all=True) if cfg.refit else None
    return data, refit


def sub_context(ctx: RunContext, path: Path, cfg: Config | dict[str, Any]) -> RunContext:
    """A context for a sub-run in its own folder (own checkpoint), with the run's options."""
    return RunContext(RunFolder(NAME, path, cfg), quiet=ctx.quiet, resume=ctx.resume,
                      checkpoint_every=ctx.checkpoint_every)


def run_single(cfg: Config, ctx: RunContext) -> dict:
    ctx.say(f"ucr {cfg.dataset}: preparing the data")
    data, refit = data_for(cfg, cfg.dataset, cfg.seed)
    ctx.say(f"ucr {cfg.dataset}: training ({len(data.classes)} classes, early stopping on the validation loss)")
    result, model, history, pred, used = train_and_test(cfg, data, hidden=cfg.hidden, layers=cfg.layers,
                                                         seed=cfg.seed, refit_data=refit,
                                                         fit_options=ctx.fit_options())
    doc = write_run(ctx.folder, cfg, used, result, model, history, pred)
    shown = "  ".join(f"{k} {v:.3f}" for k, v in PUBLISHED.get(cfg.dataset, {}).items() if v is not None)
    ctx.result(f"ucr {cfg.dataset}: test accuracy {result['test_accuracy']:.4f} ({result['test_errors']}/"
               f"{result['test_n']} wrong; {result['params']:,d} params, best epoch {result['best_epoch']}, "
               f"{result['train_seconds']:.0f} s); majority {doc['baselines']['majority_class']['test_accuracy']:.3f}"
               f"; published: {shown}  -> {ctx.folder.path}")
    return doc


def run_compare_depth(cfg: Config, ctx: RunContext) -> dict:
    """1 layer of ``--hidden`` units vs 2 layers with the hidden size that matches its parameter count."""
    dataset, folder = cfg.dataset, ctx.folder
    data, refit = data_for(cfg, dataset, cfg.seed)
    n_classes = len(data.classes)
    common = dict(cell=cfg.cell, bidirectional=cfg.bidirectional, dropout=cfg.dropout)
    p1 = count_params(data.n_features, n_classes, hidden=cfg.hidden, layers=1, **common)
    h2 = matched_hidden(data.n_features, n_classes, p1, 2, **common)
    p2 = count_params(data.n_features, n_classes, hidden=h2, layers=2, **common)
    ctx.say(f"ucr {dataset} depth comparison: 1 layer x {cfg.hidden} ({p1:,d} params) vs "
            f"2 layers x {h2} ({p2:,d} params), {cfg.repeats} seed(s) each")
    summary: dict[str, Any] = {}
    for layers, hidden in ((1, cfg.hidden), (2, h2)):
        runs = []
        for r in range(cfg.repeats):
            seed = cfg.seed + r
            d, rf = (data, refit) if r == 0 else data_for(cfg, dataset, seed)
            sub_cfg = dataclasses.replace(cfg, layers=layers, hidden=hidden, seed=seed, compare_depth=False)
            sub = sub_context(ctx, folder.path / f"depth{layers}_seed{seed}", sub_cfg)
            result, model, history, pred, used = train_and_test(cfg, d, hidden=hidden, layers=layers, seed=seed,
                                                                refit_data=rf, fit_options=sub.fit_options())
            write_run(sub.folder, cfg, used, result, model, history, pred)
            runs.append(result)
            ctx.say(f"  {layers} layer(s) x {hidden}, seed {seed}: test accuracy {result['test_accuracy']:.4f} "
                    f"({result['train_seconds']:.0f} s)")
        accs = np.array([r["test_accuracy"] for r in runs])
        summary[f"{layers}_layer"] = {
            "hidden": hidden, "params": runs[0]["params"],
            "test_accuracy_mean": float(accs.mean()),
            "test_accuracy_std": float(accs.std(ddof=1)) if len(accs) > 1 else 0.0,
            "test_accuracy_per_seed": accs.tolist(),
            "best_epoch_per_seed": [r["best_epoch"] for r in runs],
            "train_seconds_mean": float(np.mean([r["train_seconds"] for r in runs])),
        }
    doc = folder.write_metrics(summary, baselines(data), {"dataset": dataset, "mode": "compare-depth",
                                                          "param_ratio_2_to_1": p2 / p1})
    s1, s2 = summary["1_layer"], summary["2_layer"]
    ctx.result(f"ucr {dataset}: 1 layer {s1['test_accuracy_mean']:.4f} ± {s1['test_accuracy_std']:.4f} "
               f"({s1['params']:,d} params) vs 2 layers {s2['test_accuracy_mean']:.4f} ± "
               f"{s2['test_accuracy_std']:.4f} ({s2['params']:,d} params)  -> {folder.path}")
    return doc


def run(config: Config, ctx: RunContext) -> dict:
    """One data set, or each of them (``--dataset all``, a sub-folder each, and ``summary.md``)."""
    check_config(config)
    with threads.task_threads(config.threads):
        return _run(config, ctx)


def _run(cfg: Config, ctx: RunContext) -> dict:
    names = available_ucr()
    if cfg.dataset == "all":
        if not names:
            raise InputError("--dataset all: no UCR/UEA data sets found (set RNNLAB_DATA to a folder with ucr/*.ts)")
        docs = {}
        for i, name in enumerate(names):
            ctx.say(f"ucr all: data set {i + 1} of {len(names)}, {name}")
            sub_cfg = dataclasses.replace(cfg, dataset=name)
            docs[name] = _run(sub_cfg, sub_context(ctx, ctx.folder.path / name, sub_cfg))
        write_summary(ctx.folder.path, docs)
        return {"datasets": docs}
    if names and cfg.dataset not in names:
        raise InputError(f"--dataset: {cfg.dataset!r} not found; available: {', '.join(names)}")
    return run_compare_depth(cfg, ctx) if cfg.compare_depth else run_single(cfg, ctx)
