"""The follow view: trainer lines parsed into progress, rendered plain or live."""

from __future__ import annotations

import io
from collections.abc import Iterator

from pydantic import BaseModel
from rich.console import Console

from cloudgd.cli.follow import Progress, _live, _plain
from cloudgd.plan import JobHandle, JobState, JobStatus
from cloudgd.report.live import TrainingProgress, metrics_text, parse_metrics_line
from providers.base import Provider

LINES = [
    "training mlp on digits (1437 train / 360 val rows, task=classification) on cpu",
    "[step] step=10 epoch=1 loss=2.28946 lr=0.0006 grad_norm=0.452962 samples_per_sec=24795.2",
    "[step] step=20 epoch=1 loss=2.18821 lr=0.0012 grad_norm=0.554129 samples_per_sec=39156.8",
    "[epoch] step=23 epoch=1 loss=2.21518 val_loss=1.98731 val_accuracy=0.721448 lr=0.00138",
    "[step] step=30 epoch=2 loss=1.9 lr=0.0018 grad_norm=0.5 samples_per_sec=40000",
]


def test_trainer_lines_parse_to_records_whatever_the_platform_prefix() -> None:
    record = parse_metrics_line("2026-01-02T03:04:05Z [rank0] " + LINES[3])
    assert record == {
        "kind": "epoch",
        "step": 23,
        "epoch": 1,
        "loss": 2.21518,
        "val_loss": 1.98731,
        "val_accuracy": 0.721448,
        "lr": 0.00138,
    }
    jsonl = '{"kind": "step", "step": 5, "loss": 0.5, "lr": 0.1}'
    assert parse_metrics_line(jsonl) == {"kind": "step", "step": 5, "loss": 0.5, "lr": 0.1}
    for other in (LINES[0], "loss went down", "[step] no step here", "{not json"):
        assert parse_metrics_line(other) is None


def test_progress_learns_steps_per_epoch_and_projects_an_eta() -> None:
    progress = TrainingProgress(total_epochs=20)
    for now, line in enumerate(LINES[1:]):  # one record per second
        record = parse_metrics_line(line)
        assert record is not None
        progress.update(record, float(now))
    assert progress.steps_per_epoch == 23 and progress.total_steps == 460
    assert progress.step == 30 and progress.epoch == 2 and progress.epochs_done == 1
    assert progress.fraction() == 30 / 460
    assert progress.eta_seconds() == 3 / 20 * (460 - 30)  # 20 steps took 3 s
    assert progress.val_metric == ("val_accuracy", 0.721448)
    assert metrics_text(progress) == (
        "loss 1.9 · val_loss 1.987 · val_accuracy 72.1% · lr 1.80e-03 · 40,000 samples/s"
    )


class _Lines(Provider):
    """Just enough of a provider to stream fixed log lines."""

    name = "lines"
    options_model = BaseModel  # never used here

    def plan(self, spec, ctx):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def submit(self, plan):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def status(self, handle: JobHandle) -> JobStatus:
        return JobStatus(handle=str(handle), name=handle.job, state=JobState.SUCCEEDED)

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        yield from LINES

    def cancel(self, handle: JobHandle) -> JobStatus:
        return self.status(handle)

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        return []


HANDLE = JobHandle.parse("lines://zone/digits")


def test_off_a_terminal_the_lines_pass_through_plain() -> None:
    stream = io.StringIO()
    _plain(_Lines(), HANDLE, Console(file=stream, force_terminal=False))
    assert stream.getvalue() == "".join(line + "\n" for line in LINES)
    assert "\x1b[" not in stream.getvalue()


def test_on_a_terminal_the_footer_shows_bar_eta_and_metrics() -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120, color_system="standard")
    progress = Progress(name="digits", total_epochs=20)
    _live(_Lines(), HANDLE, terminal, progress)
    shown = screen.getvalue()
    assert all(line in shown for line in LINES)
    assert "epoch 2/20 · step 30/460" in shown  # the ETA itself: see the test above
    assert "val_accuracy 72.1%" in shown and "samples/s" in shown
    assert progress.bar_text().startswith("epoch 2/20 · step 30/460")
