"""UCR/UEA time-series classification with recurrent networks, beside the published results.

Data: the archive's own TRAIN/TEST files (``.ts``, :func:`rnnlab.data.load_ucr`), e.g.
JapaneseVowels (12 features, 7–29 steps, 9 speakers), BasicMotions (6 features, 100 steps),
GunPoint, ItalyPowerDemand, ArrowHead (univariate). Protocol:

1. a validation set is carved from the TRAIN file, stratified by class and seeded
   (``--val-fraction``); the TEST file is used once, at the end;
2. z-normalisation per feature, fitted on the training part only (valid steps, no padding);
3. variable lengths are right-padded with a mask (:func:`rnnlab.data.pad_sequences`), and
   training batches group sequences of similar length (``bucket=True``);
4. ``--frame K`` optionally turns K consecutive steps into one step of K·D features — a long
   univariate series (GunPoint 150, ArrowHead 251 steps) becomes a shorter multivariate one;
5. a stack of ``--layers`` recurrent layers (``--cell``, ``--bidirectional``) and Dense(classes)
   on the last valid state; softmax + cross-entropy; early stopping on the validation loss with
   the best weights restored; ``--refit`` then retrains on the whole TRAIN file for the best
   number of epochs (the validation set is tiny for most of these data sets).

``--compare-depth`` trains a 1-layer model and a 2-layer model whose hidden size is chosen so that
both have (about) the same number of parameters, ``--repeats`` seeds each, and reports both.
``--dataset all`` runs every data set found and writes a summary table.

The run folder gets ``metrics.json`` (test accuracy beside the published 1-NN ED / DTW, FCN,
ResNet, TWIESN and MLP figures and the majority-class baseline), ``history.csv``, ``loss.png``,
``confusion.png`` and ``model/`` (with ``scaler.json``, the fitted normalisation).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics
from ..callbacks import EarlyStopping
from ..data.padding import pad_sequences
from ..data.scaling import StandardScaler
from ..data.ucr import available_ucr, load_ucr
from ..errors import InputError
from ..layers.dense import Dense
from ..model import Sequential
from .base import RunFolder, add_common_arguments, make_recurrent, say

NAME = "ucr"
SUMMARY = "UCR/UEA time-series classification (JapaneseVowels, ...), beside published 1-NN DTW / FCN / ResNet"

#: Published test accuracies, copied from ``shared/data/ucr/README.md`` (fractions; None = no figure).
#: 1-NN ED / 1-NN DTW (full window; dependent multivariate DTW for JapaneseVowels and BasicMotions):
#: the UCR 2018 archive summary, Dau et al. (2019) and the UEA archive, Bagnall et al. (2018).
#: FCN / ResNet / TWIESN / MLP: Ismail Fawaz et al. (2019), "Deep learning for time series
#: classification: a review", DMKD 33(4):917-963, mean of 10 runs (hfawaz/dl-4-tsc results files
#: at commit eb2953eed95bc74dabf4ea61794dc16e5f6f8f1f).
PUBLISHED: dict[str, dict[str, float | None]] = {
    "GunPoint":         {"1nn_ed": 0.913, "1nn_dtw": 0.907, "fcn": 1.000, "resnet": 0.991, "twiesn": 0.961, "mlp": 0.927},
    "ItalyPowerDemand": {"1nn_ed": 0.955, "1nn_dtw": 0.950, "fcn": 0.961, "resnet": 0.963, "twiesn": 0.880, "mlp": 0.954},
    "ArrowHead":        {"1nn_ed": 0.800, "1nn_dtw": 0.703, "fcn": 0.843, "resnet": 0.845, "twiesn": 0.659, "mlp": 0.778},
    "JapaneseVowels":   {"1nn_ed": None, "1nn_dtw": 0.949, "fcn": 0.993, "resnet": 0.992, "twiesn": 0.965, "mlp": 0.976},
    "BasicMotions":     {"1nn_ed": None, "1nn_dtw": 0.975, "fcn": None, "resnet": None, "twiesn": None, "mlp": None},
}
PUBLISHED_SOURCE = ("shared/data/ucr/README.md: 1-NN ED/DTW from the UCR 2018 archive (Dau et al. 2019) and "
                    "the UEA multivariate archive (Bagnall et al. 2018, dependent full-window DTW); "
                    "FCN/ResNet/TWIESN/MLP from Ismail Fawaz et al. 2019 (DMKD 33:917-963), mean of 10 runs")

#: Per-data-set defaults for the options left unset on the command line.
#: (Chosen on the validation sets and a few seeds; see docs/tasks_mnist_ucr.md.)
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "JapaneseVowels": {"frame": 1},      # 7-29 steps x 12
    "BasicMotions": {"frame": 4},        # 100 x 6  -> 25 x 24
    "GunPoint": {"frame": 10},           # 150 x 1  -> 15 x 10
    "ItalyPowerDemand": {"frame": 1},    # 24 x 1
    "ArrowHead": {"frame": 8},           # 251 x 1  -> 32 x 8
}
FALLBACK_DEFAULTS: dict[str, Any] = {"frame": 1}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_common_arguments(p, epochs=200, batch_size=16, lr=3e-3, hidden=48, cell="gru")
    p.add_argument("--dataset", default="JapaneseVowels",
                   help="UCR/UEA data set name (any of available_ucr(): the *_TRAIN.ts files under "
                        "$RNNLAB_DATA/ucr), or 'all' (default JapaneseVowels)")
    p.add_argument("--layers", type=int, default=1, help="stacked recurrent layers (default 1)")
    p.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=True,
                   help="bidirectional recurrent layers, directions concatenated (default on)")
    p.add_argument("--dropout", type=float, default=0.0,
                   help="dropout rate between the layers and before the output (default 0)")
    p.add_argument("--frame", type=int, default=None,
                   help="group K consecutive steps into one step of K*D features (default per data set: "
                        + ", ".join(f"{k} {v['frame']}" for k, v in DATASET_DEFAULTS.items()) + ")")
    p.add_argument("--val-fraction", type=float, default=0.2,
                   help="fraction of the TRAIN file held out for validation, stratified (default 0.2)")
    p.add_argument("--patience", type=int, default=30, help="early stopping patience in epochs (default 30)")
    p.add_argument("--clipnorm", type=float, default=1.0, help="global gradient-norm clipping (default 1)")
    p.add_argument("--refit", action=argparse.BooleanOptionalAction, default=True,
                   help="after early stopping, retrain on the whole TRAIN file for the best number of "
                        "epochs (default on; --no-refit keeps the early-stopped model)")
    p.add_argument("--compare-depth", action="store_true",
                   help="train a 1-layer and a 2-layer model of about equal parameter count and report both")
    p.add_argument("--repeats", type=int, default=3,
                   help="--compare-depth: seeds per model, seed, seed+1, ... (default 3)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1; 0 = the BLAS default)")


# ----------------------------------------------------------------------------- data
def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(fit, validation) indices: ``round(fraction * n_c)`` of each class (at least one when the class
    has two or more members) go to validation, drawn with ``rng``. Both sorted."""
    labels = np.asarray(labels)
    if not 0.0 <= fraction < 1.0:
        raise InputError(f"--val-fraction: expected a fraction in [0, 1), got {fraction}")
    val = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = int(round(fraction * idx.size))
        if fraction > 0 and idx.size >= 2:
            k = min(max(k, 1), idx.size - 1)
        val.append(rng.permutation(idx)[:k])
    val_idx = np.sort(np.concatenate(val)) if val else np.array([], dtype=np.int64)
    fit_idx = np.setdiff1d(np.arange(labels.size), val_idx)
    return fit_idx, val_idx


