"""What every task run shares: the run folder, its files, and the context a task runs in.

A run folder holds:

| file            | what                                                            |
|-----------------|-----------------------------------------------------------------|
| config.json     | the task name and its full configuration (written first; ``--resume`` reads it) |
| INCOMPLETE      | present only while the run is in progress or after it was interrupted (says how to resume) |
| checkpoint/     | the training checkpoint (``model.fit(checkpoint_dir=...)``)     |
| metrics.json    | final metrics, the naive baselines beside them, seed, all hyperparameters, time, units, versions (rnnlab too), finish time (UTC), command line |
| history.csv     | per-epoch loss, metrics, learning rate, epoch time              |
| loss.png        | loss and metric curves, train and validation                    |
| model/          | the trained model (``rnnlab.load(folder / "model")``)           |
| (task-specific) | e.g. prediction plots, worked examples, tables                  |

Results (metrics.json, pictures, model/) are written only after training has finished, and
INCOMPLETE is removed last: a folder without INCOMPLETE is a finished run. How folders are named,
locked, and moved into place: :mod:`rnnlab.tasks.launch` and :mod:`rnnlab.tasks.folders`.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import math
import platform
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_write_text

CONFIG_FILE = "config.json"
INCOMPLETE_FILE = "INCOMPLETE"
CHECKPOINT_DIR = "checkpoint"

#: metric-name pattern -> unit, for metrics.json's ``units`` (first match wins; unmatched: no entry)
UNITS = (
    (r"cpu_seconds$", "s (CPU)"),
    (r"seconds$", "s (wall clock)"),
    (r"nats", "nats per symbol"),
    (r"bits", "bits per symbol"),
    (r"perplexity", "perplexity (exp of nats)"),
    (r"accuracy|acc$|errors_rate|error_rate", "fraction in [0, 1]"),
    (r"bleu|chrf", "score in [0, 100]"),
    (r"r2$", "R² (1 is perfect, 0 is the mean)"),
    (r"rmse|mae", "units of the target"),
    (r"mse", "squared units of the target"),
    (r"params$", "count"),
)


def units_of(names) -> dict[str, str]:
    """The unit of each metric name that has a known one (see :data:`UNITS`)."""
    out = {}
    for name in names:
        for pattern, unit in UNITS:
            if re.search(pattern, str(name)):
                out[str(name)] = unit
                break
    return out


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
    """Collects a task's outputs and writes them (atomically) into one folder.

    ``config`` is the task's config dataclass (or a plain dict of hyperparameters, e.g. for a
    sub-run); it is recorded in metrics.json as ``hyperparameters``.
    """

    def __init__(self, task: str, out: Path | str | None, config: Any) -> None:
        self.task = task
        self.path = Path(out) if out is not None else Path("runs") / task
        self.path.mkdir(parents=True, exist_ok=True)
        if dataclasses.is_dataclass(config) and not isinstance(config, type):
            config = dataclasses.asdict(config)
        if not isinstance(config, dict):
            raise TypeError(f"RunFolder: expected a task config dataclass or a dict, got {type(config).__name__}")
        self.hyper = dict(config)
        self.t0 = time.perf_counter()
        self.command: str | None = None          # the command line that started the run (set by launch)

    def file(self, name: str) -> Path:
        return self.path / name

    # -- the run's life cycle (written by the command line, not by the tasks) ----------------------
    def write_config(self, doc: dict[str, Any]) -> None:
        atomic_write_text(self.file(CONFIG_FILE), json.dumps(_jsonable(doc), indent=2) + "\n")

    def mark_incomplete(self, resume_command: str) -> None:
        atomic_write_text(self.file(INCOMPLETE_FILE),
                          f"This {self.task} run has not finished: its results (metrics.json, model/, "
                          "pictures) are missing or from an earlier run.\n"
                          f"Training state is saved in {CHECKPOINT_DIR}/. Resume with:\n  {resume_command}\n")

    def mark_complete(self) -> None:
        self.file(INCOMPLETE_FILE).unlink(missing_ok=True)

    @property
    def complete(self) -> bool:
        return not self.file(INCOMPLETE_FILE).exists()

    # -- results ----------------------------------------------------------------------------------
    def write_history(self, history, name: str = "history.csv", plot: str = "loss.png", title: str = "") -> None:
        from ..viz import plot_history
        atomic_write_text(self.file(name), history.to_csv())
        plot_history(history, self.file(plot), title=title or self.task)

    def write_metrics(self, metrics: dict[str, Any], baselines: dict[str, Any], extra: dict[str, Any] | None = None) -> dict:
        from .. import __version__
        doc = {
            "task": self.task,
            "metrics": metrics,
            "baselines": baselines,
            "hyperparameters": self.hyper,
            "seed": self.hyper.get("seed"),
            "seconds": round(time.perf_counter() - self.t0, 2),
            "units": {"seconds": "s (wall clock)", **units_of(metrics)},
            "versions": {"rnnlab": __version__, "python": platform.python_version(), "numpy": np.__version__},
            "finished_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": self.command,
        }
        if extra:
            doc.update(extra)
        doc = _jsonable(doc)
        atomic_write_text(self.file("metrics.json"), json.dumps(doc, indent=2) + "\n")
        return doc

    def write_text(self, name: str, text: str) -> None:
        atomic_write_text(self.file(name), text)


class RunContext:
    """What a task's ``run(config, ctx)`` gets besides its config: the run folder and how to train.

    ``ctx.fit_options()`` are the keyword arguments for the task's main ``model.fit`` call
    (progress, checkpoint folder inside the run folder, checkpoint interval, resume).
    ``ctx.say(...)`` prints progress and examples (silent with ``--quiet``); ``ctx.result(line)``
    prints the run's final one-line result (always) — held back in ``pending`` when the launcher
    asks for it (``pending = []``), so that it prints once the folder is in its final place.
    """

    def __init__(self, folder: RunFolder, *, quiet: bool = False, resume: bool = False,
                 checkpoint_every: int | None = None) -> None:
        self.folder, self.quiet, self.resume = folder, bool(quiet), bool(resume)
        self.checkpoint_every = checkpoint_every
        self.pending: list[str] | None = None

    @classmethod
    def for_folder(cls, task: str, path, config, **kw: Any) -> "RunContext":
        return cls(RunFolder(task, path, config), **kw)

    @property
    def verbose(self) -> int:
        return 0 if self.quiet else 1

    @property
    def checkpoint_dir(self) -> Path:
        return self.folder.path / CHECKPOINT_DIR

    def fit_options(self) -> dict[str, Any]:
        return {"verbose": self.verbose, "checkpoint_dir": self.checkpoint_dir,
                "checkpoint_every": self.checkpoint_every, "resume": self.resume}

    def say(self, *lines: str) -> None:
        if not self.quiet:
            for line in lines:
                print(line)

    def result(self, line: str) -> None:
        if self.pending is not None:
            self.pending.append(line)
        else:
            print(line, flush=True)
