"""The ``rnnlab`` command: ``rnnlab list``, ``rnnlab run TASK [options]``, ``rnnlab diagnose ...``."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .errors import RnnlabError


def build_parser() -> argparse.ArgumentParser:
    from . import tasks
    p = argparse.ArgumentParser(prog="rnnlab", description="Recurrent neural networks on NumPy: run the lecture's cases.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the tasks")
    run = sub.add_parser("run", help="train and evaluate a task, writing a run folder")
    run_sub = run.add_subparsers(dest="task", required=True, metavar="TASK")
    for name, summary in tasks.available().items():
        tp = run_sub.add_parser(name, help=summary, description=summary)
        tasks.get_task(name).add_arguments(tp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from . import tasks
    args = build_parser().parse_args(argv)
    if args.command == "list":
        for name, summary in tasks.available().items():
            print(f"{name:<14s} {summary}")
        return 0
    try:
        tasks.get_task(args.task).run(args)
    except RnnlabError as exc:
        print(f"rnnlab: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
