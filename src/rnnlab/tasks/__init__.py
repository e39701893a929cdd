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

The task never sees the command line: :func:`rnnlab.tasks.launch.run_task` picks the run folder
(``runs/NAME-<options>-<timestamp>`` when ``--out`` is not given), locks it, writes ``INCOMPLETE``
and ``config.json`` (task name + config), calls ``run``, and removes ``INCOMPLETE`` when it
returns; ``rnnlab run NAME --resume FOLDER`` rebuilds the config from ``config.json`` and runs
again with ``ctx.resume`` set.

A task module that fails to import does not take the others down: :func:`available` leaves it out
and :func:`unavailable` says why (``rnnlab list`` shows it).
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
    "g2p": "rnnlab.tasks.g2p",
}


def get_task(name: str) -> ModuleType:
    """The task's module; an unknown name, or a task that cannot be offered (a missing package, a
    module that fails to import or breaks the contract), is an :class:`InputError` saying why."""
    if name not in TASKS:
        raise InputError(f"task: expected one of {sorted(TASKS)}, got {name!r}")
    module, why = _load(name)
    if module is None:
        raise InputError(f"task {name!r} is unavailable: {why}") from _last_error.get(name)
    return module


_last_error: dict[str, BaseException] = {}


def _load(name: str) -> tuple[ModuleType | None, str | None]:
    """(module, None) for a usable task; (None, reason) for one that cannot be offered."""
    mod = TASKS[name]
    try:
        module = importlib.import_module(mod)
    except ModuleNotFoundError as exc:
        _last_error[name] = exc
        missing = exc.name or "?"
        if mod.startswith(missing):
            return None, f"its module {mod} is not installed"
        return None, f"needs the package {missing!r} (pip install {missing.split('.')[0]})"
    except Exception as exc:  # noqa: BLE001 - a broken task must not break the others
        _last_error[name] = exc
        return None, f"its module {mod} fails to import ({type(exc).__name__}: {exc})"
    if not isinstance(getattr(module, "SUMMARY", None), str) or not hasattr(module, "Config") \
            or not hasattr(module, "run"):
        return None, f"its module {mod} does not follow the task contract (SUMMARY, Config, run)"
    return module, None


def available() -> dict[str, str]:
    """Task name -> one-line summary, for the tasks that import and follow the contract."""
    out = {}
    for name in TASKS:
        module, _ = _load(name)
        if module is not None:
            out[name] = module.SUMMARY
    return out


def unavailable() -> dict[str, str]:
    """Task name -> why it cannot be run (a missing optional package, an import error...)."""
    return {name: why for name in TASKS for _, why in [_load(name)] if why is not None}
