"""``submit --run-local``: send the cloud request to a rehearsal backend *and* run the job here.

The rehearsal backends (moto, the fake Vertex and Azure ML servers) check the
control plane but run nothing, so the same spec also runs through the local
provider with that cloud's container contract laid out
(``providers.local.emulate=<cloud>``). Which providers can do this, and how each makes
its local plan, is theirs to say: :class:`providers.features.SupportsRehearsal`. The
returned cloud handle carries ``run=<local run dir>``; status, logs, wait and cancel
then follow the local run (:mod:`providers.rehearsal_follow`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cloudgd import registry
from cloudgd.errors import ProviderError, UsageError
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.registry import LOCAL
from cloudgd.spec import JobSpec
from providers.base import Provider
from providers.features import SupportsRehearsal
from providers.rehearsal_follow import RUN_QUERY

CHANNEL = "train"  # the one input channel cloudgd's requests carry


def rehearsable() -> list[str]:
    """Names of the providers ``--run-local`` can emulate (those with a rehearsal backend)."""
    found = []
    for name in registry.available():
        try:
            if issubclass(registry.provider_class(name), SupportsRehearsal):
                found.append(name)
        except ProviderError:  # a broken plug-in emulates nothing
            continue
    return found


def check_rehearsal(provider: Provider) -> SupportsRehearsal:
    """Refuse ``--run-local`` where it means nothing; the provider, as one that rehearses."""
    if provider.runs_here:
        raise UsageError(
            "--run-local is for cloud providers; --provider local already runs here",
            hint="drop --run-local",
        )
    if not isinstance(provider, SupportsRehearsal):
        raise UsageError(
            f"--run-local can emulate {', '.join(rehearsable())}, not {provider.name!r}"
        )
    if provider.backend != provider.rehearsal_backend:
        raise UsageError(
            "--run-local needs a rehearsal backend, not the real cloud",
            hint=f"add --backend {provider.rehearsal_backend}",
        )
    return provider


def emulating(spec: JobSpec, cloud: str) -> JobSpec:
    """``spec`` with ``providers.local.emulate`` set to ``cloud``."""
    local = getattr(spec.providers, LOCAL).model_copy(update={"emulate": cloud})
    blocks = spec.providers.model_copy(update={LOCAL: local})
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
    return handle.model_copy(update={"params": {**handle.params, RUN_QUERY: run_dir}})


def submit_rehearsal(
    cloud: Provider, cloud_plan: Plan, spec: JobSpec, ctx: RenderContext
) -> JobStatus:
    """Submit to the rehearsal backend, start the emulated local run, return the joined status.

    The provider submits and makes the local plan (:meth:`SupportsRehearsal.rehearse`:
    aws runs Amazon's own in-container toolkit on what the submit uploaded; gcp and
    azure copy the data from their fake store and, for a script job, run the uploaded
    package's module / the rendered command).
    """
    rehearsing = check_rehearsal(cloud)
    local = rehearsing.rehearsal_runner(ctx.runs_dir)
    submitted, local_plan = rehearsing.rehearse(cloud_plan, emulating(spec, cloud.name), ctx, local)
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
    """``tune --run-local``: the local study that runs every trial of ``tuning_plan`` here
    (:meth:`SupportsRehearsal.rehearsal_study`: SageMaker passes each trial's values to
    the toolkit as hyperparameters; elsewhere they go into each trial's trainer config)."""
    return check_rehearsal(cloud).rehearsal_study(
        tuning_plan, emulating(spec, cloud.name), ctx, on_event
    )
