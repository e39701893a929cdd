"""The ``rnnlab`` command: ``rnnlab list``, ``rnnlab run TASK [options]``, and the tools in :data:`COMMANDS`
(``rnnlab diagnose``, ``rnnlab sample``, ``rnnlab poem``, ``rnnlab couplet``, ``rnnlab export``).

``rnnlab run TASK`` offers every field of the task's config as an option, plus the run options
``--out``, ``--quiet``, ``--checkpoint-every N`` and ``--resume RUN_DIR``. An interrupted run
(Ctrl-C / SIGTERM) leaves a checkpoint and prints the command that continues it; exit status 130
(SIGINT) or 143 (SIGTERM). Errors a user can fix print one line and exit with status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from .errors import InputError, RnnlabError, TrainingInterrupted

#: command name -> module with ``SUMMARY``, ``add_arguments(parser)`` and ``main(args) -> exit status``
COMMANDS = {
    "diagnose": "rnnlab.diagnose",
    "sample": "rnnlab.tasks.charlm.sample",
    "poem": "rnnlab.tasks.poem.command",
    "couplet": "rnnlab.tasks.couplet.command",
    "export": "rnnlab.interop.command",
    "compose": "rnnlab.tasks.chorales.compose",
    "classify": "rnnlab.tasks.sentiment.classify",
    "translate": "rnnlab.tasks.translate.command",
}


def _command(name: str):
    import importlib
    return importlib.import_module(COMMANDS[name])


def _add_run_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run options")
    g.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="run folder (default runs/<task>, or the task's own, e.g. runs/ucr-<dataset>)")
    g.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines; the final result still prints")
    g.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                   help="also checkpoint every N updates (default: at every epoch end)")
    g.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="continue the interrupted run in RUN_DIR from its checkpoint, with its config.json "
                        "(options given here override the saved ones)")


def build_parser() -> argparse.ArgumentParser:
    from . import tasks
    from .tasks.config import add_config_arguments
    p = argparse.ArgumentParser(prog="rnnlab", description="Recurrent neural networks on NumPy: run the lecture's cases.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the tasks")
    run = sub.add_parser("run", help="train and evaluate a task, writing a run folder")
    run_sub = run.add_subparsers(dest="task", required=True, metavar="TASK")
    for name, summary in tasks.available().items():
        tp = run_sub.add_parser(name, help=summary, description=summary)
        add_config_arguments(tp.add_argument_group("task options"), tasks.get_task(name).Config)
        _add_run_options(tp)
    for name in COMMANDS:
        try:
            module = _command(name)
        except ModuleNotFoundError as exc:          # a command whose module is absent is not offered
            if exc.name is None or not COMMANDS[name].startswith(exc.name):
                raise
            continue
        module.add_arguments(sub.add_parser(name, help=module.SUMMARY, description=module.SUMMARY))
    return p


def _run(args: argparse.Namespace) -> int:
    from .tasks import get_task
    from .tasks.config import config_from_args
    from .tasks.launch import default_folder, read_run_config, resume_command, run_task
    cls = get_task(args.task).Config
    out, every = args.out, args.checkpoint_every
    if args.resume is not None:
        if out is not None and Path(out).resolve() != args.resume.resolve():
            raise InputError(f"--out {out} and --resume {args.resume}: a resumed run stays in its folder; give one of them")
        saved, run_opts = read_run_config(args.task, args.resume)
        config = config_from_args(cls, args, base=saved)
        out = args.resume
        every = every if every is not None else run_opts.get("checkpoint_every")
    else:
        config = config_from_args(cls, args)
    folder = out if out is not None else default_folder(args.task, config)
    try:
        run_task(args.task, config, out=folder, quiet=args.quiet, resume=args.resume is not None,
                 checkpoint_every=every)
    except TrainingInterrupted as exc:
        then = "resume with" if exc.checkpoint is not None else "no checkpoint; start again with"
        print(f"rnnlab: {exc} — {then}: {resume_command(args.task, folder)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # outside fit (data preparation, writing results): no new checkpoint
        print(f"rnnlab: interrupted (SIGINT) outside training — resume with: {resume_command(args.task, folder)}",
              file=sys.stderr)
        return 130
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rnnlab`` command; returns the exit status."""
    from . import tasks
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            for name, summary in tasks.available().items():
                print(f"{name:<14s} {summary}")
            return 0
        if args.command in COMMANDS:
            return _command(args.command).main(args)
        return _run(args)
    except RnnlabError as exc:
        print(f"rnnlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnlab: interrupted (SIGINT)", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