def frame_series(s: np.ndarray, k: int) -> np.ndarray:
    """(T, D) -> (ceil(T/k), k*D): step j holds original steps jk .. jk+k-1 (the last one zero-padded,
    i.e. the training mean after z-normalisation)."""
    if k == 1:
        return s
    t, d = s.shape
    steps = -(-t // k)
    out = np.zeros((steps * k, d), dtype=s.dtype)
    out[:t] = s
    return out.reshape(steps, k * d)


class Prepared(dict):
    """The splits of one data set, ready for the model (a dict with attribute access)."""
    __getattr__ = dict.__getitem__


def prepare(name: str, seed: int = 0, val_fraction: float = 0.2, frame: int = 1, fit_on_all: bool = False) -> Prepared:
    """Load ``name``, carve the validation set, fit the scaler on the training part only, pad.

    ``fit_on_all=True`` fits the scaler on the whole TRAIN file (used by ``--refit``, which trains
    on all of it); the TEST file never enters a fitted statistic.
    """
    if frame < 1:
        raise InputError(f"--frame: expected a positive integer, got {frame}")
    train_s, train_y, classes = load_ucr(name, "train")
    test_s, test_y, test_classes = load_ucr(name, "test")
    if test_classes != classes:
        raise InputError(f"{name}: the TRAIN and TEST files list different classes: {classes} vs {test_classes}")
    rng = np.random.default_rng(seed)
    fit_idx, val_idx = stratified_split(train_y, val_fraction, rng)
    scaler_rows = np.arange(len(train_s)) if fit_on_all else fit_idx
    scaler = StandardScaler().fit(np.concatenate([train_s[i] for i in scaler_rows], axis=0))

    def pack(series: list[np.ndarray], idx: np.ndarray | None = None):
        chosen = series if idx is None else [series[i] for i in idx]
        x, mask = pad_sequences([frame_series(scaler.transform(s), frame) for s in chosen], dtype=np.float32)
        return x, mask

    x_fit, m_fit = pack(train_s, fit_idx)
    x_all, m_all = pack(train_s)
    x_test, m_test = pack(test_s)
    out = Prepared(name=name, classes=classes, scaler=scaler, frame=frame, fit_idx=fit_idx, val_idx=val_idx,
                   x_fit=x_fit, m_fit=m_fit, y_fit=train_y[fit_idx],
                   x_all=x_all, m_all=m_all, y_all=train_y,
                   x_test=x_test, m_test=m_test, y_test=test_y,
                   n_features=x_fit.shape[2],
                   lengths={"train": [int(min(len(s) for s in train_s)), int(max(len(s) for s in train_s))],
                            "test": [int(min(len(s) for s in test_s)), int(max(len(s) for s in test_s))]})
    if val_idx.size:
        out["x_val"], out["m_val"] = pack(train_s, val_idx)
        out["y_val"] = train_y[val_idx]
    return out


# ----------------------------------------------------------------------------- model
def build_model(n_features: int, n_classes: int, *, cell: str = "lstm", hidden: int = 64, layers: int = 1,
                bidirectional: bool = False, dropout: float = 0.0, seed: int = 0) -> Sequential:
    """``layers`` recurrent layers (all but the last return sequences), optional dropout, Dense."""
    if layers < 1:
        raise InputError(f"--layers: expected a positive integer, got {layers}")
    stack = []
    for i in range(layers):
        kw: dict[str, Any] = {"return_sequences": i < layers - 1}
        if cell == "lstm":
            kw["forget_bias"] = 1.0
        layer = make_recurrent(cell, hidden, **kw)
        if bidirectional:
            from ..layers.bidirectional import Bidirectional
            layer = Bidirectional(layer, merge="concat")
        stack.append(layer)
        if dropout > 0:
            from ..layers.dropout import Dropout
            stack.append(Dropout(dropout, seed=seed + 1000 + i))
    stack.append(Dense(n_classes))
    return Sequential(stack, input_size=n_features, seed=seed)


def count_params(n_features: int, n_classes: int, **kw: Any) -> int:
    return build_model(n_features, n_classes, **kw).count_params()


def matched_hidden(n_features: int, n_classes: int, target: int, layers: int, **kw: Any) -> int:
    """The hidden size whose ``layers``-layer model has the parameter count closest to ``target``."""
    best, best_gap = 1, None
    for h in range(1, 1025):
        n = count_params(n_features, n_classes, hidden=h, layers=layers, **kw)
        gap = abs(n - target)
        if best_gap is None or gap < best_gap:
            best, best_gap = h, gap
        if n > target:
            break
    return best


def blas_threads(n: int):
    if not n:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=int(n), user_api="blas")


