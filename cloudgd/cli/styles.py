"""How states look to people: the colours every table and status line shares."""

from __future__ import annotations

from cloudgd.plan import JobState

STATE_STYLES = {
    JobState.SUCCEEDED: "bold green",
    JobState.FAILED: "bold red",
    JobState.CANCELLED: "yellow",
    JobState.RUNNING: "cyan",
    JobState.UNKNOWN: "magenta",
}


def state_text(state: JobState) -> str:
    """The state with its colour markup."""
    style = STATE_STYLES.get(state)
    return f"[{style}]{state.value}[/]" if style else state.value
