"""Worker processes for a task's grid of runs, stopped cleanly together with the run.

A terminal's Ctrl-C reaches every process of the foreground group; a ``kill`` reaches only the
run. :func:`process_pool` makes both end the same way, without a traceback from any worker:

- workers ignore SIGINT except while training (``fit`` installs its own handler there, which
  checkpoints and stops at the next batch);
- when the run is interrupted, pending jobs are cancelled and every worker gets SIGTERM: one in
  ``fit`` checkpoints and stops, one elsewhere ends at once (its last checkpoint, written
  atomically, stays valid); workers that do not end within ``grace`` seconds are killed.
"""
from __future__ import annotations

import os
import signal
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any, Callable, Iterator


def _start_worker(init: Callable[..., Any] | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if init is not None:
        init(*initargs)


@contextmanager
def process_pool(jobs: int, initializer: Callable[..., Any] | None = None, initargs: tuple = (),
                 grace: float = 60.0) -> Iterator[ProcessPoolExecutor]:
    """A spawn-based ``ProcessPoolExecutor`` of ``jobs`` workers (see the module docstring)."""
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=_start_worker,
                               initargs=(initializer, initargs))
    try:
        yield pool
    except BaseException:
        procs = list((getattr(pool, "_processes", None) or {}).values())   # the stdlib keeps them here
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except (OSError, TypeError):
                pass
        for proc in procs:
            proc.join(grace)
            if proc.is_alive():
                proc.kill()
        raise
    pool.shutdown(wait=True)