# ----------------------------------------------------------------------------- one training run
def _options(args: argparse.Namespace, dataset: str) -> dict[str, Any]:
    d = {**FALLBACK_DEFAULTS, **DATASET_DEFAULTS.get(dataset, {})}
    return {"frame": args.frame if args.frame is not None else d["frame"]}


def train_and_test(args: argparse.Namespace, data: Prepared, *, hidden: int, layers: int, seed: int,
                   refit_data: Prepared | None = None) -> tuple[dict, Sequential, Any, np.ndarray, Prepared]:
    """Train (early stopping on validation), optionally refit on all of TRAIN, test once.

    Returns (result dict, model, history, test predictions)."""
    n_classes = len(data.classes)
    arch = dict(cell=args.cell, hidden=hidden, layers=layers, bidirectional=args.bidirectional,
                dropout=args.dropout, seed=seed)

    def fresh() -> Sequential:
        m = build_model(data.n_features, n_classes, **arch)
        m.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"], lr=args.lr,
                  clipnorm=args.clipnorm)
        return m

    model = fresh()
    has_val = "x_val" in data
    stopper = EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True)
    t0 = time.perf_counter()
    history = model.fit(data.x_fit, data.y_fit, epochs=args.epochs, batch_size=args.batch_size, mask=data.m_fit,
                        validation_data=(data.x_val, data.y_val, data.m_val) if has_val else None,
                        callbacks=[stopper] if has_val else [], verbose=0, bucket=True)
    best_epoch = stopper.best_epoch if has_val else len(history.epochs)
    val_acc = None
    if has_val:
        val_acc = model.evaluate(data.x_val, data.y_val, mask=data.m_val)["accuracy"]
    used = data
    if refit_data is not None and has_val:
        model = fresh()
        model.fit(refit_data.x_all, refit_data.y_all, epochs=best_epoch, batch_size=args.batch_size,
                  mask=refit_data.m_all, verbose=0, bucket=True)
        used = refit_data
    train_seconds = time.perf_counter() - t0
    proba = model.predict(used.x_test, mask=used.m_test)
    pred = proba.argmax(axis=1)
    y = used.y_test
    result = {
        "test_accuracy": float(np.mean(pred == y)),
        "test_macro_f1": metrics.macro_f1(pred, y, n_classes),
        "test_errors": int(np.sum(pred != y)),
        "test_n": int(len(y)),
        "val_accuracy": val_acc,
        "best_epoch": best_epoch,
        "epochs_run": len(history.epochs),
        "refit_on_all_train": bool(refit_data is not None and has_val),
        "params": model.count_params(),
        "hidden": hidden,
        "layers": layers,
        "seed": seed,
        "train_seconds": round(train_seconds, 2),
    }
    return result, model, history, pred, used


