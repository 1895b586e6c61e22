"""JobSpec → the Azure ML command job and the AmlCompute cluster it runs on. Pure.

The job request is the document ``azure.ai.ml.load_job`` accepts (the one
``command(...)._to_job().dump()`` writes), so ``cloudgd plan`` shows exactly
what ``MLClient.jobs.create_or_update`` receives. No SDK import here: loading
``azure.ai.ml`` costs ~2 s and a dry run must cost less.

Choices worth knowing:

- Spot is a *cluster* property on Azure ML: the job runs on an AmlCompute cluster
  of tier ``low_priority``. ``queue_settings.job_tier: spot`` applies only to
  serverless/Singularity compute, so it is not used.
- Azure ML starts ``process_count_per_instance`` processes per node itself
  (``distribution: pytorch``) and sets MASTER_ADDR/RANK/WORLD_SIZE; wrapping the
  command in torchrun would launch every rank twice.
- The code bundle becomes a versioned code asset named after its content hash,
  so resubmitting the same bundle uploads nothing.
"""

from __future__ import annotations

import re
from typing import Any

from cloudgd.cost.budget import time_limit
from cloudgd.cost.select import InstanceChoice, choice_for_spec
from cloudgd.errors import SpecError, UsageError
from cloudgd.naming import job_name, spec_hash
from cloudgd.plan import Plan, RenderContext, Upload
from cloudgd.spec import JobSpec
from providers.azure import script_render
from providers.azure.environment import environment_summary, job_environment
from providers.azure.options import AzureOptions
from providers.azure.scope import WorkspaceScope, workspace_scope
from providers.settings import effective_options as shared_effective_options
from trainers.config_data import resolved_mode
from trainers.secrets import is_key_vault_url

OPERATION = "azureml:JobsCreateOrUpdate"
COMPUTE_OPERATION = "azureml:ComputeCreateOrUpdate"
JOB_SCHEMA = "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"
COMPUTE_SCHEMA = "https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json"
CODE_ASSET = "cloudgd-bundle"
TRAIN_INPUT = "train"
SECRET_ENV_PREFIX = "CLOUDGD_SECRET_"
MAX_JOB_NAME = 255  # Azure ML job names: letters, digits, '-' and '_'
_REMOTE_DATA = ("azureml://", "https://", "wasbs://", "abfss://")
_DATA_ASSET = re.compile(r"^azureml:[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+|@latest)$")


def effective_options(spec: JobSpec, ctx: RenderContext) -> AzureOptions:
    """User-level settings (``ctx.settings["azure"]``) under the spec's ``providers.azure``."""
    return shared_effective_options(spec, ctx, "azure", AzureOptions)


def choose_vm(spec: JobSpec) -> InstanceChoice:
    """The VM size per node: ``resources.instance_type`` or the catalog's cheapest fit
    (the same choice ``cloudgd cost`` prices)."""
    resources = spec.resources
    acc = resources.parsed_accelerator
    if acc.is_tpu:
        raise SpecError(
            f"resources.accelerator: Azure ML has no TPUs ({acc})",
            hint="use a GPU such as A100:8 or T4:1, or run TPUs with --provider gcp",
        )
    if resources.instance_type and not resources.instance_type.startswith("Standard_"):
        raise SpecError(
            f"resources.instance_type: Azure VM sizes look like Standard_NC6s_v3 "
            f"(got {resources.instance_type!r})",
            hint="use an Azure VM size, or leave instance_type out to choose from the catalog",
        )
    return choice_for_spec(spec, "azure")


def cluster_name(options: AzureOptions, vm_size: str, low_priority: bool) -> str:
    """``providers.azure.compute``, else ``cgd-<size>[-lp]`` (a cluster has one tier)."""
    if options.compute:
        return options.compute
    size = re.sub(r"[^a-z0-9]", "", vm_size.lower().removeprefix("standard_"))
    suffix = "-lp" if low_priority else ""
    return f"cgd-{size[: 24 - 4 - len(suffix)]}{suffix}"


def compute_request(
    spec: JobSpec, options: AzureOptions, choice: InstanceChoice, name: str
) -> dict[str, Any]:
    """The AmlCompute cluster as the document ``azure.ai.ml.load_compute`` accepts."""
    scaling = spec.scaling
    return {
        "$schema": COMPUTE_SCHEMA,
        "name": name,
        "type": "amlcompute",
        "size": choice.instance_type,
        "location": choice.region,
        "tier": "low_priority" if scaling.spot else "dedicated",
        "min_instances": scaling.min_nodes,
        "max_instances": max(spec.resources.nodes, scaling.max_nodes or 0),
        "idle_time_before_scale_down": scaling.idle_scale_down,
        "tags": {"cloudgd:managed": "true"},
    }


