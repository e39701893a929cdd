"""Running a task in its folder, so that a run folder is always either finished or marked.

A run goes into its folder ``T`` (``--out``, else :func:`~rnnlab.tasks.folders.default_folder`,
``runs/<task>-<options>-<timestamp>``):

- ``T`` new or empty: the run works in ``T`` itself, with ``INCOMPLETE`` (what the folder is and
  the command that resumes it) and ``config.json`` written first and ``INCOMPLETE`` removed last;
- ``T`` holds a finished run: refused unless ``overwrite`` (``--overwrite``); then the new run works
  in the sibling ``T.incomplete`` and replaces ``T`` only once it has finished — an interrupted
  replacement leaves the old run untouched and the new one resumable beside it;
- ``T`` holds an interrupted run with a checkpoint: refused (resume it, or ``--overwrite``);
  without a checkpoint there is nothing to keep and it starts again;
- ``T`` holds anything else (not a run), or is a file: refused.

The working folder is locked (:mod:`rnnlab.locking`) for the whole run: a second process pointed
at it is refused. An interruption (SIGINT/SIGTERM) or error that leaves a checkpoint keeps the
folder, marked; one before the first checkpoint removes the folder it created (nothing to resume).
A finished run started with the default folder updates ``runs/latest``.

>>> resume_command("echo", "runs/my echo")
"rnnlab run echo --resume 'runs/my echo'"
"""
from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from .. import locking
from ..errors import InputError, RnnlabError, TrainingInterrupted
from ..training.signals import Deferred, InterruptsRaise
from . import folders, get_task
from .base import CONFIG_FILE, RunContext, RunFolder
from .config import TaskConfig, check_config, config_from_dict, config_to_dict

CONFIG_FORMAT = 1
RUN_OPTIONS = ("out", "quiet", "resume", "checkpoint_every", "overwrite", "debug")


class RunInterrupted(RnnlabError):
    """A run stopped by SIGINT/SIGTERM; the message says what was kept and how to go on.

    ``exit_code``: 130 (SIGINT) or 143 (SIGTERM); ``folder``: the marked, resumable folder, or None
    when nothing was kept (interrupted before the first checkpoint)."""

    def __init__(self, message: str, *, signal_name: str, exit_code: int, folder: Path | None) -> None:
        super().__init__(message)
        self.signal_name, self.exit_code, self.folder = signal_name, exit_code, folder


def resume_command(task: str, folder: str | Path) -> str:
    """The command that continues an interrupted run of ``task`` in ``folder``."""
    return f"rnnlab run {task} --resume {shlex.quote(str(folder))}"


def default_folder(task: str, config: TaskConfig) -> Path:
    """``runs/<task>-<options that differ from the defaults>-<timestamp>`` (see :mod:`.folders`)."""
    return folders.default_folder(task, config)