def _baselines(data: Prepared) -> dict[str, Any]:
    majority = int(np.bincount(data.y_all, minlength=len(data.classes)).argmax())
    return {
        "majority_class": {"class": data.classes[majority],
                           "rule": "most frequent class of the TRAIN file (ties: first listed)",
                           "test_accuracy": float(np.mean(data.y_test == majority))},
        "published": {**{k: v for k, v in PUBLISHED.get(data.name, {}).items()}, "source": PUBLISHED_SOURCE},
    }


def _write_run(folder: RunFolder, args, data: Prepared, result: dict, model: Sequential, history, pred: np.ndarray,
               extra: dict | None = None) -> dict:
    from ..viz import plot_confusion
    n_classes = len(data.classes)
    cm = metrics.confusion_matrix(pred, data.y_test, n_classes)
    folder.write_history(history, title=f"{data.name} ({result['layers']} layer(s), hidden {result['hidden']})")
    plot_confusion(folder.file("confusion.png"), cm, data.classes,
                   title=f"{data.name}: test accuracy {result['test_accuracy']:.3f}")
    model.save(folder.file("model"))
    folder.write_text("model/scaler.json", json.dumps({**data.scaler.to_dict(), "frame": data.frame,
                                                       "fitted_on": "training part of the TRAIN file"
                                                       if not result["refit_on_all_train"] else "the whole TRAIN file"},
                                                      indent=2) + "\n")
    doc_extra = {"dataset": data.name, "classes": data.classes, "confusion_matrix": cm.tolist(),
                 "data": {"train_file": len(data.y_all), "fit": int(len(data.fit_idx)), "validation": int(len(data.val_idx)),
                          "test": int(len(data.y_test)), "features_per_step": data.n_features, "frame": data.frame,
                          "lengths": data.lengths,
                          "validation_rule": f"stratified {args.val_fraction:g} of the TRAIN file, seed {args.seed}",
                          "normalisation": "per-feature z-score fitted on the training rows only"}}
    if extra:
        doc_extra.update(extra)
    return folder.write_metrics(result, _baselines(data), doc_extra)


