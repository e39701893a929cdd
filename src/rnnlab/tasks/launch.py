"""Running a task in its folder: config.json first, INCOMPLETE while it runs, resume from the folder.

>>> resume_command("echo", "runs/my echo")
"rnnlab run echo --resume 'runs/my echo'"
"""
from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import get_task
from .base import CONFIG_FILE, RunContext, RunFolder
from .config import TaskConfig, config_from_dict, config_to_dict

CONFIG_FORMAT = 1
RUN_OPTIONS = ("out", "quiet", "resume", "checkpoint_every")


def resume_command(task: str, folder: str | Path) -> str:
    """The command that continues an interrupted run of ``task`` in ``folder``."""
    return f"rnnlab run {task} --resume {shlex.quote(str(folder))}"


def default_folder(task: str, config: TaskConfig) -> Path:
    module = get_task(task)
    pick = getattr(module, "default_out", None)
    return Path(pick(config)) if pick is not None else Path("runs") / task


def config_document(task: str, config: TaskConfig, checkpoint_every: int | None) -> dict[str, Any]:
    return {"format_version": CONFIG_FORMAT, "task": task, "config": config_to_dict(config),
            "run": {"checkpoint_every": checkpoint_every}}


def read_run_config(task: str, folder: str | Path) -> tuple[TaskConfig, dict[str, Any]]:
    """The config (and the run options) saved in ``folder/config.json`` by a run of ``task``.

    Errors (:class:`InputError`) name the file: missing, not JSON, another task, unknown options.
    """
    path = Path(folder) / CONFIG_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: not found; --resume expects a run folder written by "
                         f"`rnnlab run {task}` (it writes config.json when it starts)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the run configuration ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict) or "task" not in doc:
        raise InputError(f"{path}: expected {{'task': name, 'config': {{...}}}}, got {str(doc)[:80]}")
    if doc["task"] != task:
        raise InputError(f"{path}: this folder holds a {doc['task']!r} run, not {task!r}; "
                         f"continue it with: {resume_command(str(doc['task']), folder)}")
    config = config_from_dict(get_task(task).Config, doc["config"], where=str(path))
    run = doc.get("run") if isinstance(doc.get("run"), dict) else {}
    return config, run


def run_task(task: str, config: TaskConfig, *, out: str | Path | None = None, quiet: bool = False,
             resume: bool = False, checkpoint_every: int | None = None) -> dict[str, Any]:
    """Run ``task`` with ``config`` in its folder; returns the metrics.json document.

    Writes ``INCOMPLETE`` (what the folder is and how to resume it) and ``config.json`` before
    training; removes ``INCOMPLETE`` after the task has written its results. An exception
    (e.g. :class:`~rnnlab.errors.TrainingInterrupted`) leaves the marker in place.
    """
    module = get_task(task)
    if not isinstance(config, module.Config):
        raise InputError(f"config: expected {module.__name__}.Config, got {type(config).__name__}")
    if checkpoint_every is not None and int(checkpoint_every) < 1:
        raise InputError(f"--checkpoint-every: expected a positive number of updates, got {checkpoint_every}")
    folder = RunFolder(task, Path(out) if out is not None else default_folder(task, config), config)
    folder.mark_incomplete(resume_command(task, folder.path))
    folder.write_config(config_document(task, config, checkpoint_every))
    ctx = RunContext(folder, quiet=quiet, resume=resume, checkpoint_every=checkpoint_every)
    doc = module.run(config, ctx)
    folder.mark_complete()
    return doc
