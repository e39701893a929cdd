"""BLAS thread policy: how many threads the matrix products of a recurrent layer may use.

A recurrent layer makes two kinds of matrix products:

* a few **large** ones over all time steps at once (input projections ``X·weight_ihᵀ``, weight
  gradients, ``dX``): ``(T·B) × F × G·H``;
* one **small** product per time step and direction (``h_{t-1}·weight_hhᵀ`` forward,
  ``δa_t·weight_hh`` backward): ``B × H × G·H``, T times in a Python loop.

Whether a second BLAS thread pays for waking and synchronising depends on the size and on the
machine: on an idle 2-core machine it pays for large products, on a machine shared with other
jobs it can cost many times the product itself, at every size (see docs/performance.md for
measurements, ``python benchmarks/rnn_vs_torch.py --thread-sweep`` to measure yours). So
``"auto"`` measures instead of guessing:

| policy        | what rnnlab does                                                              |
|---------------|-------------------------------------------------------------------------------|
| ``"auto"``    | The time loop (per-step products): below 262144 = M·N·K nothing (OpenBLAS     |
|  (default)    | runs them on one thread by itself); above it rnnlab times that step's two     |
|               | products on 1 thread and on BLAS's current count and keeps the faster (1      |
|               | thread unless the other is more than 1.5× faster) for the layer's time loops  |
|               | — or takes 1 thread without measuring when the machine is busy (1-minute load |
|               | average above cores − ½: another job holds a core). The choice is made again  |
|               | when older than ``RECHECK_SECONDS``, since the answer changes with the load.  |
|               | :func:`recalibrate` forgets. The all-steps products (XP, weight gradients,    |
|               | dX) run on BLAS's current count, or on 1 thread when the machine is busy.     |
| ``n`` (int)   | BLAS is set to ``n`` threads for the whole process (like threadpoolctl's      |
|               | ``threadpool_limits(n)``); ``"auto"``/``"off"`` later restore the old count.  |
| ``"off"``     | rnnlab never touches BLAS threads.                                            |

"BLAS's current count" is what OpenBLAS / MKL is set to when the layer runs: by default the
number of cores; ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or the user's own
``threadpoolctl.threadpool_limits`` lower it; ``"auto"`` only ever lowers it.
Set the policy with :func:`set_policy` or the environment variable ``RNNLAB_BLAS_THREADS``
(``auto``, ``off`` or a number), read at import. The tasks run inside :func:`task_threads`
(their ``--threads`` option: one thread unless the user chose) and start worker processes with
:func:`worker_init`.

>>> from rnnlab import threads
>>> threads.set_policy(1)            # everything single-threaded (e.g. several jobs per machine)
>>> threads.get_policy()
1
>>> with threads.policy("auto"):     # temporarily
...     pass
>>> threads.set_policy("auto")

Cost: a measurement takes a few milliseconds (up to a fraction of a second for the largest
layers on a busy machine), per layer shape every ``RECHECK_SECONDS``; the switch itself is two
calls into the BLAS library (a few µs) per forward and per backward, made only when 1 thread is
chosen.
"""
from __future__ import annotations

import contextlib
import os
import time
from typing import Iterator, Union

from .errors import InputError

__all__ = ["set_policy", "get_policy", "policy", "layer_threads", "limit", "blas_threads",
           "recalibrate", "calibrations", "task_threads", "worker_init", "ENV_VAR"]

Policy = Union[str, int]

#: Environment variable read at import: "auto", "off" or a positive integer.
ENV_VAR = "RNNLAB_BLAS_THREADS"
#: "auto" prefers 1 thread unless the full count is at least this much faster: on a shared
#: machine a wrong "more threads" costs far more (up to 10x slower) than a wrong "one thread".
_MARGIN = 1.5
#: "auto" measures a layer shape again when its last measurement is older than this.
RECHECK_SECONDS = 30.0
#: OpenBLAS runs a GEMM with M·N·K below this on one thread by itself.
_OPENBLAS_SERIAL_MNK = 262144

_policy: Policy = "auto"
_controllers = None          # cached threadpoolctl library controllers (BLAS only)
_saved: list | None = None   # BLAS thread counts before an integer policy changed them
_decisions: dict[tuple[int, int, int, int], tuple[int | None, float]] = {}   # key -> (choice, when)


