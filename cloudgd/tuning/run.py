"""Plan, budget-gate and start a tuning study: the part of ``cloudgd tune`` the Python API
shares (``Job.tune``). Nothing here prints; progress goes to an ``on_event`` callback.

Everything goes through the provider's :class:`~providers.base.SupportsTuning`: a study
that runs here (the local provider) returns when it ended; a cloud study is submitted and
followed from its (tuning) handle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from providers.base import require_tuner

if TYPE_CHECKING:
    from cloudgd.plan import JobStatus, Plan
    from cloudgd.planning import Planned
    from providers.base import Provider


def tuning_plan(planned: Planned) -> Plan:
    """The provider's tuning plan, rendered with the same context as its single-job plan."""
    tuner = require_tuner(planned.provider)
    return tuner.plan_tuning(planned.loaded.spec, planned.ctx)


def submit_tuning(
    provider: Provider, plan: Plan, on_event: Callable[[str], None] | None = None
) -> JobStatus:
    """Start the study of a tuning plan through its provider; its status (a tuning handle)."""
    return require_tuner(provider).submit_tuning(plan, on_event=on_event)


def budget_gate(planned: Planned) -> None:
    """Refuse a cloud study whose trials × one trial's worst case exceed the budget."""
    spec = planned.loaded.spec
    if spec.limits.max_cost_usd is None or not planned.provider.is_cloud:
        return
    from cloudgd.cost.budget import enforce_budget
    from cloudgd.cost.select import choice_for_spec
    from cloudgd.tuning.cost import trial_spec

    # Each trial gets budget / trials, so this refuses when trials × worst case > budget.
    trial = trial_spec(spec)
    enforce_budget(trial, choice_for_spec(trial, planned.provider.name))


def start(planned: Planned, on_event: Callable[[str], None] | None = None) -> JobStatus:
    """The study's status: one that runs here after it ran, a cloud study once submitted."""
    from cloudgd.tuning.cost import require_tuning

    require_tuning(planned.loaded.spec)
    plan = tuning_plan(planned)
    budget_gate(planned)
    return submit_tuning(planned.provider, plan, on_event)
