"""Follow a job's logs until it ends: a live view on a terminal, plain lines otherwise.

The live view keeps the log scrolling above a footer with the epoch progress bar,
the latest loss line and the elapsed time. Off a terminal (pipes), and in CI even
where FORCE_COLOR makes the log look like one, it prints the log lines as they
are, with no spinner.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cloudgd.cli.output import console, note
from cloudgd.plan import JobHandle, JobStatus
from providers.base import Provider

if TYPE_CHECKING:
    from rich.console import Console

_LOSS = re.compile(r"\b\w*loss[=:]\s*[-+0-9.]")
_EPOCH = re.compile(r"\bepoch[=:\s]+(\d+)(?:\s*/\s*(\d+))?", re.IGNORECASE)


@dataclass
class Progress:
    """What the footer shows, read from the log lines seen so far."""

    name: str
    total_epochs: int | None = None
    epoch: int | None = None
    loss_line: str | None = None
    lines: int = 0
    started: float = field(default_factory=time.monotonic)

    def update(self, line: str) -> None:
        self.lines += 1
        if _LOSS.search(line):
            self.loss_line = line.strip()
        match = _EPOCH.search(line)
        if match:
            self.epoch = int(match.group(1))
            if match.group(2):
                self.total_epochs = int(match.group(2))

    def __rich__(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        from cloudgd.durations import format_duration

        elapsed = format_duration(int(time.monotonic() - self.started))
        doing = "running" if self.lines else "waiting for logs"
        grid = Table.grid(padding=(0, 1))
        grid.add_row(Spinner("dots"), Text(f"{self.name} {doing}, {elapsed}", style="bold"))
        if self.total_epochs and self.epoch is not None:
            done = min(self.epoch, self.total_epochs)
            bar = Table.grid(padding=(0, 1))
            bar.add_row(
                ProgressBar(total=self.total_epochs, completed=done, width=30),
                Text(f"epoch {self.epoch}/{self.total_epochs}"),
            )
            grid.add_row("", bar)
        if self.loss_line:
            grid.add_row("", Text(self.loss_line[:200], style="dim"))
        return grid


def _plain(provider: Provider, handle: JobHandle, out: Console) -> None:
    stream = out.file
    for line in provider.logs(handle, follow=True):
        stream.write(line.rstrip("\n") + "\n")
        stream.flush()


def _live(provider: Provider, handle: JobHandle, out: Console, progress: Progress) -> None:
    from rich.live import Live
    from rich.text import Text

    with Live(progress, console=out, refresh_per_second=8, transient=True):
        for line in provider.logs(handle, follow=True):
            progress.update(line)
            out.print(Text(line.rstrip("\n")))


def follow_job(
    provider: Provider,
    handle: JobHandle,
    *,
    name: str | None = None,
    total_epochs: int | None = None,
    to_stderr: bool = False,
) -> JobStatus:
    """Stream the job's logs until it is terminal, then return its final status.

    Ctrl-C stops following, not the job; the message says how to resume.
    """
    from cloudgd.ci.environment import in_ci

    out = console(stderr=to_stderr)
    try:
        if out.is_terminal and not in_ci(os.environ):
            progress = Progress(name=name or handle.job, total_epochs=total_epochs)
            _live(provider, handle, out, progress)
        else:
            _plain(provider, handle, out)
    except KeyboardInterrupt:
        note(f"stopped following; the job keeps running. Resume: cloudgd logs --follow '{handle}'")
        raise
    return provider.status(handle)