def _parse(value: Policy | None) -> Policy:
    if value is None:
        return "off"
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("auto", "off"):
            return v
        try:
            value = int(v)
        except ValueError:
            raise InputError(f"BLAS thread policy: expected 'auto', 'off' or a positive integer, "
                             f"got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"BLAS thread policy: expected 'auto', 'off' or a positive integer, got {value!r}")
    return int(value)


def set_policy(value: Policy | None) -> None:
    """Set the policy: ``"auto"`` (default), ``"off"`` (never touch BLAS) or a thread count."""
    global _policy, _saved, _controllers
    value = _parse(value)
    if _saved is None:
        _controllers = None            # look again: a BLAS library may have been loaded since (scipy's)
    libs = _blas()
    if isinstance(value, int):
        if _saved is None:
            _saved = [(lib, lib.get_num_threads()) for lib in libs]
        for lib in libs:
            lib.set_num_threads(value)
    elif _saved is not None:
        for lib, n in _saved:
            if n is not None:
                lib.set_num_threads(n)
        _saved = None
    _policy = value


def get_policy() -> Policy:
    return _policy


@contextlib.contextmanager
def policy(value: Policy | None) -> Iterator[None]:
    """Use ``value`` as the policy inside a ``with`` block."""
    old = _policy
    set_policy(value)
    try:
        yield
    finally:
        set_policy(old)


def _blas():
    """threadpoolctl controllers of the loaded BLAS libraries (found once, then cached)."""
    global _controllers
    if _controllers is None:
        try:
            from threadpoolctl import ThreadpoolController
            _controllers = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # pragma: no cover - threadpoolctl missing or broken: do nothing
            _controllers = []
    return _controllers


def blas_threads() -> int | None:
    """BLAS's current thread count (the first BLAS library's), or None if none is found."""
    libs = _blas()
    return libs[0].get_num_threads() if libs else None


def layer_threads(batch: int, hidden: int, gh: int, all_steps_mnk: int = 0) -> tuple[int | None, int | None]:
    """Threads for a layer call's ``(time loop, all-steps products)`` (None: leave BLAS as it is).

    ``batch × hidden × gh`` is the per-step product, ``all_steps_mnk`` the M·N·K of the largest
    all-steps product (e.g. ``T·B × (F + 1) × G·H``). Until 2026-11-30 a layer whose time loop
    chose 1 thread ran its all-steps products on 1 thread too: one epoch of ``mnist-rows
    --model lstm`` then took 2.08 s under ``"auto"`` against 1.81 s at 2 threads.
    """
    if _policy != "auto":
        return None, None
    big = 1 if all_steps_mnk >= _OPENBLAS_SERIAL_MNK and _busy() else None
    if batch * hidden * gh < _OPENBLAS_SERIAL_MNK:
        return None, big
    full = blas_threads()
    if not full or full <= 1:
        return None, None
    key = (batch, hidden, gh, full)
    now = time.monotonic()
    choice = _decisions.get(key)
    if choice is None or now - choice[1] > RECHECK_SECONDS:
        choice = _decisions[key] = (1 if _busy() else _calibrate(batch, hidden, gh, full), now)
    return choice[0], big


def _busy() -> bool:
    """Other work already occupies a core: the 1-minute load average (which counts this process
    too) exceeds the cores minus one half. Extra BLAS threads would then wait for a core."""
    try:
        return os.getloadavg()[0] > (os.cpu_count() or 1) - 0.5
    except OSError:  # pragma: no cover - no load average on this platform
        return False


def recalibrate() -> None:
    """Forget the measurements of ``"auto"`` (e.g. after the machine's load changed)."""
    _decisions.clear()


def calibrations() -> dict[tuple[int, int, int, int], int | None]:
    """What ``"auto"`` measured: ``{(B, H, G·H, threads): 1 or None (= all threads)}``."""
    return {k: v[0] for k, v in _decisions.items()}


def _calibrate(batch: int, hidden: int, gh: int, full: int) -> int | None:
    """Time one step's products (forward h·Wᵀ, backward δa·W) on 1 thread and on ``full``."""
    import numpy as np
    rng = np.random.default_rng(0)
    h = rng.standard_normal((batch, hidden)).astype(np.float32)
    w_t = rng.standard_normal((hidden, gh)).astype(np.float32)
    w = np.ascontiguousarray(w_t.T)
    a = np.empty((batch, gh), np.float32)
    d = np.empty((batch, hidden), np.float32)

    def pair() -> float:
        t0 = time.perf_counter()
        np.matmul(h, w_t, out=a)
        np.matmul(a, w, out=d)
        return time.perf_counter() - t0

    best = {1: float("inf"), full: float("inf")}
    pair()
    budget = time.perf_counter() + 0.05
    rounds = 0
    while rounds < 2 or (time.perf_counter() < budget and rounds < 20):
        for k in best:
            with limit(k):
                best[k] = min(best[k], pair())
        rounds += 1
    return 1 if best[1] <= best[full] * _MARGIN else None


@contextlib.contextmanager
def limit(n: int | None) -> Iterator[None]:
    """At most ``n`` BLAS threads inside the block (None: no change); restored on exit."""
    old = []
    if n is not None:
        for lib in _blas():
            cur = lib.get_num_threads()
            if cur is not None and cur > n:
                lib.set_num_threads(n)
                old.append((lib, cur))
    try:
        yield
    finally:
        for lib, cur in old:
            lib.set_num_threads(cur)


def _task_choice(n: int | None) -> int | None:
    """The thread count a task run sets (None: leave BLAS alone)."""
    if n is None:
        return None if os.environ.get(ENV_VAR) else 1
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InputError(f"--threads: expected an integer >= 0 (0 leaves BLAS alone), got {n!r}")
    return n or None


@contextlib.contextmanager
def task_threads(n: int | None = None) -> Iterator[None]:
    """BLAS threads for a task's run (the tasks' ``--threads`` option), inside a ``with`` block.

    ``n`` threads; ``0`` leaves BLAS alone; ``None`` (the tasks' default) is one thread, unless
    the user chose a policy through ``RNNLAB_BLAS_THREADS`` (then that one stays). The tasks'
    models are small: extra BLAS threads mostly add synchronisation, and on a shared machine
    they cost many times the products themselves (docs/performance.md).

    >>> with task_threads(1):
    ...     get_policy()
    1
    """
    choice = _task_choice(n)
    if choice is None:
        yield
        return
    with policy(choice):
        yield


def worker_init(n: int | None = None) -> None:
    """:func:`task_threads`'s rule for a whole process: the initializer of a task's worker pool
    (parallel jobs share the cores, so each gets one BLAS thread unless the user chose)."""
    choice = _task_choice(n)
    if choice is not None:
        set_policy(choice)


if os.environ.get(ENV_VAR):
    set_policy(os.environ[ENV_VAR])
