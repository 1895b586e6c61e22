"""Everything the CLI prints goes through here.

Rules: with ``--output json`` stdout carries exactly one JSON document and all
human text goes to stderr; in text mode the command's result goes to stdout and
progress and hints to stderr. No colour or animation unless the stream is a
terminal (rich decides; ``NO_COLOR`` is honoured).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from cloudgd.cli.styles import state_text
from cloudgd.cli.trials_view import best_text, counts_text, params_text, render_trials
from cloudgd.plan import JobStatus, Plan
from cloudgd.tuning.status import StudyStatus, TrialOfStudy

if TYPE_CHECKING:
    from rich.console import Console


def console(*, stderr: bool = False) -> Console:
    """A rich console on stdout or stderr; off a terminal, lines are never wrapped."""
    from rich.console import Console

    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal:
        out.width = 10_000
    return out


def human_console() -> Console:
    """Where a command's human-readable result goes: stderr in JSON mode, else stdout."""
    from cloudgd.cli.options import settings

    return console(stderr=settings().json)


def note(text: str) -> None:
    """One line of progress or advice for people, on stderr; ``-q`` keeps only warnings."""
    from cloudgd.cli.options import settings

    if settings().quiet and not text.startswith(("warning", "cloudgd: warning")):
        return
    click.echo(text, err=True)


def emit_json(document: Any) -> None:
    """The single JSON document of a ``--output json`` command."""
    click.echo(json.dumps(document, indent=2, sort_keys=True, default=str))


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def duration_text(status: JobStatus) -> str | None:
    """How long the job ran (or has been running), when known."""
    if status.started_at is None:
        return None
    end = status.ended_at or datetime.now(status.started_at.tzinfo)
    seconds = max(int((end - status.started_at).total_seconds()), 0)
    from cloudgd.durations import format_duration

    return format_duration(seconds)


def key_values(out: Console, rows: list[tuple[str, str | None]]) -> None:
    """Aligned ``key  value`` lines (values may hold markup); rows whose value is None skipped."""
    shown = [(key, value) for key, value in rows if value is not None]
    width = max((len(key) for key, _ in shown), default=0)
    for key, value in shown:
        out.print(f"[bold]{key.ljust(width)}[/]  {value}")


def render_status(out: Console, status: JobStatus) -> None:
    """A job's status as aligned key/value lines."""
    from rich.markup import escape

    raw = f" ({escape(status.raw_state)})" if status.raw_state else ""
    rows: list[tuple[str, str | None]] = [
        ("job", escape(status.name)),
        ("state", state_text(status.state) + raw),
        ("handle", escape(status.handle)),
        ("message", escape(status.message) if status.message else None),
        ("created", _when(status.created_at)),
        ("started", _when(status.started_at) if status.started_at else None),
        ("ended", _when(status.ended_at) if status.ended_at else None),
        ("ran for", duration_text(status)),
        ("exit code", None if status.exit_code is None else str(status.exit_code)),
        ("console", escape(status.console_url) if status.console_url else None),
    ]
    rows += [(f"metric {k}", f"{v:.6g}") for k, v in sorted(status.metrics.items())]
    trial = TrialOfStudy.of(status)  # one trial of a Vertex study
    if trial is not None:
        rows.append(("study", escape(trial.study)))
        rows.append(("parameters", escape(params_text(trial.params))))
    study = StudyStatus.of(status)
    if study is not None:
        rows.append(("trials", counts_text(study.trial_counts) or None))
        rows.append(("best", escape(best_text(study.best) or "") or None))
    key_values(out, rows)
    if study is not None:
        render_trials(out, study)


def status_document(status: JobStatus) -> dict[str, Any]:
    """JSON form of a status (the same shape for every provider)."""
    return status.model_dump(mode="json")


def print_json_text(out: Console, text: str) -> None:
    """Show JSON to people: highlighted on a terminal, byte-exact otherwise."""
    if out.is_terminal:
        from rich.json import JSON

        out.print(JSON(text), soft_wrap=True)
    else:
        out.file.write(text if text.endswith("\n") else text + "\n")


def render_plan(out: Console, plan: Plan) -> None:
    """A plan for people: summary, uploads, preceding requests, then the exact request."""
    from rich.markup import escape

    out.print(f"[bold]plan[/] {escape(plan.job_name)} on [bold]{escape(plan.provider)}[/]")
    rows: list[tuple[str, str | None]] = [
        ("operation", escape(plan.operation)),
        ("handle", escape(plan.handle)),
    ]
    rows += [(escape(str(k)), escape(_summary_value(v))) for k, v in plan.summary.items()]
    key_values(out, rows)
    if plan.uploads:
        out.print("[bold]uploads first[/]")
        for upload in plan.uploads:
            out.print(f"  {escape(upload.source)} → {escape(upload.destination)}")
    for extra in plan.extra_requests:
        out.print(f"[bold]request before the job[/] ({escape(str(extra.get('operation')))})")
        print_json_text(out, json.dumps(extra.get("request"), indent=2, sort_keys=True))
    out.print(f"[bold]request[/] ({escape(plan.operation)})")
    print_json_text(out, json.dumps(plan.request, indent=2, sort_keys=True))


def _summary_value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)
