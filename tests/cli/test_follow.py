"""The follow view: plain lines off a terminal, a live footer on one, Ctrl-C leaves the job."""

from __future__ import annotations

import io

from rich.console import Console

from cloudgd.cli.follow import Progress, _live
from cloudgd.plan import JobHandle
from tests.cli.conftest import DIGITS, Invoke
from tests.cli.fakes import LOG_LINES, FakeProvider


def test_progress_reads_epochs_and_the_latest_loss_line() -> None:
    progress = Progress(name="job", total_epochs=20)
    for line in ["starting", "epoch=2 step=10 loss=0.71", "val_loss=0.6 val_accuracy=0.9"]:
        progress.update(line)
    assert (progress.epoch, progress.total_epochs) == (2, 20)
    assert progress.loss_line == "val_loss=0.6 val_accuracy=0.9"
    progress.update("Epoch 3/25 done")
    assert (progress.epoch, progress.total_epochs) == (3, 25)
    progress.update("lossy=1 not a loss")  # a word merely starting with loss is not one
    assert progress.loss_line == "val_loss=0.6 val_accuracy=0.9"


def test_live_view_on_a_terminal_prints_every_line_and_a_footer(invoke: Invoke) -> None:
    handle = invoke("submit", DIGITS, "-p", "fake").stdout.strip()
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100, color_system="standard")
    progress = Progress(name="digits", total_epochs=3)
    _live(FakeProvider(), JobHandle.parse(handle), terminal, progress)
    shown = screen.getvalue()
    assert all(line in shown for line in LOG_LINES)
    assert "epoch 3/3" in shown and "\x1b[" in shown  # the footer was drawn, in colour
    assert progress.loss_line == "epoch 3/3 loss=0.25"


def test_ctrl_c_while_following_says_how_to_resume(invoke: Invoke) -> None:
    result = invoke("submit", DIGITS, "-p", "fake", "-f", "--set", "env.FAKE_OUTCOME=CTRL_C_LOGS")
    assert result.exit_code == 130
    handle = result.stdout.splitlines()[0]
    assert f"the job keeps running. Resume: cloudgd logs --follow '{handle}'" in result.stderr
    assert invoke("-o", "json", "status", handle).exit_code == 0  # still there
