"""CI support: which CI system runs us, the idempotency key it implies, metric gates,
and the job result CI reads (JSON document, GitHub step summary).

Pure apart from :func:`cloudgd.ci.summary.append_step_summary`, which appends to
the file ``$GITHUB_STEP_SUMMARY`` names. Imports no cloud SDK and no torch.
"""

from cloudgd.ci.environment import CiRun, default_idempotency_key, detect, in_ci
from cloudgd.ci.gates import GateResult, MetricGate, check_gates

__all__ = [
    "CiRun",
    "GateResult",
    "MetricGate",
    "check_gates",
    "default_idempotency_key",
    "detect",
    "in_ci",
]
