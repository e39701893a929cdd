"""The lecture's cases and more, one module each: data + model + defaults + metrics + report.

Each task module defines ``NAME``, ``SUMMARY``, ``add_arguments(parser)`` and ``run(args) -> dict``.
"""
from __future__ import annotations

import importlib

TASKS = {
    "echo": "rnnlab.tasks.echo",
    "subtraction": "rnnlab.tasks.subtraction",
    "memory": "rnnlab.tasks.memory",
    "mnist-rows": "rnnlab.tasks.mnist_rows",
    "ucr": "rnnlab.tasks.ucr",
    "pm25": "rnnlab.tasks.pm25",
    "dates": "rnnlab.tasks.dates",
}


def get_task(name: str):
    return importlib.import_module(TASKS[name])


def available() -> dict[str, str]:
    """Task name -> one-line summary, for the tasks whose module is present."""
    out = {}
    for name, mod in TASKS.items():
        try:
            out[name] = importlib.import_module(mod).SUMMARY
        except ModuleNotFoundError:
            continue
    return out