def _run_folder(args) -> RunFolder:
    return RunFolder(NAME, args.out if args.out is not None else Path("runs") / f"ucr-{args.dataset}", args)


def _data_for(args, dataset: str, seed: int) -> tuple[Prepared, Prepared | None]:
    opts = _options(args, dataset)
    data = prepare(dataset, seed, args.val_fraction, opts["frame"])
    refit = prepare(dataset, seed, args.val_fraction, opts["frame"], fit_on_all=True) if args.refit else None
    return data, refit


def run_single(args: argparse.Namespace, dataset: str, folder: RunFolder) -> dict:
    data, refit = _data_for(args, dataset, args.seed)
    result, model, history, pred, used = train_and_test(args, data, hidden=args.hidden, layers=args.layers,
                                                         seed=args.seed, refit_data=refit)
    doc = _write_run(folder, args, used, result, model, history, pred)
    pub = PUBLISHED.get(dataset, {})
    shown = "  ".join(f"{k} {v:.3f}" for k, v in pub.items() if v is not None)
    say(args, f"ucr {dataset}: test accuracy {result['test_accuracy']:.4f} ({result['test_errors']}/{result['test_n']} "
              f"wrong; {result['params']:,d} params, best epoch {result['best_epoch']}, {result['train_seconds']:.0f} s)"
              f"; majority {doc['baselines']['majority_class']['test_accuracy']:.3f}; published: {shown}  -> {folder.path}")
    return doc


