"""The ``rnnlab`` command: ``rnnlab list``, ``rnnlab run TASK [options]``, and the tools in :data:`COMMANDS`
(``rnnlab diagnose``, ``sample``, ``poem``, ``couplet``, ``export``, ``compose``, ``classify``, ``translate``,
``g2p``).

``rnnlab run TASK`` offers every field of the task's config as an option, plus the run options
``--out``, ``--overwrite``, ``--quiet``, ``--checkpoint-every N``, ``--resume RUN_DIR``, ``--data DIR``
(for tasks without a ``--data`` of their own) and ``--debug``. The run folder is
``runs/<task>-<options>-<timestamp>`` unless ``--out`` names one (see :mod:`rnnlab.tasks.launch`).
An interrupted run (Ctrl-C / SIGTERM) leaves a checkpoint and prints the command that continues it;
exit status 130 (SIGINT) or 143 (SIGTERM). Errors a user can fix print one line (argument,
expected, given) and exit with status 2; ``--debug`` (or ``RNNLAB_DEBUG=1``) adds the traceback.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from pathlib import Path
from typing import Sequence

from .errors import InputError, RnnlabError

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
    "g2p": "rnnlab.tasks.g2p.command",
}


def _command(name: str):
    import importlib
    return importlib.import_module(COMMANDS[name])


def _out_folder(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a folder path, got ''")
    return Path(text)


def _add_run_options(p: argparse.ArgumentParser, has_data: bool) -> None:
    g = p.add_argument_group("run options")
    g.add_argument("--out", type=_out_folder, default=None, metavar="DIR",
                   help="run folder (default runs/<task>-<options that differ>-<YYYYmmdd-HHMMSS>; runs/latest "
                        "points at the newest)")
    g.add_argument("--overwrite", action="store_true",
                   help="replace the finished run in --out (the old one stays until the new one has finished)")
    g.add_argument("--quiet", action="store_true",
                   help="no progress bars or per-epoch lines; the final result and the results folder still print")
    g.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                   help="also checkpoint every N updates (default: at every epoch end)")
    g.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                   help="continue the interrupted run in RUN_DIR from its checkpoint, with its config.json "
                        "(options given here override the saved ones)")
    if not has_data:
        g.add_argument("--data", dest="data_dir", default=None, metavar="DIR",
                       help="a folder holding the data files, searched before $RNNLAB_DATA and the cache")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show the traceback of an error")


def _version() -> str:
    from . import __version__
    return __version__


def build_parser() -> argparse.ArgumentParser:
    import dataclasses

    from . import tasks
    from .tasks.config import add_config_arguments
    p = argparse.ArgumentParser(prog="rnnlab", description="Recurrent neural networks on NumPy: run the lecture's cases.")
    p.add_argument("--version", action="version", version=f"rnnlab {_version()}")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the tasks (and those unavailable, with the reason)")
    run = sub.add_parser("run", help="train and evaluate a task, writing a run folder")
    run_sub = run.add_subparsers(dest="task", required=True, metavar="TASK")
    for name, summary in tasks.available().items():
        tp = run_sub.add_parser(name, help=summary, description=summary)
        cls = tasks.get_task(name).Config
        add_config_arguments(tp.add_argument_group("task options"), cls)
        _add_run_options(tp, has_data="data" in {f.name for f in dataclasses.fields(cls)})
    for name in COMMANDS:
        try:
            module = _command(name)
        except ModuleNotFoundError as exc:          # a command whose module is absent is not offered
            if exc.name is None or not COMMANDS[name].startswith(exc.name):
                raise
            continue
        module.add_arguments(sub.add_parser(name, help=module.SUMMARY, description=module.SUMMARY))
    return p


def _command_line(argv: Sequence[str]) -> str:
    return " ".join(shlex.quote(a) for a in ["rnnlab", *argv])


def _run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .data.paths import data_dir_override
    from .tasks import get_task
    from .tasks.config import config_from_args
    from .tasks.launch import read_run_config, resume_folder, run_task
    cls = get_task(args.task).Config
    out, every = args.out, args.checkpoint_every
    data_dir = getattr(args, "data_dir", None)
    if args.resume is not None:
        if out is not None and Path(out).resolve() != args.resume.resolve():
            raise InputError(f"--out {out} and --resume {args.resume}: a resumed run stays in its folder; give one of them")
        saved, run_opts = read_run_config(args.task, args.resume)
        config = config_from_args(cls, args, base=saved)
        out = resume_folder(args.resume)
        every = every if every is not None else run_opts.get("checkpoint_every")
        data_dir = data_dir if data_dir is not None else run_opts.get("data")
    else:
        config = config_from_args(cls, args)
    with data_dir_override(data_dir):
        run_task(args.task, config, out=out, quiet=args.quiet, resume=args.resume is not None,
                 checkpoint_every=every, overwrite=args.overwrite, command=_command_line(argv))
    return 0


def _one_line(exc: BaseException) -> str:
    """An error message on one line (a multi-line how-to joined with ' ')."""
    return " ".join(part.strip() for part in str(exc).splitlines() if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rnnlab`` command; returns the exit status (argparse's usage errors too)."""
    from . import tasks
    from .tasks.launch import RunInterrupted
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("RNNLAB_DEBUG", "") not in ("", "0")
    if argv[:1] == ["--version"]:                   # without importing every task
        print(f"rnnlab {_version()}")
        return 0
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except SystemExit as exc:                       # --help, --version, usage errors (status 2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        if args.command == "list":
            for name, summary in tasks.available().items():
                print(f"{name:<14s} {summary}")
            for name, why in tasks.unavailable().items():
                print(f"{name:<14s} (unavailable: {why})")
            return 0
        if args.command in COMMANDS:
            return _command(args.command).main(args)
        return _run(args, argv)
    except RunInterrupted as exc:
        print(f"rnnlab: {exc}", file=sys.stderr)
        return exc.exit_code
    except (RnnlabError, OSError) as exc:
        if debug:
            traceback.print_exc()
        message = _one_line(exc)
        if args.command == "run" and isinstance(exc, InputError) and message.startswith("--"):
            _usage_error(parser, args.task, message)     # an option's value: like argparse's own errors
        else:
            print(f"rnnlab: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        name = getattr(exc, "signal_name", "SIGINT")
        print(f"rnnlab: interrupted ({name})", file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback with --debug
        if debug:
            raise
        print(f"rnnlab: internal error: {type(exc).__name__}: {_one_line(exc)} (run again with --debug for "
              "the traceback, and please report it)", file=sys.stderr)
        return 1


def _usage_error(parser: argparse.ArgumentParser, task: str, message: str) -> None:
    """Print ``rnnlab run TASK``'s usage line and the error, as argparse does (without exiting)."""
    sub = _subparser(_subparser(parser, "run"), task)
    target = sub or parser
    target.print_usage(sys.stderr)
    print(f"{target.prog}: error: argument {message}", file=sys.stderr)


def _subparser(parser: argparse.ArgumentParser | None, name: str) -> argparse.ArgumentParser | None:
    if parser is None:
        return None
    for action in parser._actions:                   # argparse keeps its subparsers here
        if isinstance(action, argparse._SubParsersAction):
            return action.choices.get(name)
    return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
