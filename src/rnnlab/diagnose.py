"""``rnnlab diagnose MODEL_DIR DATA.npz``: how the gradient flows back through time in a saved model.

Loads the model (:func:`rnnlab.load`), reads ``x``, ``y`` and an optional ``mask`` from the .npz,
and measures ``‖∂L/∂h_t‖`` at every step t of the model's first recurrent layer
(:func:`rnnlab.diagnostics.gradient_norms`: per-sample norms averaged over the batch, L the
model's compiled loss). Writes into ``--out``:

| file                | what                                                              |
|---------------------|-------------------------------------------------------------------|
| gradient_norms.png  | ‖∂L/∂h_t‖ against t, log scale (mean and the 10–90 % band over samples) |
| gradient_norms.json | the numbers, and ``ratio_first_to_last`` = ‖∂L/∂h_0‖ / ‖∂L/∂h_{T-1}‖ |

A ratio far below 1 means the gradient vanishes on its way back to the first steps (the
lecture's simple-RNN case), far above 1 that it explodes.
"""
from __future__ import annotations

import argparse
import json
import math
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .fileio import atomic_write_text

SUMMARY = "gradient norms through time of a saved model on a data set (vanishing / exploding)"
VANISHING, EXPLODING = 1e-2, 1e2   # thresholds on ratio_first_to_last for the verdict


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model_dir", type=Path, metavar="MODEL_DIR", help="a saved model folder (model.save / runs/<task>/model)")
    p.add_argument("data", type=Path, metavar="DATA.npz", help="arrays x, y and optionally mask (numpy.savez)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: diagnose/ beside MODEL_DIR)")


def read_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``x``, ``y`` and ``mask`` (None when absent) from an .npz; errors name the file and its keys."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.files)
            if "x" not in keys or "y" not in keys:
                raise InputError(f"{path}: expected arrays 'x' and 'y' (and optionally 'mask'), found {keys}")
            return z["x"], z["y"], (z["mask"].astype(bool) if "mask" in keys else None)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; expected an .npz with arrays x and y") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: expected an .npz written by numpy.savez with arrays x and y ({exc})") from None


def verdict(ratio: float) -> str:
    if not math.isfinite(ratio):
        return "undefined"
    return "vanishing" if ratio < VANISHING else "exploding" if ratio > EXPLODING else "neither"


def diagnose(model_dir: str | Path, data: str | Path, out: str | Path | None = None) -> dict[str, Any]:
    """Measure, plot and save the gradient norms; returns the JSON document written."""
    from .diagnostics import gradient_norms
    from .io import load
    model_dir = Path(model_dir)
    model = load(model_dir)
    if not isinstance(getattr(model, "layers", None), list):
        raise InputError(f"{model_dir}: expected a Sequential model with a SimpleRNN, LSTM or GRU layer, "
                         f"got {type(model).__name__}")
    x, y, mask = read_npz(data)
    per_sample = gradient_norms(model, x, y, mask, reduce="none")          # (B, T), NaN past the end
    norms = gradient_norms(model, x, y, mask)                               # (T,)
    steps = np.flatnonzero(np.isfinite(norms))
    if steps.size == 0:
        raise InputError(f"{data}: no valid time step in the data (mask all False?)")
    first, last = float(norms[steps[0]]), float(norms[steps[-1]])
    ratio = first / last if last > 0 else math.inf
    layer = next(l for l in model.layers if hasattr(l, "cell"))
    doc = {
        "model": str(model_dir), "data": str(data), "layer": type(layer).__name__,
        "hidden": int(layer.hidden_size), "samples": int(per_sample.shape[0]), "steps": int(per_sample.shape[1]),
        "what": "per step t: mean over samples of ||dL_b/dh_t|| (rnnlab.diagnostics.gradient_norms)",
        "norms": [None if not math.isfinite(v) else float(v) for v in norms],
        "first_step": first, "last_step": last, "ratio_first_to_last": ratio if math.isfinite(ratio) else None,
        "verdict": verdict(ratio),
        "thresholds": {"vanishing_below": VANISHING, "exploding_above": EXPLODING},
    }
    folder = Path(out) if out is not None else model_dir.resolve().parent / "diagnose"
    folder.mkdir(parents=True, exist_ok=True)
    _plot(folder / "gradient_norms.png", norms, per_sample, doc)
    atomic_write_text(folder / "gradient_norms.json", json.dumps(doc, indent=2) + "\n")
    doc["out"] = str(folder)
    return doc


def _plot(path: Path, norms: np.ndarray, per_sample: np.ndarray, doc: dict[str, Any]) -> None:
    from .viz import pyplot, save_figure
    plt = pyplot()
    t = np.arange(len(norms))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN columns past every sequence's end
        lo, hi = np.nanpercentile(per_sample, 10, axis=0), np.nanpercentile(per_sample, 90, axis=0)
    ax.fill_between(t, lo, hi, alpha=0.25, label="10–90 % of samples")
    ax.plot(t, norms, "o-", ms=3, label="mean over samples")
    ax.set_yscale("log")
    ax.set_xlabel("time step t (t = T-1 is next to the loss)")
    ax.set_ylabel("‖∂L/∂h_t‖")
    ratio = doc["ratio_first_to_last"]
    ax.set_title(f"{doc['layer']}({doc['hidden']}): first/last = "
                 f"{'inf' if ratio is None else f'{ratio:.3g}'} ({doc['verdict']})")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    save_figure(fig, path)


def main(args: argparse.Namespace) -> int:
    """``rnnlab diagnose``: prints one line with the ratio and where the files are."""
    doc = diagnose(args.model_dir, args.data, args.out)
    ratio = doc["ratio_first_to_last"]
    print(f"diagnose: {doc['layer']}({doc['hidden']}) over {doc['steps']} steps, {doc['samples']} samples: "
          f"‖∂L/∂h_0‖ {doc['first_step']:.3g}, ‖∂L/∂h_T-1‖ {doc['last_step']:.3g}, "
          f"first/last {'inf' if ratio is None else f'{ratio:.3g}'} ({doc['verdict']})  -> {doc['out']}")
    return 0
