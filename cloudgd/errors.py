"""The one error tree. The CLI maps each class to an exit code and prints one line + hint."""

from __future__ import annotations


class CloudgdError(Exception):
    """An expected failure the user can act on.

    ``message`` is one line naming what to fix (a file, a field, a flag);
    ``hint`` optionally says how.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def lines(self) -> list[str]:
        """Lines the CLI prints for this error (without the hint)."""
        return [self.message]


class SpecError(CloudgdError):
    """The job spec, an override or a flag is invalid. Exit code 2."""

    exit_code = 2

    def __init__(
        self, message: str, *, hint: str | None = None, problems: list[str] | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.problems = list(problems or [])

    def lines(self) -> list[str]:
        return self.problems or [self.message]


class UsageError(SpecError):
    """A command-line argument is wrong (unknown provider, bad handle). Exit code 2."""


class BudgetError(SpecError):
    """The job's worst-case cost exceeds ``limits.max_cost_usd``. Exit code 2."""


class ProviderError(CloudgdError):
    """The cloud (or its fake) refused or failed a call. Exit code 3."""

    exit_code = 3


class MissingExtraError(ProviderError):
    """A provider's SDK is not installed; the hint carries the pip command."""


class CredentialsError(ProviderError):
    """No usable credentials for a provider."""


class JobNotFoundError(ProviderError):
    """A handle names a job the provider does not know."""


class JobFailedError(CloudgdError):
    """A waited-for job ended FAILED or CANCELLED, or missed a metric gate. Exit code 4."""

    exit_code = 4


class WaitTimeoutError(CloudgdError):
    """A wait's timeout expired while the job was still running. Exit code 124."""

    exit_code = 124


EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_SPEC = 2
EXIT_PROVIDER = 3
EXIT_JOB_FAILED = 4
EXIT_TIMEOUT = 124  # like timeout(1): the job is still running
