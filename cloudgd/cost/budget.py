"""Budgets: the cloud-side time cap that keeps spend under ``limits.max_cost_usd``.

Adapters call :func:`capped_runtime` for SageMaker ``MaxRuntimeInSeconds``, the
Vertex ``scheduling.timeout`` and Azure ``limits.timeout``, so a hung job is
stopped before its bill passes the budget.
"""

from __future__ import annotations

import math

from cloudgd.cost.select import InstanceChoice
from cloudgd.errors import BudgetError
from cloudgd.spec import JobSpec


def billed_price_per_node_hour(spec: JobSpec, choice: InstanceChoice) -> float | None:
    """The per node-hour price a budget is checked against.

    Spot jobs use the spot price when the catalog has one; otherwise the
    on-demand price, because spare capacity is sold below on-demand and the
    larger figure can only make the cap stricter.
    """
    if spec.scaling.spot and choice.spot_price_per_hour is not None:
        return choice.spot_price_per_hour
    return choice.price_per_hour


def capped_runtime(spec: JobSpec, choice: InstanceChoice) -> int:
    """Seconds the cloud may run the job: ``limits.max_runtime``, lowered to the
    moment ``resources.nodes`` × price reaches ``limits.max_cost_usd`` (floored).

    Raises BudgetError when a budget is set but the catalog has no price for the
    chosen machine, or when the budget does not buy a single second.
    """
    max_runtime = int(spec.limits.max_runtime)
    budget = spec.limits.max_cost_usd
    if budget is None:
        return max_runtime
    price = billed_price_per_node_hour(spec, choice)
    where = f"{choice.instance_type} in {choice.provider} {choice.region}"
    if price is None:
        raise BudgetError(
            f"limits.max_cost_usd: the catalog has no price for {where}, so the "
            f"${budget:g} budget cannot be enforced",
            hint="choose a resources.instance_type/region the catalog prices "
            "(`cloudgd catalog`), or remove limits.max_cost_usd",
        )
    per_second = spec.resources.nodes * price / 3600.0
    affordable = math.floor(budget / per_second)
    if affordable < 1:
        raise BudgetError(
            f"limits.max_cost_usd: ${budget:g} buys less than one second of "
            f"{spec.resources.nodes} × {where} at ${price:g}/h",
            hint="raise limits.max_cost_usd or use fewer/cheaper nodes",
        )
    return min(max_runtime, affordable)


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def check_budget(spec: JobSpec, choice: InstanceChoice) -> None:
    """Refuse (BudgetError, exit 2) when the worst case exceeds ``limits.max_cost_usd``.

    The worst case is ``resources.nodes`` × price × ``limits.max_runtime``. The
    error carries the numbers and the ways to fit: fewer nodes, spot capacity, a
    shorter ``limits.max_runtime``.
    """
    budget = spec.limits.max_cost_usd
    if budget is None:
        return
    price = billed_price_per_node_hour(spec, choice)
    if price is None:
        capped_runtime(spec, choice)  # raises the "price unknown" BudgetError
        return
    nodes, seconds = spec.resources.nodes, int(spec.limits.max_runtime)
    worst = nodes * price * seconds / 3600.0
    if worst <= budget:
        return
    fits: list[str] = []
    node_fit = math.floor(budget / (price * seconds / 3600.0))
    if 1 <= node_fit < nodes:
        fits.append(f"resources.nodes: {node_fit}")
    spot = choice.spot_price_per_hour
    if not spec.scaling.spot and spot is not None:
        spot_worst = nodes * spot * seconds / 3600.0
        verdict = "fits" if spot_worst <= budget else "still over"
        fits.append(f"scaling.spot: true (worst case ${spot_worst:.2f}, {verdict})")
    runtime_fit = math.floor(budget / (nodes * price) * 3600.0)
    if runtime_fit >= 60:
        fits.append(f"limits.max_runtime: {_duration(runtime_fit)}")
    capacity = "spot" if spec.scaling.spot else "on-demand"
    raise BudgetError(
        f"limits.max_cost_usd: worst case ${worst:.2f} ({nodes} × {choice.instance_type} "
        f"at ${price:g}/h {capacity} × {_duration(seconds)} max_runtime) exceeds the "
        f"${budget:g} budget",
        hint="to fit: " + "; or ".join(fits) if fits else "raise limits.max_cost_usd",
    )


def enforce_budget(spec: JobSpec, choice: InstanceChoice) -> None:
    """The submit gate for ``limits.max_cost_usd``.

    ``limits.on_budget: refuse`` (default) refuses a worst case over budget;
    ``cap`` accepts it, because every adapter already lowers the cloud-side time
    limit to :func:`capped_runtime` — the job is stopped when the budget is spent.
    Either way an unpriced machine or a budget that buys nothing is refused.
    """
    if spec.limits.on_budget == "cap":
        capped_runtime(spec, choice)
        return
    check_budget(spec, choice)
