"""The local run behind ``--run-local`` on aws, for a job and for each trial of a study.

Called after the request went to moto (so the bundle and the data are in the
rehearsal bucket): the job's S3 channels are copied here as SageMaker copies them
into ``/opt/ml/input/data``, the local provider lays out the container, and
:mod:`providers.aws.toolkit` hands the run to Amazon's toolkit when it is installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudgd.home import home
from cloudgd.home import runs_dir as default_runs_dir
from cloudgd.plan import JobHandle, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.aws import toolkit
from providers.aws.s3data import download_channel, input_channels
from providers.base import Provider

if TYPE_CHECKING:
    from providers.aws.provider import AwsProvider

ENVS_DIR = "rehearsal-envs"


def with_local_inputs(
    provider: AwsProvider, request: dict[str, Any], spec: JobSpec, region: str, root: Path
) -> JobSpec:
    """``spec`` reading the channel's data from a local copy of what the request's S3 URI
    holds in the rehearsal bucket (fetched once per job)."""
    channels = input_channels(request)
    if not channels:
        return spec
    conn = provider._connection(region)
    s3 = provider._client("s3", conn)
    name, uri = channels[0]  # cloudgd's requests have one data channel: train
    dest = root / name
    if not dest.is_dir():
        partial = root / f".{name}.partial"
        download_channel(s3, uri, partial, conn)
        partial.rename(dest)
    data = spec.trainer.data.model_copy(update={"uri": str(dest)})
    return spec.model_copy(update={"trainer": spec.trainer.model_copy(update={"data": data})})


def _with_notes(plan: Plan, request: dict[str, Any], notes: list[str]) -> Plan:
    request = {**request, "notes": [*request.get("notes", []), *notes]}
    summary = {**plan.summary, "command": " ".join(request["ranks"][0]["argv"])}
    if "toolkit" in request:
        summary["rehearsal"] = "Amazon's sagemaker-training toolkit"
    else:
        summary["rehearsal"] = "cloudgd's emulation of the SageMaker container"
    return plan.model_copy(update={"request": request, "summary": summary})


def fallback_reason(spec: JobSpec) -> str | None:
    """Why this rehearsal cannot run the toolkit, or None when it can."""
    missing = toolkit.missing_toolkit()
    if missing:
        return f"{missing} is not installed ({toolkit.INSTALL_HINT})"
    if spec.resources.nodes > 1:
        return (
            f"resources.nodes={spec.resources.nodes}: the toolkit's torchrun needs the "
            "hosts algo-N, which resolve only on SageMaker's network"
        )
    return None


def toolkit_python(bundle: str | None) -> str:
    """The interpreter the toolkit runs with (isolated per bundle requirements)."""
    requirements = toolkit.bundle_requirements(bundle) if bundle else ""
    return toolkit.rehearsal_python(requirements, home() / ENVS_DIR)


def local_plan(
    provider: AwsProvider,
    cloud_request: dict[str, Any],
    hyperparameters: dict[str, str],
    spec: JobSpec,
    ctx: RenderContext,
    local: Provider,
    *,
    region: str,
    job_name: str,
    python: str | None = None,
) -> Plan:
    """The local plan that rehearses ``cloud_request`` (emulate: aws set on ``spec``)."""
    runs = Path(ctx.runs_dir or default_runs_dir())
    spec = with_local_inputs(provider, cloud_request, spec, region, runs / ".inputs" / job_name)
    plan = local.plan(spec, ctx.model_copy(update={"bundle": None}))
    reason = fallback_reason(spec)
    if reason:
        return _with_notes(plan, plan.request, [toolkit.emulation_note(reason)])
    conn = provider._connection(region)
    request = toolkit.toolkit_request(
        plan.request,
        hyperparameters,
        endpoint=str(conn.endpoint),
        region=region,
        python=python or toolkit_python(ctx.bundle.path if ctx.bundle else None),
        job_name=job_name,
    )
    return _with_notes(plan, request, [])


def rehearsal_plan(
    provider: AwsProvider, cloud_plan: Plan, spec: JobSpec, ctx: RenderContext, local: Provider
) -> Plan:
    """The local plan of a single job's rehearsal (its request already sent to moto)."""
    region = JobHandle.parse(cloud_plan.handle).parts[0]
    return local_plan(
        provider,
        cloud_plan.request,
        dict(cloud_plan.request["HyperParameters"]),
        spec,
        ctx,
        local,
        region=region,
        job_name=cloud_plan.job_name,
    )
