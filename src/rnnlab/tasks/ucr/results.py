"""What a UCR run writes: its folder, the baselines beside its numbers, the all-data-sets summary."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ... import metrics as M
from ...callbacks import History
from ...fileio import atomic_write_text
from ...sequential import Sequential
from ..base import RunFolder
from .config import Config
from .data import Prepared
from .published import PUBLISHED, PUBLISHED_SOURCE


def baselines(data: Prepared) -> dict[str, Any]:
    majority = int(np.bincount(data.y_all, minlength=len(data.classes)).argmax())
    return {
        "majority_class": {"class": data.classes[majority],
                           "rule": "most frequent class of the TRAIN file (ties: first listed)",
                           "test_accuracy": float(np.mean(data.y_test == majority))},
        "published": {**{k: v for k, v in PUBLISHED.get(data.name, {}).items()}, "source": PUBLISHED_SOURCE},
    }


def write_run(folder: RunFolder, cfg: Config, data: Prepared, result: dict, model: Sequential, history: History,
              pred: np.ndarray, extra: dict | None = None) -> dict:
    """A run's folder: history, loss and confusion plots, model/ (with scaler.json), metrics.json."""
    from ...viz import plot_confusion
    n_classes = len(data.classes)
    cm = M.confusion_matrix(pred, data.y_test, n_classes)
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
                          "validation_rule": f"stratified {cfg.val_fraction:g} of the TRAIN file, seed {cfg.seed}",
                          "normalisation": "per-feature z-score fitted on the training rows only"}}
    if extra:
        doc_extra.update(extra)
    return folder.write_metrics(result, baselines(data), doc_extra)


def write_summary(base: Path, docs: dict[str, dict]) -> None:
    """``summary.md`` of ``--dataset all``: our test accuracy beside the majority class and the published figures."""
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
