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


class StopRequests:
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

    def __enter__(self) -> "StopRequests":
        if self.enabled:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.requested or "", 1)
