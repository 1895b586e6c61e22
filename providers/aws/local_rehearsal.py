"""The local run behind ``--run-local`` on aws, for a job and for each trial of a study.

Called after the request went to moto (so the bundle and the data are in the
rehearsal bucket): the job's S3 channels are copied here as SageMaker copies them
into ``/opt/ml/input/data``, the local provider lays out the container, and
:mod:`providers.aws.toolkit` hands the run to Amazon's toolkit when it is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudgd.home import runs_dir as default_runs_dir
from cloudgd.plan import JobHandle, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.aws import toolkit
from providers.aws.s3data import code_channel, download_channel, input_channels
from providers.base import Provider

if TYPE_CHECKING:
    from providers.aws.provider import AwsProvider
    from providers.local.tuning_jobs import TrialPlanner


def with_local_inputs(
    provider: AwsProvider, request: dict[str, Any], spec: JobSpec, region: str, root: Path
) -> JobSpec:
    """``spec`` reading the channel's data from a local copy of what the request's S3 URI
    holds in the rehearsal bucket (fetched once per job)."""
    channels = input_channels(request)
    if not channels:
        return spec
    if spec.script is not None:  # a script job: every channel, by name
        from cloudgd.rehearsal import with_inputs

        local = {name: str(_fetch(provider, region, uri, root / name)) for name, uri in channels}
        return with_inputs(spec, local)
    name, uri = channels[0]  # the trainer's requests have one data channel: train
    dest = _fetch(provider, region, uri, root / name)
    data = spec.trainer.data.model_copy(update={"uri": str(dest)})
    return spec.model_copy(update={"trainer": spec.trainer.model_copy(update={"data": data})})


def _fetch(provider: AwsProvider, region: str, uri: str, dest: Path) -> Path:
    """A local copy of what ``uri`` holds in the rehearsal bucket (fetched once)."""
    if not dest.is_dir():
        conn = provider._connection(region)
        partial = dest.parent / f".{dest.name}.{os.getpid()}.{threading.get_ident()}"
        download_channel(provider._client("s3", conn), uri, partial, conn)
        try:
            partial.rename(dest)
        except OSError:  # a parallel trial fetched it first
            shutil.rmtree(partial, ignore_errors=True)
    return dest


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
    bundle: str | None = None,
    inputs_name: str | None = None,
) -> Plan:
    """The local plan that rehearses ``cloud_request`` (emulate: aws set on ``spec``).

    ``bundle`` is the code bundle whose requirements the toolkit installs (default: the
    context's); ``inputs_name`` names the local copy of the S3 inputs (a study's trials
    share one).
    """
    runs = Path(ctx.runs_dir or default_runs_dir())
    copies = runs / ".inputs" / (inputs_name or job_name)
    spec = with_local_inputs(provider, cloud_request, spec, region, copies)
    plan = local.plan(spec, ctx.model_copy(update={"bundle": None}))
    reason = fallback_reason(spec)
    if reason:
        return _with_notes(plan, plan.request, [toolkit.emulation_note(reason)])
    conn = provider._connection(region)
    code = code_channel(cloud_request)
    if code is not None:  # SageMaker puts the bundle in input/data/code itself
        code = str(_fetch(provider, region, code, copies / "code"))
    bundle = bundle or (ctx.bundle.path if ctx.bundle else None)
    request = toolkit.toolkit_request(
        plan.request,
        hyperparameters,
        endpoint=str(conn.endpoint),
        region=region,
        requirements=toolkit.bundle_requirements(bundle) if bundle else "",
        job_name=job_name,
        code_channel=code,
    )
    if spec.script is not None:  # the toolkit makes SM_CHANNEL_<NAME> from this file
        toolkit.declare_channels(request, [name for name, _ in input_channels(cloud_request)])
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


def trial_planner(provider: AwsProvider, tuning_plan: Plan, ctx: RenderContext) -> TrialPlanner:
    """How a local study rehearses each trial of a SageMaker tuning job: the trial's values
    reach the toolkit as hyperparameters (plain strings beside the static ones), exactly
    as SageMaker passes them, never written into the trainer config."""
    from cloudgd import registry
    from cloudgd.rehearsal import emulating
    from cloudgd.script_tuning import trial_script
    from cloudgd.tuning.names import cloud_name
    from cloudgd.tuning.validate import trial_trainer

    definition = tuning_plan.request["TrainingJobDefinition"]
    static = dict(definition["StaticHyperParameters"])
    config = tuning_plan.request["HyperParameterTuningJobConfig"]
    metric = config["HyperParameterTuningJobObjective"]["MetricName"]
    region = JobHandle.parse(tuning_plan.handle).parts[0]
    name = tuning_plan.job_name
    bundle = ctx.bundle.path if ctx.bundle else None

    def plan(spec: JobSpec, values: dict[str, Any], trial_ctx: RenderContext, number: int) -> Plan:
        digest = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]
        local = registry.create(registry.LOCAL, runs_dir=trial_ctx.runs_dir)
        if fallback_reason(spec) is not None and spec.script is not None:
            # the emulation runs the launcher: the values become the script's arguments
            spec = spec.model_copy(update={"script": trial_script(spec.script, values)})
        elif fallback_reason(spec) is not None:  # the emulation reads them from the config
            spec = spec.model_copy(update={"trainer": trial_trainer(spec.trainer, values)})
        named = {cloud_name(path): value for path, value in values.items()}
        return local_plan(
            provider,
            definition,
            toolkit.trial_hyperparameters(static, named, metric),
            emulating(spec, "aws"),
            trial_ctx,
            local,
            region=region,
            # SageMaker names a study's training jobs <tuning job>-<NNN>-<8 hex>
            job_name=f"{name}-{number + 1:03d}-{digest}",
            bundle=bundle,
            inputs_name=name,
        )

    return plan
