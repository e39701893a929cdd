"""What every task run shares: common CLI options, the run folder and its files.

A run folder holds:

| file            | what                                                            |
|-----------------|-----------------------------------------------------------------|
| metrics.json    | final metrics, the naive baselines beside them, seed, all hyperparameters, time |
| history.csv     | per-epoch loss, metrics, learning rate, epoch time              |
| loss.png        | loss and metric curves, train and validation                    |
| model/          | the trained model (``rnnlab.load(folder / "model")``)           |
| (task-specific) | e.g. prediction plots, worked examples, tables                  |
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_write_text
from ..registry import make_recurrent  # noqa: F401  (re-exported for the task modules)


def add_common_arguments(p: argparse.ArgumentParser, *, epochs: int, batch_size: int, lr: float,
                         hidden: int, cell: str | None = None) -> None:
    p.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    p.add_argument("--batch-size", type=int, default=batch_size, help=f"mini-batch size (default {batch_size})")
    p.add_argument("--lr", type=float, default=lr, help=f"learning rate (default {lr})")
    p.add_argument("--hidden", type=int, default=hidden, help=f"hidden units per recurrent layer (default {hidden})")
    p.add_argument("--seed", type=int, default=0, help="random seed: same seed, same numbers (default 0)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default runs/<task>)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    if cell is not None:
        p.add_argument("--cell", choices=["rnn", "lstm", "gru"], default=cell,
                       help=f"recurrent cell (default {cell})")


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class RunFolder:
    """Collects a task's outputs and writes them (atomically) into one folder."""

    def __init__(self, task: str, out: Path | None, args: argparse.Namespace | dict[str, Any]) -> None:
        self.task = task
        self.path = Path(out) if out is not None else Path("runs") / task
        self.path.mkdir(parents=True, exist_ok=True)
        if dataclasses.is_dataclass(args):
            args = dataclasses.asdict(args)
        self.hyper = {k: v for k, v in (vars(args) if not isinstance(args, dict) else args).items()
                      if k not in ("func", "out", "quiet", "task")}
        self.t0 = time.perf_counter()

    def file(self, name: str) -> Path:
        return self.path / name

    def write_history(self, history, name: str = "history.csv", plot: str = "loss.png", title: str = "") -> None:
        from ..viz import plot_history
        atomic_write_text(self.file(name), history.to_csv())
        plot_history(history, self.file(plot), title=title or self.task)

    def write_metrics(self, metrics: dict[str, Any], baselines: dict[str, Any], extra: dict[str, Any] | None = None) -> dict:
        import numpy
        doc = {
            "task": self.task,
            "metrics": metrics,
            "baselines": baselines,
            "hyperparameters": self.hyper,
            "seed": self.hyper.get("seed"),
            "seconds": round(time.perf_counter() - self.t0, 2),
            "versions": {"python": platform.python_version(), "numpy": numpy.__version__},
        }
        if extra:
            doc.update(extra)
        doc = _jsonable(doc)
        atomic_write_text(self.file("metrics.json"), json.dumps(doc, indent=2) + "\n")
        return doc

    def write_text(self, name: str, text: str) -> None:
        atomic_write_text(self.file(name), text)


def say(args, *lines: str) -> None:
    if not getattr(args, "quiet", False):
        for line in lines:
            print(line)


class RunContext:
    """What a task's ``run(config, ctx)`` gets besides its config: the run folder and how to train.

    ``ctx.fit_options()`` are the keyword arguments for the task's main ``model.fit`` call
    (progress, checkpoint folder inside the run folder, checkpoint interval, resume).
    """

    def __init__(self, folder: "RunFolder", *, quiet: bool = False, resume: bool = False,
                 checkpoint_every: int | None = None) -> None:
        self.folder, self.quiet, self.resume = folder, bool(quiet), bool(resume)
        self.checkpoint_every = checkpoint_every

    @classmethod
    def for_folder(cls, task: str, path, config, **kw: Any) -> "RunContext":
        return cls(RunFolder(task, path, config), **kw)

    @property
    def verbose(self) -> int:
        return 0 if self.quiet else 1

    @property
    def checkpoint_dir(self) -> Path:
        return self.folder.path / "checkpoint"

    def fit_options(self) -> dict[str, Any]:
        return {"verbose": self.verbose, "checkpoint_dir": self.checkpoint_dir,
                "checkpoint_every": self.checkpoint_every, "resume": self.resume}

    def say(self, *lines: str) -> None:
        if not self.quiet:
            for line in lines:
                print(line)
