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


def budget_price(spec: JobSpec, choice: InstanceChoice) -> float:
    """The per node-hour price ``limits.max_cost_usd`` is checked and capped against.

    ``limits.price_per_hour_usd`` when the user vouches for one; else the catalog's
    training rate for the service (spot rules as :func:`billed_price_per_node_hour`).
    Raises BudgetError, with the reason, when the catalog has only a stand-in (EC2,
    Compute Engine) or no price: a budget is never enforced from a price the
    service does not bill.
    """
    vouched = spec.limits.price_per_hour_usd
    if vouched is not None:
        return vouched
    where = f"{choice.instance_type} in {choice.provider} {choice.region}"
    budget = spec.limits.max_cost_usd
    hint = (
        "run `cloudgd catalog refresh`, or set limits.price_per_hour_usd to the rate the "
        "service bills you, or remove limits.max_cost_usd"
    )
    price = billed_price_per_node_hour(spec, choice)
    if choice.price_basis == "stand_in":
        raise BudgetError(
            f"limits.max_cost_usd: the catalog has only a stand-in price for {where} "
            f"({choice.price_note}), so the ${budget:g} budget cannot be enforced",
            hint=hint,
        )
    if price is None or choice.price_basis != "training":
        raise BudgetError(
            f"limits.max_cost_usd: the catalog has no price for {where}, so the "
            f"${budget:g} budget cannot be enforced",
            hint=hint,
        )
    return price


def capped_runtime(spec: JobSpec, choice: InstanceChoice) -> int:
    """Seconds the cloud may run the job: ``limits.max_runtime``, lowered to the
    moment ``resources.nodes`` × price reaches ``limits.max_cost_usd`` (floored).

    The price is :func:`budget_price`: a training rate or ``limits.price_per_hour_usd``,
    never a stand-in. Raises BudgetError when a budget is set but no such price is
    known, or when the budget does not buy a single second.
    """
    max_runtime = int(spec.limits.max_runtime)
    budget = spec.limits.max_cost_usd
    if budget is None:
        return max_runtime
    price = budget_price(spec, choice)
    where = f"{choice.instance_type} in {choice.provider} {choice.region}"
    per_second = spec.resources.nodes * price / 3600.0
    if per_second <= 0:  # a price so small it underflows: the budget never binds
        return max_runtime
    affordable = math.floor(min(budget / per_second, max_runtime))
    if affordable < 1:
        raise BudgetError(
            f"limits.max_cost_usd: ${budget:g} buys less than one second of "
            f"{spec.resources.nodes} × {where} at ${price:g}/h",
            hint="raise limits.max_cost_usd or use fewer/cheaper nodes",
        )
    return min(max_runtime, affordable)


def time_limit(spec: JobSpec, choice: InstanceChoice) -> int:
    """The cloud-side time limit adapters render (SageMaker ``MaxRuntimeInSeconds``,
    Vertex ``scheduling.timeout``, Azure ``limits.timeout``).

    With ``on_budget: cap`` it is :func:`capped_runtime`, which refuses a price it cannot
    trust. With ``refuse`` it is capped the same way when a training (or vouched) price
    is known, and otherwise left at ``limits.max_runtime``: such a job is refused at
    submit (``enforce_budget``) and ``plan`` says so, but it can still be planned.
    """
    if spec.limits.on_budget == "cap" or spec.limits.max_cost_usd is None:
        return capped_runtime(spec, choice)
    try:
        budget_price(spec, choice)
    except BudgetError:
        return int(spec.limits.max_runtime)
    return capped_runtime(spec, choice)


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
    price = budget_price(spec, choice)  # raises when only a stand-in or nothing is known
    nodes, seconds = spec.resources.nodes, int(spec.limits.max_runtime)
    worst = nodes * price * seconds / 3600.0
    if worst <= budget:
        return
    fits: list[str] = []
    node_fit = math.floor(budget / (price * seconds / 3600.0))
    if 1 <= node_fit < nodes:
        fits.append(f"resources.nodes: {node_fit}")
    spot = choice.spot_price_per_hour if spec.limits.price_per_hour_usd is None else None
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
    Either way a machine with no training price (only a stand-in, or none) and no
    ``limits.price_per_hour_usd``, or a budget that buys nothing, is refused.
    """
    if spec.limits.on_budget == "cap":
        capped_runtime(spec, choice)
        return
    check_budget(spec, choice)
