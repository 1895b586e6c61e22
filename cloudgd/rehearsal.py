"""``submit --run-local``: send the cloud request to a rehearsal backend *and* run the job here.

The rehearsal backends (moto, the fake Vertex and Azure ML servers) check the
control plane but run nothing, so the same spec also runs through the local
provider with that cloud's container contract laid out
(``providers.local.emulate=<cloud>``). A provider may make that local plan itself
(``rehearsal_plan``; aws runs Amazon's own in-container toolkit there), and for
``tune --run-local`` plan each trial (``rehearsal_trial_planner``). The returned
cloud handle carries ``run=<local run dir>``; status, logs, wait and cancel then
follow the local run (see ``providers.base.rehearsal_run``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloudgd import registry
from cloudgd.errors import UsageError
from cloudgd.home import runs_dir
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.base import Provider

EMULATED = ("aws", "gcp", "azure")
CHANNEL = "train"  # the one input channel cloudgd's requests carry


def check_rehearsal(provider: Provider) -> None:
    """Refuse ``--run-local`` where it means nothing."""
    if provider.name == "local":
        raise UsageError(
            "--run-local is for cloud providers; --provider local already runs here",
            hint="drop --run-local",
        )
    if provider.name not in EMULATED:
        raise UsageError(f"--run-local can emulate {', '.join(EMULATED)}, not {provider.name!r}")
    if provider.backend == "cloud":
        rehearsal = [b for b in provider.backends if b != "cloud"]
        raise UsageError(
            "--run-local needs a rehearsal backend, not the real cloud",
            hint=f"add --backend {rehearsal[0]}" if rehearsal else None,
        )


def emulating(spec: JobSpec, cloud: str) -> JobSpec:
    """``spec`` with ``providers.local.emulate`` set to ``cloud``."""
    local = spec.providers.local.model_copy(update={"emulate": cloud})
    blocks = spec.providers.model_copy(update={"local": local})
    return spec.model_copy(update={"providers": blocks})


def with_data(spec: JobSpec, local: str | None) -> JobSpec:
    """``spec`` reading its data from ``local``, a copy of what the cloud input holds
    (unchanged when there is none: the local planner then names the URI it cannot read)."""
    if local is None:
        return spec
    data = spec.trainer.data.model_copy(update={"uri": local})
    return spec.model_copy(update={"trainer": spec.trainer.model_copy(update={"data": data})})


def reads_cloud_data(spec: JobSpec, prefixes: tuple[str, ...]) -> bool:
    """Whether the job reads an input from a URI starting with one of ``prefixes``: the
    trainer's data, or any of a script's ``inputs``."""
    uris = list(spec.script.inputs.values()) if spec.script else [spec.trainer.data.uri or ""]
    return bool(prefixes) and any(uri.startswith(prefixes) for uri in uris)


def with_inputs(spec: JobSpec, local: dict[str, str]) -> JobSpec:
    """``spec`` reading each input channel from its local copy in ``local`` (channel ->
    path): the trainer's ``train`` channel, or a script's ``inputs`` by name."""
    if spec.script is None:
        return with_data(spec, local.get(CHANNEL))
    inputs = {name: local.get(name, uri) for name, uri in spec.script.inputs.items()}
    return spec.model_copy(update={"script": spec.script.model_copy(update={"inputs": inputs})})


def with_run(handle: JobHandle, run_dir: str) -> JobHandle:
    """The cloud handle, pointing at its local run."""
    return handle.model_copy(update={"params": {**handle.params, "run": run_dir}})


def submit_rehearsal(
    cloud: Provider, cloud_plan: Plan, spec: JobSpec, ctx: RenderContext
) -> JobStatus:
    """Submit to the rehearsal backend, start the emulated local run, return the joined status.

    A provider with ``rehearsal_plan(cloud_plan, spec, ctx, local)`` makes the local plan
    itself, after the submit (it may run the cloud's own in-container code on what the
    submit uploaded); otherwise the local provider's emulation is planned first. A provider
    with ``rehearsal_inputs(cloud_plan, dest)`` copies the data from its fake store after
    the submit (which checks it exists), for URIs starting with ``rehearsal_data_prefixes``:
    the local run then reads what the cloud job would, where the cloud presents it.
    """
    check_rehearsal(cloud)
    local = registry.create("local", runs_dir=ctx.runs_dir)
    spec = emulating(spec, cloud.name)
    own = getattr(cloud, "rehearsal_plan", None)
    fetch = getattr(cloud, "rehearsal_inputs", None)
    readable: tuple[str, ...] = getattr(cloud, "rehearsal_data_prefixes", ())
    if own is None and fetch is not None and reads_cloud_data(spec, readable):
        submitted = cloud.submit(cloud_plan)  # it checks the inputs exist in the fake store
        copies = Path(ctx.runs_dir or runs_dir()).absolute() / ".inputs" / cloud_plan.job_name
        spec = with_inputs(spec, fetch(cloud_plan, copies))
        local_plan = local.plan(spec, ctx.model_copy(update={"bundle": None}))
    elif own is None:
        local_plan = local.plan(spec, ctx.model_copy(update={"bundle": None}))
        submitted = cloud.submit(cloud_plan)
    else:
        submitted = cloud.submit(cloud_plan)
        local_plan = own(cloud_plan, spec, ctx, local)
    local_status = local.submit(local_plan)
    run_dir = JobHandle.parse(local_status.handle).parts[0]
    handle = with_run(JobHandle.parse(submitted.handle or cloud_plan.handle), run_dir)
    # The provider may echo the handle without query params; the joined one is the answer.
    return cloud.status(handle).model_copy(update={"handle": str(handle)})


def rehearsal_study(
    cloud: Provider,
    tuning_plan: Plan,
    spec: JobSpec,
    ctx: RenderContext,
    on_event: Callable[[str], None] | None = None,
) -> Any:
    """``tune --run-local``: the local study that runs every trial of ``tuning_plan`` here.

    A provider with ``rehearsal_trial_planner(tuning_plan, ctx)`` passes each trial's
    values as its cloud does (SageMaker: hyperparameters to the toolkit); otherwise the
    values are written into each trial's trainer config under the emulated contract.
    """
    from providers.local.tuning import LocalStudy

    check_rehearsal(cloud)
    own = getattr(cloud, "rehearsal_trial_planner", None)
    study_dir = Path(ctx.runs_dir or ".") / "studies" / tuning_plan.job_name
    fetch = getattr(cloud, "rehearsal_inputs", None)
    readable: tuple[str, ...] = getattr(cloud, "rehearsal_data_prefixes", ())
    if own is None and fetch is not None and reads_cloud_data(spec, readable):
        # fetched once for every trial, after the tuning job's submit checked it exists
        copies = Path(ctx.runs_dir or runs_dir()).absolute() / ".inputs" / tuning_plan.job_name
        spec = with_inputs(spec, fetch(tuning_plan, copies))
    return LocalStudy(
        emulating(spec, cloud.name),
        study_dir,
        name=tuning_plan.job_name,
        now=ctx.now,
        on_event=on_event,
        plan_trial=own(tuning_plan, ctx) if own is not None else None,
        spec_dir=ctx.spec_dir,
    )
