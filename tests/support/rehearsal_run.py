"""A tiny script job planned by the local provider under a cloud's emulation, and a way to
run a request made from that plan: for the tests of what a cloud's ``--run-local``
rehearsal rewrites the plan into (providers/gcp/package_rehearsal.py,
providers/azure/command_rehearsal.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloudgd import registry
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.base import Provider

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def script_job(root: Path, script: str, emulate: str, **script_fields: Any) -> JobSpec:
    """``root/job/train.py`` holding ``script``, reading the channel ``train`` (a folder
    with ``train.csv``), as a spec emulating ``emulate``."""
    code = root / "job"
    (code / "data").mkdir(parents=True)
    (code / "data" / "train.csv").write_text("x,y\n1,2\n")
    (code / "train.py").write_text(script)
    block = {"entry_point": "train.py", "inputs": {"train": str(code / "data")}, **script_fields}
    return JobSpec.model_validate(
        {
            "name": "rehearse",
            "code": str(code),
            "script": block,
            "resources": {"accelerator": "none"},
            "providers": {"local": {"emulate": emulate}},
        }
    )


def local_plan(root: Path, spec: JobSpec) -> tuple[Provider, Plan]:
    """The local provider (runs under ``root/runs``) and its plan of ``spec``."""
    local = registry.create(registry.LOCAL, runs_dir=str(root / "runs"))
    return local, local.plan(spec, RenderContext(now=NOW, runs_dir=str(root / "runs")))


def run(local: Provider, plan: Plan, request: dict[str, Any]) -> tuple[JobStatus, str, Path]:
    """Run ``plan`` with ``request`` to its end: (final status, job log, run dir)."""
    handle = JobHandle.parse(local.submit(plan.model_copy(update={"request": request})).handle)
    final = local.wait(handle, poll=0.1, timeout=180)
    run_dir = Path(handle.parts[0])
    return final, (run_dir / "logs" / "job.log").read_text(), run_dir
