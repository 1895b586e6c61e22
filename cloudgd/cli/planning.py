"""Dry-run warnings of the planning commands; the planning itself is :mod:`cloudgd.planning`."""

from __future__ import annotations

from cloudgd.planning import Planned, budget_gate


def warn_budget(planned: Planned) -> None:
    """For dry runs: say on stderr that submit would refuse, without failing."""
    from cloudgd.cli.output import note
    from cloudgd.errors import BudgetError

    try:
        budget_gate(planned)
    except BudgetError as refused:
        note(f"warning: submit would refuse this job: {refused.message}")
        if refused.hint:
            note(f"hint: {refused.hint}")
