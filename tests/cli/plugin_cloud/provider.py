"""The acme provider: the CLI tests' fake cloud, declaring itself a cloud the core prices."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from cloudgd.plan import JobHandle, JobStatus
from tests.cli.fakes import FakeProvider


class AcmeCloud(FakeProvider):
    """A cloud no built-in knows: the core learns about it only from these attributes."""

    name: ClassVar[str] = "acme"
    is_cloud: ClassVar[bool] = True
    default_poll_seconds: ClassVar[float] = 0.25
    bundle_format: ClassVar[str | None] = "sdist"
    uri_schemes: ClassVar[tuple[str, ...]] = ("acme",)
    polls: ClassVar[list[float]] = []  # the poll interval each wait was given

    def upload_data(self, path: Path, uri: str) -> list[str]:
        return [uri]

    def wait(
        self,
        handle: JobHandle,
        *,
        timeout: float | None = None,
        poll: float = 5.0,
        on_status: Callable[[JobStatus], None] | None = None,
    ) -> JobStatus:
        self.polls.append(poll)  # recorded, then not slept: the fake job ends in 3 polls
        return super().wait(handle, timeout=timeout, poll=0.0, on_status=on_status)
