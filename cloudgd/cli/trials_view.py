"""The per-trial part of a tuning job's status, for people.

Every provider's tuning status carries ``extra['trials']`` (a list of dicts with
a ``state`` and, where the cloud says, ``params`` and ``value``) and
``extra['best']``; this renders them as one table under the study's own lines.
Trials are named by ``name`` (clouds) or ``number`` (local studies).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cloudgd.plan import JobState

if TYPE_CHECKING:
    from rich.console import Console

MAX_ROWS = 50  # a long study shows its newest trials; --output json has them all


def trial_label(trial: dict[str, Any]) -> str:
    """How a trial is named in the table: the cloud's name, or ``#n`` for local trials."""
    if trial.get("name"):
        return str(trial["name"])
    return f"#{trial['number']}" if trial.get("number") is not None else "?"


def _value(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, int | float) else "-"


def params_text(params: Any) -> str:
    """``a=1, b=0.01`` (sorted), ``-`` when there are none."""
    if not params:
        return "-"
    if isinstance(params, dict):
        return ", ".join(f"{k}={_short(v)}" for k, v in sorted(params.items()))
    return json.dumps(params, sort_keys=True)


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _state(trial: dict[str, Any]) -> str:
    from cloudgd.cli.output import state_text

    raw = str(trial.get("state") or "UNKNOWN")
    try:
        return state_text(JobState(raw))
    except ValueError:  # a cloud's own word (SageMaker's "Completed", Vertex's "SUCCEEDED")
        return raw


def counts_text(counts: dict[str, int]) -> str:
    """``3 SUCCEEDED, 1 RUNNING`` from a study's trial counts, zero counts left out
    (SageMaker reports every status, most of them 0)."""
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()) if n)


def best_text(best: dict[str, Any]) -> str | None:
    """``<trial>: <value>  <params>`` for the study's best trial, or None before there is one."""
    if not best:
        return None
    label = trial_label({"name": best.get("name"), "number": best.get("trial")})
    params = params_text(best.get("params"))
    return f"{label}: {_value(best.get('value'))}" + ("" if params == "-" else f"  {params}")


def render_trials(out: Console, extra: dict[str, Any]) -> None:
    """The study's trials as a table (newest ``MAX_ROWS`` of them), then where the rest are."""
    from rich.markup import escape
    from rich.table import Table

    trials: list[dict[str, Any]] = list(extra.get("trials") or [])
    if not trials:
        out.print("[bold]trials[/]  none yet")
        return
    best = extra.get("best") or {}
    best_label = trial_label({"name": best.get("name"), "number": best.get("trial")})
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("trial", "state", "value", "parameters"):
        table.add_column(column, overflow="fold")
    shown = trials[-MAX_ROWS:]
    for trial in shown:
        label = trial_label(trial)
        marker = " *" if best and label == best_label else ""
        table.add_row(
            escape(label + marker),
            _state(trial),
            _value(trial.get("value")),
            escape(params_text(trial.get("params"))),
        )
    out.print(table)
    if len(shown) < len(trials):
        out.print(f"({len(trials) - len(shown)} earlier trials: --output json lists every trial)")
    if extra.get("note"):
        out.print(f"[dim]{escape(str(extra['note']))}[/]")
