"""Follow a job's logs until it ends: a live view on a terminal, plain lines otherwise.

The live view keeps the log scrolling above a footer: the run's name and elapsed
time, a progress bar (epochs, then steps once the first epoch has shown how many
there are) with an ETA, and the latest loss, validation metric, learning rate and
samples/s read from the trainer's metric lines (:mod:`cloudgd.report.live`).
Off a terminal (pipes), and in CI even where FORCE_COLOR makes the log look like
one, it prints the log lines as they are, with no colour and no spinner.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudgd.cli.output import console, note
from cloudgd.plan import JobHandle, JobStatus
from cloudgd.report.live import TrainingProgress, metrics_text, parse_metrics_line
from providers.base import Provider

if TYPE_CHECKING:
    from rich.console import Console

_LOSS = re.compile(r"\b\w*loss[=:]\s*[-+0-9.]")
_EPOCH = re.compile(r"\bepoch[=:\s]+(\d+)(?:\s*/\s*(\d+))?", re.IGNORECASE)


def _clock(seconds: float) -> str:
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclass
class Progress:
    """What the footer shows, read from the log lines seen so far."""

    name: str
    total_epochs: int | None = None
    epoch: int | None = None
    loss_line: str | None = None
    lines: int = 0
    started: float = field(default_factory=time.monotonic)
    training: TrainingProgress = field(default_factory=TrainingProgress)

    def update(self, line: str) -> None:
        self.lines += 1
        record = parse_metrics_line(line)
        if record is not None:
            self.training.total_epochs = self.total_epochs
            self.training.update(record, time.monotonic())
        if _LOSS.search(line):
            self.loss_line = line.strip()
        match = _EPOCH.search(line)
        if match:
            self.epoch = int(match.group(1))
            if match.group(2):
                self.total_epochs = int(match.group(2))

    def bar_text(self) -> str:
        """``epoch 3/20 · step 69/460 · ETA 0:12`` (as much as is known)."""
        t = self.training
        parts = []
        epoch = t.epoch if t.records else self.epoch
        if epoch is not None:
            of = f"/{self.total_epochs}" if self.total_epochs else ""
            parts.append(f"epoch {epoch}{of}")
        if t.step is not None:
            parts.append(f"step {t.step}/{t.total_steps}" if t.total_steps else f"step {t.step}")
        eta = t.eta_seconds()
        if eta is not None:
            parts.append(f"ETA {_clock(eta)}")
        return " · ".join(parts)

    def __rich__(self) -> Any:
        from rich.progress_bar import ProgressBar
        from rich.spinner import Spinner
        from rich.table import Table
        from rich.text import Text

        elapsed = _clock(time.monotonic() - self.started)
        doing = "running" if self.lines else "waiting for logs"
        grid = Table.grid(padding=(0, 1))
        grid.add_row(Spinner("dots"), Text(f"{self.name} {doing}, {elapsed}", style="bold"))
        t = self.training
        fraction = t.fraction() if t.records else None
        if fraction is None and self.total_epochs and self.epoch is not None:
            fraction = min(self.epoch, self.total_epochs) / self.total_epochs
        if fraction is not None:
            bar = Table.grid(padding=(0, 1))
            bar.add_row(
                ProgressBar(total=1000, completed=round(fraction * 1000), width=30),
                Text(f"{fraction * 100:3.0f}%  {self.bar_text()}"),
            )
            grid.add_row("", bar)
        if t.records:
            grid.add_row("", Text(metrics_text(t), style="cyan"))
        elif self.loss_line:
            grid.add_row("", Text(self.loss_line[:200], style="dim"))
        return grid


def planned_epochs(status: JobStatus) -> int | None:
    """trainer.epochs of a local (or rehearsed) run, read from its plan; None elsewhere."""
    run_dir = status.extra.get("run_dir")
    if not isinstance(run_dir, str):
        return None
    try:
        config = json.loads((Path(run_dir) / "plan.json").read_text())["request"]["config"]
        return int(config["epochs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


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
