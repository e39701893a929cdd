"""Stop training cleanly on Ctrl-C (SIGINT) or SIGTERM: finish the batch, checkpoint, then stop.

Inside :class:`StopRequests` the first SIGINT or SIGTERM only sets a flag; the training loop looks
at it between batches, writes a checkpoint and raises
:class:`~rnnlab.errors.TrainingInterrupted` (exit code 130 for SIGINT, 143 for SIGTERM, as a shell
reports them). A second Ctrl-C while the first is being handled raises ``KeyboardInterrupt`` at
once (the checkpoint written before stays valid: writes are atomic). Handlers are installed only
in the main thread and restored on exit.
"""
from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


class _Handlers:
    """Installs ``self._handle`` for SIGINT and SIGTERM on entry (main thread only, when
    ``self.enabled``) and restores the previous handlers on exit."""

    enabled: bool
    _previous: dict[int, Any]

    def _handle(self, signum: int, frame: FrameType | None) -> None:  # pragma: no cover
        raise NotImplementedError

    def __enter__(self):
        if self.enabled:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


class StopRequests(_Handlers):
    """Context manager: ``with StopRequests(enabled) as stop: ... if stop.requested: ...``."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.requested is not None and name == "SIGINT":
            raise KeyboardInterrupt
        self.requested = self.requested or name

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.requested or "", 1)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM outside a training loop (data preparation, writing results).

    A ``KeyboardInterrupt`` (so code that already handles Ctrl-C handles SIGTERM the same way)
    carrying the signal's name and the exit code a shell reports for it.
    """

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name
        self.exit_code = EXIT_CODES.get(signal_name, 1)


class InterruptsRaise(_Handlers):
    """Context manager: SIGINT and SIGTERM raise :class:`Interrupted` (main thread only).

    Without it SIGTERM kills the process on the spot (no message, no cleanup) and SIGINT raises a
    bare ``KeyboardInterrupt``. ``fit`` installs its own handlers (:class:`StopRequests`) inside
    and restores these when it returns; :class:`Deferred` holds both back during a critical
    section (e.g. renaming a finished run into place).
    """

    def __init__(self) -> None:
        self.enabled = threading.current_thread() is threading.main_thread()
        self._previous: dict[int, Any] = {}

    @staticmethod
    def _handle(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)



class Deferred:
    """``with Deferred(): ...`` — SIGINT and SIGTERM are blocked in the block and delivered after it
    (POSIX main thread; elsewhere a no-op)."""

    SIGNALS = {signal.SIGINT, signal.SIGTERM}

    def __init__(self) -> None:
        self.enabled = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
        self._old: set | None = None

    def __enter__(self) -> "Deferred":
        if self.enabled:
            self._old = signal.pthread_sigmask(signal.SIG_BLOCK, self.SIGNALS)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.enabled and self._old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, self._old)
