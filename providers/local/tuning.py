"""JobSpec with ``tuning:`` → the plan of a local study (Optuna, each trial a local run).

The request is what ``tuning_jobs.submit_tuning`` runs: the job itself (each trial is
it with the trial's trainer values set), the study's directory
(``<runs>/studies/<job name>``), the context's clock and the job file's directory.
Pure, but for one fact of this machine: how many trials run at once is bounded by
its CPUs, and the summary says so.
"""

from __future__ import annotations

import os
from pathlib import Path

from cloudgd import naming
from cloudgd.plan import Plan, RenderContext
from cloudgd.spec import JobSpec
from cloudgd.tuning.cost import require_tuning
from cloudgd.tuning.spec import TuningSpec
from providers.local.study import study_handle

OPERATION = "optuna:study"


def workers(tuning: TuningSpec) -> int:
    """Trials at once: parallel_trials, bounded by this machine's CPUs."""
    return max(1, min(tuning.parallel_trials, os.cpu_count() or 1, tuning.trial_count))


def study_dir(spec: JobSpec, ctx: RenderContext) -> Path:
    """Where the study keeps its state and its trials' runs."""
    return Path(ctx.runs_dir or ".") / "studies" / naming.job_name(spec, ctx.idempotency_key)


def render_tuning(spec: JobSpec, ctx: RenderContext) -> Plan:
    """The local study's plan; its handle is ``local://<study dir>?kind=tuning``."""
    tuning = require_tuning(spec)
    where = study_dir(spec, ctx)
    return Plan(
        provider="local",
        operation=OPERATION,
        request={
            "study_dir": str(where),
            "job": spec.model_dump(mode="json"),
            "now": ctx.now.isoformat(),
            "spec_dir": ctx.spec_dir,
        },
        handle=study_handle(where),
        job_name=where.name,
        summary={**tuning.plan_summary(tuning.strategy, workers(tuning)), "study_dir": str(where)},
    )
