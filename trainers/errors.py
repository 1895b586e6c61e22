"""Trainer failures and the process exit codes they map to.

The trainer must not import ``cloudgd``, so it has its own small tree; the codes
match the job contract (0 ok, 1 other, 2 bad config, 3 data error, 143 preempted).
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_DATA = 3
# 128 + SIGTERM: what a shell reports for a process ended by SIGTERM, so orchestrators
# that already treat 143 as "stopped" keep doing so; we only exit with it after saving.
EXIT_PREEMPTED = 143


class TrainerError(Exception):
    """A failure reported as one line (plus an optional hint) and an exit code."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def line(self) -> str:
        """The one line printed to stderr and written to the failure file."""
        return f"{self.message} (hint: {self.hint})" if self.hint else self.message


class ConfigError(TrainerError):
    """The TrainConfig, an override or a flag is invalid."""

    exit_code = EXIT_CONFIG


class DataError(TrainerError):
    """The data cannot be found or read."""

    exit_code = EXIT_DATA


class NonFiniteError(TrainerError):
    """Too many steps produced a non-finite loss or gradient."""


class Preempted(TrainerError):
    """SIGTERM arrived; a checkpoint was saved and the process should exit."""

    exit_code = EXIT_PREEMPTED
