"""SIGTERM (spot or low-priority preemption, ``docker stop``) as a flag the loop polls.

The handler only sets a flag: the loop saves a checkpoint at the next optimizer-step
boundary and exits with ``EXIT_PREEMPTED``. SageMaker gives 120 s between SIGTERM and
SIGKILL, far more than one step plus a save of the models this trainer targets.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class StopFlag:
    """Set by SIGTERM (or by hand in tests); read once per step by the loop."""

    def __init__(self) -> None:
        self.requested = False
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        self.signum = signum
        print(f"received signal {signum}: checkpointing at the next step", flush=True)

    def install(self, signals: tuple[int, ...] = (signal.SIGTERM,)) -> StopFlag:
        """Install the handler (main thread only; elsewhere the flag stays manual)."""
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in signals:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def uninstall(self) -> None:
        """Restore the handlers that were there before ``install``."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)  # type: ignore[arg-type]
        self._previous.clear()