def _distribution(spec: JobSpec) -> dict[str, Any] | None:
    if spec.distributed.strategy == "none" and spec.resources.nodes > 1:
        raise SpecError(
            "distributed.strategy: none would train resources.nodes independent copies",
            hint="use strategy: ddp (or auto) for several nodes",
        )
    if spec.distributed.strategy == "none" or spec.world_size == 1:
        return None
    return {"type": "pytorch", "process_count_per_instance": spec.processes_per_node}


def _streams(spec: JobSpec, options: AzureOptions) -> bool:
    """data.mode stream reads the input through a read-only mount, never a download."""
    if resolved_mode(spec.trainer.data) != "stream":
        return False
    if options.data_mode != "ro_mount":
        raise SpecError(
            f"providers.azure.data_mode: {options.data_mode} copies the whole input before "
            "the command starts, and trainer.data.mode is stream (read through ro_mount)",
            hint="drop providers.azure.data_mode, or set trainer.data.mode: download",
        )
    return True


def _data_input(
    uri: str, options: AzureOptions, field: str = "trainer.data.uri", stream: bool = False
) -> dict[str, Any]:
    """The ``train`` input: the folder holding ``uri`` (the trainer finds the file in it)."""
    mode = "ro_mount" if stream else options.data_mode
    if _DATA_ASSET.match(uri):
        return {"type": "uri_folder", "path": uri, "mode": mode}
    if not uri.startswith(_REMOTE_DATA):
        raise SpecError(
            f"{field}: Azure ML jobs read azureml://, https:// (Blob), wasbs:// or "
            f"abfss:// data, or a data asset azureml:name:version (got {uri!r})",
            hint="upload it first, e.g. `az storage blob upload-batch` into the workspace "
            "datastore, and use azureml://datastores/workspaceblobstore/paths/<dir>/",
        )
    folder = uri if uri.endswith("/") else uri.rsplit("/", 1)[0] + "/"
    return {"type": "uri_folder", "path": folder, "mode": mode}


def _command(has_data: bool, checkpoints: bool) -> str:
    parts = [
        "python -m trainers --config cloudgd-job.json",
        "--model-dir ${{outputs.model}}",
        "--output-dir ${{outputs.metrics}}",
    ]
    if checkpoints:
        parts.append("--checkpoint-dir ${{outputs.checkpoints}}")
    if has_data:
        parts.append(f"--data-dir ${{{{inputs.{TRAIN_INPUT}}}}}")
    return " ".join(parts)


def _outputs(spec: JobSpec, options: AzureOptions, name: str) -> dict[str, Any]:
    outputs: dict[str, Any] = {
        "model": {"type": "uri_folder", "mode": "rw_mount"},
        "metrics": {"type": "uri_folder", "mode": "rw_mount"},
    }
    if spec.checkpoints.enabled:
        uri = spec.checkpoints.uri
        if uri is not None and not uri.startswith("azureml://"):
            raise SpecError(
                f"checkpoints.uri: Azure ML jobs write checkpoints to azureml:// paths "
                f"(got {uri!r})",
                hint="e.g. azureml://datastores/workspaceblobstore/paths/checkpoints/my-job/",
            )
        # A fixed path (not the job's default output) so a resubmitted job resumes.
        path = uri or f"azureml://datastores/{options.datastore}/paths/cloudgd/{name}/checkpoints/"
        outputs["checkpoints"] = {"type": "uri_folder", "path": path, "mode": "rw_mount"}
    return outputs


def _environment_variables(spec: JobSpec) -> dict[str, str]:
    """spec.env plus one variable per secret carrying its Key Vault reference, never a value."""
    env = dict(spec.env)
    for name, secret in sorted(spec.secrets.items()):
        if secret.source != "azure-keyvault":
            raise SpecError(
                f"secrets.{name}: Azure ML jobs read secrets from Azure Key Vault, "
                f"not {secret.source}",
                hint="store it in the workspace's Key Vault and use source: azure-keyvault "
                "(a value in the job would be visible to anyone who can read the job)",
            )
        if not is_key_vault_url(secret.ref):
            raise SpecError(
                f"secrets.{name}.ref: {secret.ref!r} is not a Key Vault secret URL",
                hint="use https://<vault>.vault.azure.net/secrets/<name>[/<version>]",
            )
        env[f"{SECRET_ENV_PREFIX}{name}"] = secret.ref
    return env


def _tags(spec: JobSpec, ctx: RenderContext) -> dict[str, str]:
    tags = dict(spec.tags)
    tags["cloudgd:spec-hash"] = spec_hash(spec)
    tags["cloudgd:job"] = spec.name
    tags["cloudgd:version"] = ctx.cloudgd_version
    if ctx.idempotency_key:
        tags["cloudgd:idempotency-key"] = ctx.idempotency_key[:256]
    return tags