# ----------------------------------------------------------------------------- depth comparison
def run_compare_depth(args: argparse.Namespace, dataset: str, folder: RunFolder) -> dict:
    """1 layer of ``--hidden`` units vs 2 layers with the hidden size that matches its parameter count."""
    data, refit = _data_for(args, dataset, args.seed)
    n_classes = len(data.classes)
    common = dict(cell=args.cell, bidirectional=args.bidirectional, dropout=args.dropout)
    p1 = count_params(data.n_features, n_classes, hidden=args.hidden, layers=1, **common)
    h2 = matched_hidden(data.n_features, n_classes, p1, 2, **common)
    p2 = count_params(data.n_features, n_classes, hidden=h2, layers=2, **common)
    say(args, f"ucr {dataset} depth comparison: 1 layer x {args.hidden} ({p1:,d} params) vs "
              f"2 layers x {h2} ({p2:,d} params), {args.repeats} seed(s) each")
    summary: dict[str, Any] = {}
    for layers, hidden in ((1, args.hidden), (2, h2)):
        runs = []
        for r in range(args.repeats):
            seed = args.seed + r
            d, rf = (data, refit) if r == 0 else _data_for(args, dataset, seed)
            result, model, history, pred, used = train_and_test(args, d, hidden=hidden, layers=layers, seed=seed,
                                                                 refit_data=rf)
            sub = RunFolder(NAME, folder.path / f"depth{layers}_seed{seed}", {**vars(args), "layers": layers,
                                                                              "hidden": hidden, "seed": seed})
            _write_run(sub, args, used, result, model, history, pred)
            runs.append(result)
            say(args, f"  {layers} layer(s) x {hidden}, seed {seed}: test accuracy {result['test_accuracy']:.4f} "
                      f"({result['train_seconds']:.0f} s)")
        accs = np.array([r["test_accuracy"] for r in runs])
        summary[f"{layers}_layer"] = {
            "hidden": hidden, "params": runs[0]["params"],
            "test_accuracy_mean": float(accs.mean()), "test_accuracy_std": float(accs.std(ddof=1)) if len(accs) > 1 else 0.0,
            "test_accuracy_per_seed": accs.tolist(),
            "best_epoch_per_seed": [r["best_epoch"] for r in runs],
            "train_seconds_mean": float(np.mean([r["train_seconds"] for r in runs])),
        }
    doc = folder.write_metrics(summary, _baselines(data), {"dataset": dataset, "mode": "compare-depth",
                                                           "param_ratio_2_to_1": p2 / p1})
    s1, s2 = summary["1_layer"], summary["2_layer"]
    say(args, f"ucr {dataset}: 1 layer {s1['test_accuracy_mean']:.4f} ± {s1['test_accuracy_std']:.4f} "
              f"({s1['params']:,d} params) vs 2 layers {s2['test_accuracy_mean']:.4f} ± {s2['test_accuracy_std']:.4f} "
              f"({s2['params']:,d} params)  -> {folder.path}")
    return doc


# ----------------------------------------------------------------------------- entry point
def run(args: argparse.Namespace) -> dict:
    with blas_threads(getattr(args, "threads", 0)):
        return _run(args)


def _run(args: argparse.Namespace) -> dict:
    names = available_ucr()
    if args.dataset == "all":
        if not names:
            raise InputError("--dataset all: no UCR/UEA data sets found (set RNNLAB_DATA to a folder with ucr/*.ts)")
        base = args.out if args.out is not None else Path("runs") / "ucr"
        docs = {}
        for name in names:
            sub_args = argparse.Namespace(**{**vars(args), "dataset": name, "out": Path(base) / name})
            docs[name] = _run(sub_args)
        _write_summary(Path(base), docs)
        return {"datasets": docs}
    if names and args.dataset not in names:
        raise InputError(f"--dataset: {args.dataset!r} not found; available: {', '.join(names)}")
    folder = _run_folder(args)
    if args.compare_depth:
        return run_compare_depth(args, args.dataset, folder)
    return run_single(args, args.dataset, folder)


def _write_summary(base: Path, docs: dict[str, dict]) -> None:
    from ..fileio import atomic_write_text
    cols = ["1nn_ed", "1nn_dtw", "fcn", "resnet", "twiesn", "mlp"]
    lines = ["| dataset | ours (test acc.) | majority | " + " | ".join(cols) + " |",
             "|---|---:|---:|" + "---:|" * len(cols)]
    for name, doc in docs.items():
        m = doc["metrics"]
        acc = m.get("test_accuracy", m.get("1_layer", {}).get("test_accuracy_mean"))
        pub = PUBLISHED.get(name, {})
        cells = [f"{pub[c]:.3f}" if pub.get(c) is not None else "—" for c in cols]
        lines.append(f"| {name} | {acc:.3f} | {doc['baselines']['majority_class']['test_accuracy']:.3f} | "
                     + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Published: {PUBLISHED_SOURCE}.")
    atomic_write_text(base / "summary.md", "\n".join(lines) + "\n")
