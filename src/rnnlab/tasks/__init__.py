"""The lecture's cases and more, one module (or package) each: data, model, defaults, metrics, report.

The task contract — a task module (or package) defines:

- ``NAME: str`` — its name on the command line (``rnnlab run NAME``); ``SUMMARY: str`` — one line.
- ``Config`` — a dataclass subclassing :class:`rnnlab.tasks.config.TaskConfig` (which gives ``seed``),
  every field declared with ``option(default, help, choices=...)``; the command line offers each
  field as ``--field-name``. ``out``, ``quiet``, ``resume`` and ``checkpoint_every`` are run options,
  not config fields (reserved).
- ``run(config: Config, ctx: RunContext) -> dict`` — trains and evaluates; its main ``model.fit``
  call gets ``**ctx.fit_options()`` (progress, ``checkpoint_dir``, ``checkpoint_every``, ``resume``),
  so an interrupted run continues bit-identically; all randomness comes from ``config.seed``.
  Results (metrics.json, pictures, ``model/``) go into ``ctx.folder`` only after training;
  progress and examples through ``ctx.say``, the final one-line result through ``ctx.result``.
  Returns the metrics.json document (``ctx.folder.write_metrics``).
- optionally ``default_out(config: Config) -> Path``: the run folder when ``--out`` is not given
  (default ``runs/NAME``).

The task never sees the command line: :func:`rnnlab.tasks.launch.run_task` creates the run
folder, writes ``INCOMPLETE`` and ``config.json`` (task name + config), calls ``run``, and removes
``INCOMPLETE`` when it returns; ``rnnlab run NAME --resume FOLDER`` rebuilds the config from
``config.json`` and runs again with ``ctx.resume`` set.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import InputError

#: task name -> module path (a module or a package; both import the same way)
TASKS = {
    "echo": "rnnlab.tasks.echo",
    "subtraction": "rnnlab.tasks.subtraction",
    "memory": "rnnlab.tasks.memory",
    "mnist-rows": "rnnlab.tasks.mnist_rows",
    "ucr": "rnnlab.tasks.ucr",
    "pm25": "rnnlab.tasks.pm25",
    "dates": "rnnlab.tasks.dates",
    "charlm": "rnnlab.tasks.charlm",
    "poem": "rnnlab.tasks.poem",
    "couplet": "rnnlab.tasks.couplet",
    "chorales": "rnnlab.tasks.chorales",
    "sentiment": "rnnlab.tasks.sentiment",
    "translate": "rnnlab.tasks.translate",
}


def get_task(name: str) -> ModuleType:
    """The task's module; an unknown name is an :class:`InputError` listing the known ones."""
    if name not in TASKS:
        raise InputError(f"task: expected one of {sorted(TASKS)}, got {name!r}")
    return importlib.import_module(TASKS[name])


def available() -> dict[str, str]:
    """Task name -> one-line summary, for the tasks whose module is present."""
    out = {}
    for name, mod in TASKS.items():
        try:
            out[name] = importlib.import_module(mod).SUMMARY
        except ModuleNotFoundError as exc:
            if exc.name is None or not mod.startswith(exc.name):
                raise                       # the module is there but one of its imports is not
            continue
    return out
