"""Assemble reports: fetch a job's run files, read them, price the run, write PNG + Markdown.

:func:`collect` turns (provider, handle) into a :class:`RunReport`; :func:`write_report`
draws one run, or several overlaid, and writes the Markdown beside the figure.
Tuning helpers call :func:`write_report` with one RunReport per trial.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cloudgd import registry
from cloudgd.cost.catalog import Catalog, load_catalog
from cloudgd.plan import JobHandle, JobState, JobStatus
from cloudgd.report.billing import Billing, price_on_clouds, price_run
from cloudgd.report.figure import FigureData, plot_runs
from cloudgd.report.markdown import RunReport, compare_markdown, run_markdown
from cloudgd.report.runfiles import EndedWithoutMetricsError, NoMetricsError, load_run
from cloudgd.spec import JobSpec
from providers.base import Provider

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ReportFiles:
    """What a report wrote, and the data its figure drew."""

    figure: Path
    markdown: Path
    drawn: FigureData


def run_seconds(status: JobStatus) -> float | None:
    """How long the job ran, from its start and end times (None while unknown)."""
    if status.started_at is None or status.ended_at is None:
        return None
    return max(0.0, (status.ended_at - status.started_at).total_seconds())


def _local_config(status: JobStatus) -> dict[str, Any] | None:
    """The trainer config of a local (or rehearsed) run, from its plan.json."""
    run_dir = status.extra.get("run_dir")
    if not isinstance(run_dir, str):
        return None
    try:
        config = json.loads((Path(run_dir) / "plan.json").read_text())["request"]["config"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return config if isinstance(config, dict) else None


def collect(
    provider: Provider,
    handle: JobHandle,
    *,
    spec: JobSpec | None = None,
    catalog: Catalog | None = None,
) -> RunReport:
    """Everything a report says about one job. NoMetricsError while it has no metrics."""
    status = provider.status(handle)
    try:
        directory = provider.fetch_run_files(handle)
        run = load_run(directory, status.name, where=f"{status.name} ({status.state.value})")
    except NoMetricsError as exc:
        if not status.state.terminal:
            raise
        if status.state is JobState.SUCCEEDED:
            # A job that succeeded without files (a rehearsal that ran nothing) keeps the
            # provider's own hint.
            raise
        hint = (
            f"the job ended {status.state.value} before the trainer logged a metric; "
            f"see `cloudgd logs '{handle}'`"
        )
        raise EndedWithoutMetricsError(exc.message, hint=hint) from None
    config = _local_config(status) or (spec.trainer.model_dump(mode="json") if spec else None)
    if config is not None:
        run = replace(run, meta={**run.meta, "config": config})
    seconds = run_seconds(status)
    if seconds is None and run.summary and isinstance(run.summary.get("wall_time_s"), int | float):
        seconds = float(run.summary["wall_time_s"])
    catalog = catalog or load_catalog()
    billing: Billing = price_run(
        spec,
        handle.provider,
        catalog,
        billable_seconds=status.billable_seconds,
        run_seconds=seconds,
    )
    elsewhere: tuple[Billing, ...] = ()
    if spec is not None and not registry.is_cloud(handle.provider):
        elsewhere = price_on_clouds(spec, catalog, run_seconds=seconds)
    return RunReport(
        run=run,
        handle=str(handle),
        provider=handle.provider,
        state=status.state.value,
        spec_name=spec.name if spec else None,
        billing=billing,
        elsewhere=elsewhere,
    )


def file_stem(text: str) -> str:
    """A file-name-safe form of a job name."""
    return _UNSAFE.sub("-", text).strip("-") or "report"


def _title(report: RunReport) -> str:
    parts = [report.spec_name or report.run.label, report.provider]
    b = report.billing
    if b.instance_type:
        parts.append(
            f"{b.nodes} × {b.instance_type}" if b.nodes and b.nodes > 1 else b.instance_type
        )
    final = (report.run.summary or {}).get("final") or {}
    if isinstance(final.get("val_accuracy"), int | float):
        parts.append(f"final val accuracy {final['val_accuracy'] * 100:.1f}%")
    elif isinstance(final.get("val_loss"), int | float):
        parts.append(f"final val loss {final['val_loss']:.4g}")
    return " · ".join(parts)


def write_report(
    reports: Sequence[RunReport], out_dir: Path, *, stem: str | None = None
) -> ReportFiles:
    """Draw and describe ``reports`` under ``out_dir`` as ``<stem>.png`` + ``<stem>.md``.

    One report gives the single-run summary; several give the overlay and the
    comparison table.
    """
    if not reports:
        raise ValueError("write_report needs at least one run")
    single = len(reports) == 1
    stem = stem or (file_stem(reports[0].run.label) if single else "compare")
    figure = out_dir / f"{stem}.png"
    title = _title(reports[0]) if single else f"{len(reports)} runs compared"
    drawn = plot_runs([r.run for r in reports], figure, title=title)
    text = (
        run_markdown(reports[0], figure.name) if single else compare_markdown(reports, figure.name)
    )
    markdown = out_dir / f"{stem}.md"
    markdown.write_text(text, encoding="utf-8")
    return ReportFiles(figure=figure, markdown=markdown, drawn=drawn)