def config_document(task: str, config: TaskConfig, checkpoint_every: int | None,
                    replaces: Path | None = None, data: str | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {"checkpoint_every": checkpoint_every}
    if replaces is not None:
        run["replaces"] = str(replaces)
    if data is not None:
        run["data"] = str(data)
    return {"format_version": CONFIG_FORMAT, "task": task, "config": config_to_dict(config), "run": run}


def read_run_config(task: str, folder: str | Path) -> tuple[TaskConfig, dict[str, Any]]:
    """The config (and the run options) saved in ``folder/config.json`` by a run of ``task``.

    Errors (:class:`InputError`) name the file: missing, not JSON, another task, unknown options.
    """
    folder = resume_folder(folder)
    path = folder / CONFIG_FILE
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


def resume_folder(given: str | Path) -> Path:
    """The folder ``--resume GIVEN`` continues: ``GIVEN``, or the pending replacement run beside it
    (``GIVEN.incomplete``) when ``GIVEN`` holds a finished run."""
    given = Path(given)
    pending = folders.pending_sibling(given)
    if folders.state(given) == "complete" and (pending / CONFIG_FILE).is_file():
        return pending
    return given


def _plan(task: str, target: Path, resume: bool, overwrite: bool) -> tuple[Path, Path, bool]:
    """(working folder, final folder, whether this run creates the working folder)."""
    if resume:
        work = resume_folder(target)
        if folders.state(work) in ("missing", "file"):
            raise InputError(f"--resume: expected a run folder written by `rnnlab run {task}`, got {str(work)!r}, "
                             "where there is none")
        return work, folders.recorded_target(work) or work, False
    kind = folders.state(target)
    if kind in ("missing", "empty"):
        return target, target, kind == "missing"     # (an empty folder the user made stays, emptied)
    if kind == "foreign":
        raise InputError(f"--out: expected a new or empty folder (or an rnnlab run folder), got {str(target)!r}, "
                         "which holds other files; choose another folder")
    if kind == "complete":
        if not overwrite:
            raise InputError(f"--out: expected a new folder, got {str(target)!r}, which holds a finished run; "
                             "give --overwrite to replace it (the old run stays until the new one has finished) "
                             "or choose another folder")
        return folders.pending_sibling(target), target, True
    # an interrupted run in the folder itself
    if folders.has_checkpoint(target) and not overwrite:
        raise InputError(f"--out: expected a new folder, got {str(target)!r}, which holds an interrupted run; "
                         f"continue it with: {resume_command(task, target)} — or give --overwrite to discard it")
    return target, target, True                       # restarted from scratch: this run owns it


def run_task(task: str, config: TaskConfig, *, out: str | Path | None = None, quiet: bool = False,
             resume: bool = False, checkpoint_every: int | None = None, overwrite: bool = False,
             command: str | None = None) -> dict[str, Any]:
    """Run ``task`` with ``config`` in its folder (see the module's docstring); returns the
    metrics.json document. The task's result line prints once the folder is in its final place,
    with the folder's absolute path. Raises :class:`RunInterrupted` on SIGINT/SIGTERM.
    """
    module = get_task(task)
    if not isinstance(config, module.Config):
        raise InputError(f"config: expected {module.__name__}.Config, got {type(config).__name__}")
    if checkpoint_every is not None and (isinstance(checkpoint_every, bool) or int(checkpoint_every) < 1):
        raise InputError(f"--checkpoint-every: expected a positive number of updates, got {checkpoint_every}")
    check_config(config)
    use_default = out is None
    target = folders.check_out(out) if out is not None else folders.check_out(default_folder(task, config))
    work, final, created = _plan(task, target, resume, overwrite)
    command = command if command is not None else " ".join(shlex.quote(a) for a in sys.argv)
    with InterruptsRaise():                 # SIGTERM too becomes an exception we can clean up after
        return _run_in(module, task, config, work, final, created, command=command, quiet=quiet,
                       resume=resume, checkpoint_every=checkpoint_every, use_default=use_default)


def _run_in(module, task: str, config: TaskConfig, work: Path, final: Path, created: bool, *, command: str,
            quiet: bool, resume: bool, checkpoint_every: int | None, use_default: bool) -> dict[str, Any]:
    """:func:`run_task` once the folders are chosen: lock, mark, run, move into place, clean up."""
    held: list[Path] = []
    ctx: RunContext | None = None
    done = False                            # the run has finished and is in place
    try:
        for f in [work] + ([final] if final != work and final.exists() else []):
            locking.acquire(f, "run folder")
            held.append(f)
        if not resume and folders.state(work) == "incomplete":
            folders.clear(work)             # nothing to keep (no checkpoint, or --overwrite)
        elif not resume and work != final and folders.state(work) != "missing":
            folders.clear(work)             # an earlier replacement attempt (--overwrite)
        folder = RunFolder(task, work, config)
        folder.command = command
        folder.mark_incomplete(resume_command(task, work))
        folder.write_config(config_document(task, config, checkpoint_every,
                                            replaces=final if final != work else None))
        ctx = RunContext(folder, quiet=quiet, resume=resume, checkpoint_every=checkpoint_every)
        ctx.pending = []
        doc = module.run(config, ctx)
        with Deferred():
            locking.release_all_under(work)
            folder.mark_complete()
            if final != work:
                locking.release_all_under(final)
                folders.move_into_place(work, final)
            if use_default:
                folders.update_latest(final)
            done = True
    except TrainingInterrupted as exc:
        raise RunInterrupted(f"{exc} — resume with: {resume_command(task, work)}", signal_name=exc.signal_name,
                             exit_code=exc.exit_code, folder=work) from None
    except KeyboardInterrupt as exc:
        if done:                            # held back during the final rename: too late to matter
            _print_results(ctx, work, final)
            return doc
        name = getattr(exc, "signal_name", "SIGINT")
        code = getattr(exc, "exit_code", 130)
        kept = _keep_or_remove(work, created, resume, owned=bool(held))
        what = (f"run interrupted by {name} outside training (no new checkpoint) — resume with: "
                f"{resume_command(task, work)}") if kept else \
               (f"run interrupted by {name} before the first checkpoint; nothing was kept — start again with: "
                f"{command}")
        raise RunInterrupted(what, signal_name=name, exit_code=code, folder=work if kept else None) from None
    except BaseException:
        _keep_or_remove(work, created, resume, owned=bool(held))
        raise
    finally:
        locking.release_all_under(work)
        for f in held:
            locking.release(f)
    _print_results(ctx, work, final)
    return doc


def _keep_or_remove(work: Path, created: bool, resume: bool, owned: bool) -> bool:
    """After a failed or interrupted run: keep ``work`` (marked) if it holds a checkpoint or was being
    resumed; otherwise remove what this run made (signals held back meanwhile). ``owned``: this
    process had locked ``work`` (otherwise it is another's, and left alone). Returns whether the
    folder was kept."""
    if resume or folders.has_checkpoint(work) or not owned:
        return True
    with Deferred():
        locking.release_all_under(work)
        if created:
            shutil.rmtree(work, ignore_errors=True)
        elif work.is_dir():
            folders.clear(work)
    return False


def _print_results(ctx: RunContext | None, work: Path, final: Path) -> None:
    """The task's result lines, pointing at the final folder's absolute path (printed always)."""
    lines = list(ctx.pending or []) if ctx is not None else []
    if ctx is not None:
        ctx.pending = None
    shown = str(final.absolute())
    lines = [line.replace(str(work), shown) if str(work) != shown else line for line in lines]
    if not any(shown in line for line in lines):
        lines.append(f"results: {shown}")
    for line in lines:
        print(line, flush=True)
