"""The Markdown side of a report: one run's summary, or a table comparing runs (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cloudgd.durations import format_duration
from cloudgd.report.billing import Billing
from cloudgd.report.curves import val_metric_name
from cloudgd.report.runfiles import RunData

_FINAL_ORDER = ("loss", "val_loss", "val_accuracy", "val_r2", "val_mse")


@dataclass(frozen=True)
class RunReport:
    """Everything the Markdown says about one run."""

    run: RunData
    handle: str
    provider: str
    state: str | None
    spec_name: str | None
    billing: Billing
    elsewhere: tuple[Billing, ...] = ()  # a local run priced on each cloud's machine


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}"
    return str(value)


def _usd(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def _seconds(value: float | None) -> str:
    if value is None:
        return "unknown"
    return format_duration(round(value)) if value >= 1 else f"{value:.1f}s"


def final_metrics(run: RunData) -> dict[str, float]:
    """Last values: the summary's ``final`` block, else the last epoch record."""
    final = (run.summary or {}).get("final")
    if not isinstance(final, dict) and run.epochs:
        final = run.epochs[-1]
    if not isinstance(final, dict):
        return {}
    numbers = {
        k: float(v)
        for k, v in final.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and k in _FINAL_ORDER
    }
    return {k: numbers[k] for k in _FINAL_ORDER if k in numbers}


def best_metrics(run: RunData) -> dict[str, tuple[float, int]]:
    """Best validation values over the run and the step each was reached: (value, step)."""
    best: dict[str, tuple[float, int]] = {}
    directions = (("val_loss", min), ("val_mse", min), ("val_accuracy", max), ("val_r2", max))
    for key, better in directions:
        points = [
            (float(r[key]), int(r["step"]))
            for r in run.epochs
            if isinstance(r.get(key), int | float) and math.isfinite(r[key])
        ]
        if points:
            value = better(p[0] for p in points)
            best[key] = next(p for p in points if p[0] == value)
    return best


def _duration(report: RunReport) -> float | None:
    if report.billing.run_seconds is not None:
        return report.billing.run_seconds
    wall = (report.run.summary or {}).get("wall_time_s")
    return float(wall) if isinstance(wall, int | float) else None


def _machine(report: RunReport) -> str:
    b = report.billing
    if b.instance_type is None:
        return "this machine" if report.provider == "local" else "unknown"
    nodes = f"{b.nodes} × " if b.nodes else ""
    capacity = f", {b.capacity.replace('_', '-')}" if b.capacity else ""
    return f"{nodes}{b.instance_type} ({b.region}{capacity})"


def run_markdown(report: RunReport, figure_name: str) -> str:
    """The summary of one run, with the figure embedded by relative path."""
    run, summary = report.run, report.run.summary or {}
    title = report.spec_name or run.label
    lines = [
        f"# {title}: training report",
        "",
        f"![Training curves of {run.label}]({figure_name})",
        "",
        "| | |",
        "|---|---|",
        f"| job | `{run.label}` |",
        f"| handle | `{report.handle}` |",
        f"| provider | {report.provider} |",
        f"| state | {report.state or 'unknown'} |",
        f"| machine | {_machine(report)} |",
        f"| duration | {_seconds(_duration(report))} |",
    ]
    for key, label in (
        ("stopped_reason", "stopped because"),
        ("steps", "optimizer steps"),
        ("epochs", "epochs"),
        ("samples_per_sec", "samples/s (training)"),
        ("device", "device"),
        ("world_size", "processes"),
    ):
        value = summary.get(key)
        if value is not None:
            shown = f"{value:,.0f}" if key == "samples_per_sec" else _fmt(value)
            lines.append(f"| {label} | {shown} |")
    lines += ["", "## Metrics", "", "| metric | final | best | best at step |", "|---|---|---|---|"]
    best = best_metrics(run)
    final = final_metrics(run)
    for key in [k for k in _FINAL_ORDER if k in final or k in best]:
        value, step = best.get(key, (None, None))
        lines.append(f"| {key} | {_fmt(final.get(key))} | {_fmt(value)} | {_fmt(step)} |")
    monitor = summary.get("best") if isinstance(summary.get("best"), dict) else None
    if monitor and monitor.get("value") is not None:
        lines += [
            "",
            f"model.pt holds the weights of step {monitor.get('step')} "
            f"(best {monitor.get('metric')} = {_fmt(monitor.get('value'))}).",
        ]
    lines += ["", "## Cost and carbon", "", *_billing_lines(report.billing)]
    if report.elsewhere:
        lines += ["", *_elsewhere_lines(report.elsewhere)]
    return "\n".join(lines) + "\n"