def _notes(spec: JobSpec) -> list[str]:
    """Spec settings Azure ML has no knob for, said out loud instead of dropped silently."""
    notes = []
    if spec.scaling.restarts:
        notes.append(
            "scaling.restarts: Azure ML command jobs have no retry setting; the service "
            "requeues jobs preempted on low-priority nodes"
        )
    if spec.scaling.max_wait is not None:
        notes.append("scaling.max_wait: Azure ML has no limit on time queued for capacity")
    if spec.scaling.keep_alive is not None:
        notes.append(
            "scaling.keep_alive: on Azure the cluster keeps idle nodes for "
            "scaling.idle_scale_down instead"
        )
    return notes


def render_plan(spec: JobSpec, ctx: RenderContext, *, rehearsal: bool = False) -> Plan:
    """The Azure ML plan for ``spec``: the command job, its cluster and the code upload.

    With ``rehearsal`` (the fake backend) a missing workspace gets placeholders
    instead of an error.
    """
    options = effective_options(spec, ctx)
    scope: WorkspaceScope = workspace_scope(options, rehearsal=rehearsal)
    if ctx.bundle is None:
        raise UsageError(
            "the azure provider ships the trainer as a code bundle, and none was built",
            hint="plan through the CLI, or pass RenderContext(bundle=cloudgd.bundle."
            "build_bundle(...))",
        )
    choice = choose_vm(spec)
    region = choice.region
    timeout = time_limit(spec, choice)
    name = job_name(spec, ctx.idempotency_key, max_len=MAX_JOB_NAME)
    cluster = cluster_name(options, choice.instance_type, spec.scaling.spot)
    code_version = ctx.bundle.sha256[:12]
    code_ref = "azureml:" + scope.code_id(CODE_ASSET, code_version)
    data_uri = spec.trainer.data.uri
    environment = job_environment(spec, options, ctx.bundle)
    # Nobody provisions the placeholder rehearsal workspace but cloudgd itself.
    manage_compute = options.manage_compute or scope.is_rehearsal

    job: dict[str, Any] = {
        "$schema": JOB_SCHEMA,
        "type": "command",
        "name": name,
        "display_name": spec.name,
        "experiment_name": options.experiment_name,
        "code": code_ref,
        "command": script_render.command(spec.script, spec.checkpoints.enabled)
        if spec.script is not None
        else _command(data_uri is not None, spec.checkpoints.enabled),
        "environment": environment,
        "compute": f"azureml:{cluster}",
        "resources": {"instance_count": spec.resources.nodes},
        "outputs": _outputs(spec, options, name),
        "limits": {"timeout": timeout},
        "tags": _tags(spec, ctx),
    }
    if spec.description:
        job["description"] = spec.description
    if options.shm_size:
        job["resources"]["shm_size"] = options.shm_size
    distribution = _distribution(spec)
    if distribution:
        job["distribution"] = distribution
    if data_uri is not None:
        job["inputs"] = {
            TRAIN_INPUT: _data_input(data_uri, options, stream=_streams(spec, options))
        }
    if spec.script is not None and spec.script.inputs:  # providers/azure/script_render.py
        job["inputs"] = script_render.inputs(
            spec.script, lambda uri, field: _data_input(uri, options, field)
        )
    env = _environment_variables(spec)
    if env:
        job["environment_variables"] = env

    summary: dict[str, Any] = {
        "workspace": scope.arm_id,
        "region": region,
        "vm_size": choice.instance_type,
        "cluster": cluster,
        "cluster_tier": "low_priority" if spec.scaling.spot else "dedicated",
        "manage_compute": manage_compute,
        "nodes": spec.resources.nodes,
        "accelerator": str(spec.resources.parsed_accelerator),
        "processes_per_node": spec.processes_per_node,
        "world_size": spec.world_size,
        "environment": environment_summary(environment),
        "timeout_s": timeout,
        "budget_capped": timeout < spec.limits.max_runtime,
        "price_per_hour": choice.price_per_hour,
        "spot_price_per_hour": choice.spot_price_per_hour,
        "price_basis": choice.price_basis,
        "price_note": choice.price_note,
        "max_retries": options.max_retries,
    }
    if data_uri is not None:
        summary["inputs"] = {TRAIN_INPUT: data_uri}
        if _streams(spec, options):
            summary["data_mode"] = "stream (train input mode ro_mount)"
    if spec.script is not None:
        summary["script"] = " ".join(["python", *spec.script.command])
        if spec.script.inputs:
            summary["inputs"] = dict(spec.script.inputs)
    notes = _notes(spec)
    if notes:
        summary["notes"] = notes
    if scope.is_rehearsal:
        summary["rehearsal_placeholders"] = True
    return Plan(
        provider="azure",
        operation=OPERATION,
        request=job,
        uploads=[
            Upload(
                source=ctx.bundle.path,
                destination=code_ref,
                sha256=ctx.bundle.sha256,
                purpose="code",
            )
        ],
        handle=str(scope.handle(name)),
        job_name=name,
        summary=summary,
        extra_requests=[
            {
                "operation": COMPUTE_OPERATION,
                "request": compute_request(spec, options, choice, cluster),
                "apply": manage_compute,
            }
        ],
    )
