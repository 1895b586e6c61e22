"""The per-trial part of a tuning job's status, for people.

Every provider's tuning status carries a :class:`~cloudgd.tuning.status.StudyStatus`
(its trials, each with a ``state`` and, where the cloud says, ``params`` and ``value``,
and the best one); this renders it as one table under the study's own lines. Trials
are named by ``name`` (clouds) or ``number`` (local studies).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from cloudgd.cli.styles import state_text
from cloudgd.plan import JobState
from cloudgd.tuning.status import BestTrial, StudyStatus, TrialStatus

if TYPE_CHECKING:
    from rich.console import Console

MAX_ROWS = 50  # a long study shows its newest trials; --output json has them all


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


def _state(trial: TrialStatus) -> str:
    raw = str(trial.state or "UNKNOWN")
    try:
        return state_text(JobState(raw))
    except ValueError:  # a cloud's own word (SageMaker's "Completed", Vertex's "SUCCEEDED")
        return raw


def counts_text(counts: dict[str, int]) -> str:
    """``3 SUCCEEDED, 1 RUNNING`` from a study's trial counts, zero counts left out
    (SageMaker reports every status, most of them 0)."""
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items()) if n)


def best_text(best: BestTrial | None) -> str | None:
    """``<trial>: <value>  <params>`` for the study's best trial, or None before there is one."""
    if best is None:
        return None
    params = params_text(best.params)
    return f"{best.label}: {_value(best.value)}" + ("" if params == "-" else f"  {params}")


def render_trials(out: Console, study: StudyStatus) -> None:
    """The study's trials as a table (newest ``MAX_ROWS`` of them), then where the rest are."""
    from rich.markup import escape
    from rich.table import Table

    trials = list(study.trials or [])
    if not trials:
        out.print("[bold]trials[/]  none yet")
        return
    best_label = study.best.label if study.best else None
    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("trial", "state", "value", "parameters"):
        table.add_column(column, overflow="fold")
    shown = trials[-MAX_ROWS:]
    for trial in shown:
        marker = " *" if trial.label == best_label else ""
        table.add_row(
            escape(trial.label + marker),
            _state(trial),
            _value(trial.value),
            escape(params_text(trial.params)),
        )
    out.print(table)
    if len(shown) < len(trials):
        out.print(f"({len(trials) - len(shown)} earlier trials: --output json lists every trial)")
    if study.note:
        out.print(f"[dim]{escape(study.note)}[/]")