def _elsewhere_lines(options: tuple[Billing, ...]) -> list[str]:
    lines = [
        "The same run time on each cloud's machine for this spec (catalog list prices):",
        "",
        "| cloud | machine | price | this run | estimated | carbon |",
        "|---|---|---|---|---|---|",
    ]
    for b in options:
        if b.instance_type is None:
            lines.append(f"| {b.provider} | – | – | – | – | {'; '.join(b.notes)} |")
            continue
        carbon = f"{b.carbon_kg * 1000:.3g} g" if b.carbon_kg is not None else "unknown"
        price = f"${b.price_per_hour:.4g}/h" if b.price_per_hour else "unknown"
        lines.append(
            f"| {b.provider} | {b.nodes} × {b.instance_type} ({b.region}) | {price} | "
            f"{_usd(b.run_time_usd)} | {_usd(b.estimated_usd)} | {carbon} |"
        )
    unknown = {n for b in options for n in b.notes if n.startswith("carbon unknown")}
    if unknown:
        lines += ["", *(f"- {n}" for n in sorted(unknown))]
    return lines


def _billing_lines(b: Billing) -> list[str]:
    rows = [
        ("estimated before the run", _usd(b.estimated_usd) if b.price_per_hour else None),
        ("worst case (limits.max_runtime)", _usd(b.worst_case_usd) if b.price_per_hour else None),
        (
            "actual (billable time × price)",
            f"{_usd(b.actual_usd)} for {_seconds(b.billable_seconds)}"
            if b.billable_seconds is not None
            else None,
        ),
        (
            "run time × price",
            f"{_usd(b.run_time_usd)} for {_seconds(b.run_seconds)}"
            if b.price_per_hour and b.billable_seconds is None
            else None,
        ),
        ("price (all nodes)", f"${b.price_per_hour:.4g}/h" if b.price_per_hour else None),
        (
            "carbon (accelerators only)",
            f"{b.carbon_kg * 1000:.3g} g CO2e" if b.carbon_kg is not None else None,
        ),
    ]
    shown = [(k, v) for k, v in rows if v is not None]
    lines = ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in shown), ""] if shown else []
    lines += [f"- {note}" for note in b.notes]
    return lines


def compare_markdown(reports: Sequence[RunReport], figure_name: str) -> str:
    """One table across runs (a column per run) under the overlaid figure."""
    metrics = [k for k in _FINAL_ORDER if any(k in final_metrics(r.run) for r in reports)]
    header = "| | " + " | ".join(f"`{r.run.label}`" for r in reports) + " |"
    lines = [
        "# Run comparison",
        "",
        f"![Training curves of {len(reports)} runs]({figure_name})",
        "",
        header,
        "|---" * (len(reports) + 1) + "|",
    ]

    def row(label: str, values: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(values) + " |")

    row("provider", [r.provider for r in reports])
    row("state", [r.state or "unknown" for r in reports])
    row("optimizer", [_optimizer(r.run) for r in reports])
    row("duration", [_seconds(_duration(r)) for r in reports])
    row("steps", [_fmt((r.run.summary or {}).get("steps")) for r in reports])
    for key in metrics:
        row(f"final {key}", [_fmt(final_metrics(r.run).get(key)) for r in reports])
    for key in [k for k in ("val_loss", "val_accuracy", "val_r2", "val_mse") if k in metrics]:
        row(f"best {key}", [_fmt(best_metrics(r.run).get(key, (None,))[0]) for r in reports])
    row("cost", [_cost_cell(r.billing) for r in reports])
    winner = _winner(reports)
    if winner:
        lines += ["", winner]
    return "\n".join(lines) + "\n"


def _optimizer(run: RunData) -> str:
    config = run.meta.get("config")
    if not isinstance(config, dict):
        return "–"
    if isinstance(config.get("args"), list):  # a script job's launcher config: its arguments
        return "script " + " ".join(str(a) for a in config["args"])
    opt = config.get("optimizer") or {}
    return f"{opt.get('name', '?')} lr={_fmt(opt.get('lr'))}"


def _cost_cell(b: Billing) -> str:
    if b.actual_usd is not None:
        return f"{_usd(b.actual_usd)} (billed)"
    if b.run_time_usd is not None:
        return f"{_usd(b.run_time_usd)} (run time)"
    return "–" if b.provider in ("aws", "gcp", "azure") else "local"


def _winner(reports: Sequence[RunReport]) -> str | None:
    """Which run did best on the shared validation metric."""
    names = {val_metric_name(r.run) for r in reports}
    metric = names.pop() if len(names) == 1 else None
    key, better = (metric, max) if metric in ("val_accuracy", "val_r2") else ("val_loss", min)
    bests = [(best_metrics(r.run), r.run.label) for r in reports]
    scored = [(best[key][0], label) for best, label in bests if key in best]
    if len(scored) < 2:
        return None
    value, label = better(scored)
    return f"Best {key}: `{label}` ({_fmt(value)})."
