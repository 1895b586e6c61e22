"""The GitHub Actions job summary: a Markdown block appended to ``$GITHUB_STEP_SUMMARY``.

GitHub renders that file on the run's page; several steps (and several jobs in
one step) may append to it, so each result is one self-contained section.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cloudgd import registry
from cloudgd.ci.result import CostFigures, JobResult, headline_metrics
from cloudgd.plan import JobState

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"

_ICONS = {
    JobState.SUCCEEDED: "✅",
    JobState.FAILED: "❌",
    JobState.CANCELLED: "⏹️",
}


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    quoted = _cell(text).replace("`", "'")
    return f"`{quoted}`"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    from cloudgd.durations import format_duration

    return format_duration(round(seconds))


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def cost_text(cost: CostFigures | None, provider: str) -> str:
    """One line: this run's cost, then the machine and the price it assumed."""
    if cost is None:
        return (
            "none (runs on this machine)"
            if registry.runs_here(provider)
            else "unknown (no catalog price)"
        )
    capacity = "spot" if cost.capacity == "spot" else "on-demand"
    spent = _money(cost.this_run) if cost.this_run is not None else "not known yet"
    rate = "price unknown" if cost.per_hour is None else f"{_money(cost.per_hour)}/h"
    bound = f", at most {_money(cost.worst_case)}" if cost.worst_case is not None else ""
    return (
        f"{spent} ({cost.instance_type} × {cost.nodes}, {capacity}, {rate}{bound}; "
        f"list prices as of {cost.prices_as_of.isoformat()})"
    )


def _link(result: JobResult) -> str:
    if result.console_url:
        return f"[open in the console]({result.console_url})"
    return _code(result.handle)


def render_summary(result: JobResult) -> str:
    """The Markdown section for one job (ends with a blank line)."""
    icon = _ICONS.get(result.state, "⏳")
    verdict = "" if not result.gates else (" — gates passed" if result.passed else " — gate failed")
    where = result.provider + ("" if result.backend == "cloud" else f" ({result.backend})")
    state = result.state.value + (f": {result.message}" if result.message else "")
    rows = [
        ("job", _code(result.job_name) + (" (existing job)" if result.attached else "")),
        ("provider", _cell(where)),
        ("state", _cell(state)),
        ("duration", _duration(result.duration_seconds)),
        ("estimated cost", _cell(cost_text(result.cost, result.provider))),
        ("link", _link(result)),
    ]
    if result.ci_run_url:
        rows.append(("CI run", f"[{_cell(result.ci_run_url)}]({result.ci_run_url})"))
    lines = [f"### {icon} cloudgd: {_cell(result.job_name)} {result.state.value}{verdict}", ""]
    lines += ["| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows), ""]
    if result.metrics:
        shown = headline_metrics(result.metrics)
        lines += ["**Final metrics**", "", "| metric | value |", "|---|---:|"]
        lines += [f"| {_cell(k)} | {v:.6g} |" for k, v in sorted(shown.items())]
        if len(shown) < len(result.metrics):
            lines += ["", f"{len(result.metrics) - len(shown)} more in the JSON result."]
        lines.append("")
    if result.gates:
        lines += ["**Gates**", ""]
        reported = result.metrics.keys()
        lines += [f"- {'✅' if g.passed else '❌'} {_cell(g.line(reported))}" for g in result.gates]
        lines.append("")
    return "\n".join(lines) + "\n"


def append_step_summary(result: JobResult, env: Mapping[str, str] | None = None) -> Path | None:
    """Append the result to ``$GITHUB_STEP_SUMMARY`` when it is set; return the file."""
    target = (os.environ if env is None else env).get(STEP_SUMMARY_ENV)
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as summary:
        summary.write(render_summary(result))
    return path
