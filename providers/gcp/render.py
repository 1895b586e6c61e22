"""JobSpec → Vertex AI ``CreateCustomJob`` request. Pure: no SDK, no I/O, no clock.

The request is the REST call's parent plus the CustomJob body in proto JSON
(camelCase keys, enum names, int64 as strings, durations as ``"3600s"``, empty
fields left out), exactly what ``aiplatform_v1.CustomJob.from_json(...,
ignore_unknown_fields=False)`` accepts and what the REST transport posts.

The trainer ships as the deterministic sdist (cloudgd/bundle.py): with the prebuilt
image Vertex pip-installs it (``pythonPackageSpec``); a custom image unpacks the same
archive from the Cloud Storage FUSE mount (``/gcs/<bucket>/...``) and runs the bundled
entry script, so both paths run the same trainer with the job's own config.
"""

from __future__ import annotations

from typing import Any

from cloudgd.accelerators import Accelerator
from cloudgd.cost.budget import time_limit
from cloudgd.cost.select import InstanceChoice, choose_instance, default_region
from cloudgd.errors import SpecError
from cloudgd.naming import job_name, spec_hash
from cloudgd.plan import Plan, RenderContext, Upload
from cloudgd.spec import JobSpec
from providers.gcp import script_render
from providers.gcp.images import prebuilt_image, worker_code
from providers.gcp.labels import job_labels
from providers.gcp.options import GcpOptions
from providers.settings import effective_options as shared_effective_options
from trainers.config_data import resolved_mode
from trainers.secrets import is_secret_manager_name

OPERATION = "aiplatform:CreateCustomJob"
# With --backend fake a spec without GCP settings still plans (as the SageMaker
# adapter does with moto); the provider never sends such a plan to Google Cloud.
REHEARSAL_PROJECT = "cloudgd-rehearsal"
REHEARSAL_BUCKET = "gs://cloudgd-rehearsal"
PYTHON_MODULE = "trainers"
# Vertex starts one process per machine; with several GPUs per machine this launcher
# starts one trainer per GPU under torchrun (trainers/launch.py).
LAUNCH_MODULE = "trainers.launch"
DISPLAY_NAME_MAX = 128
SECRET_ENV_PREFIX = "CLOUDGD_SECRET_"
# Unpack the sdist from the FUSE mount and run its entry script ("$0" is the archive).
# Nothing is pip-installed: the image must already hold the trainer's dependencies
# (docs/providers/gcp.md). $TMPDIR is unset in a container; a rehearsal sets it to its run.
_UNPACK = (
    'dir="${TMPDIR:-/tmp}/cloudgd" && mkdir -p "$dir" '
    '&& tar -xzf "$0" -C "$dir" --strip-components=1'
)
UNPACK_AND_RUN = _UNPACK + ' && exec python "$dir/cloudgd_entry.py" "$@"'
UNPACK_AND_LAUNCH = _UNPACK + ' && cd "$dir" && exec python -m trainers.launch "$@"'


def effective_options(spec: JobSpec, ctx: RenderContext) -> GcpOptions:
    """User-level settings (``ctx.settings["gcp"]``) under the spec's ``providers.gcp``."""
    return shared_effective_options(spec, ctx, "gcp", GcpOptions)


def fuse_path(uri: str) -> str:
    """``gs://bucket/x`` as the path a Vertex container sees: ``/gcs/bucket/x``."""
    return "/gcs/" + uri.removeprefix("gs://")


def _required(value: str | None, field: str, hint: str) -> str:
    if not value:
        raise SpecError(f"providers.gcp.{field}: not set; a Vertex AI job needs it", hint=hint)
    return value


def _check_shape(spec: JobSpec, acc: Accelerator, opts: GcpOptions) -> None:
    if acc.is_tpu and spec.resources.nodes > 1:
        raise SpecError(
            f"resources.nodes: {spec.resources.nodes} TPU nodes need a multi-host slice, which "
            "cloudgd does not render for Vertex (one TPU VM per job)",
            hint="use nodes: 1 with tpu-v5e:8 (a 2x4 slice), or GPUs for multi-node training",
        )
    if opts.tensorboard and not opts.service_account:
        raise SpecError(
            "providers.gcp.tensorboard: Vertex uploads TensorBoard logs as the job's service "
            "account, so it needs providers.gcp.service_account",
            hint="set providers.gcp.service_account (Terraform output service_account_email)",
        )


def _data_args(spec: JobSpec) -> list[str]:
    uri = spec.trainer.data.uri
    if uri and not uri.startswith("gs://"):
        raise SpecError(
            f"trainer.data.uri: a Vertex job reads data from Cloud Storage (got {uri!r})",
            hint="copy the data to gs://<your staging bucket>/data/ and use that URI",
        )
    stream: list[str] = []
    if uri and resolved_mode(spec.trainer.data) == "stream":
        stream = ["--data-dir", fuse_path(uri)]  # read lazily through Cloud Storage FUSE
    ckpt = spec.checkpoints.uri
    if spec.checkpoints.enabled and ckpt:
        if not ckpt.startswith("gs://"):
            raise SpecError(
                f"checkpoints.uri: a Vertex job checkpoints to Cloud Storage (got {ckpt!r})",
                hint="use a gs:// URI, or leave it out to use <output>/checkpoints/",
            )
        return [*stream, "--checkpoint-dir", fuse_path(ckpt)]
    return stream


def _env(spec: JobSpec) -> list[dict[str, str]]:
    """spec.env plus one variable per secret carrying its Secret Manager name, never a value
    (the same ``CLOUDGD_SECRET_<NAME>`` convention as the SageMaker adapter)."""
    env = dict(spec.env)
    for key, secret in sorted(spec.secrets.items()):
        if secret.source != "gcp-secretmanager":
            raise SpecError(
                f"secrets.{key}: a Vertex job reads secrets from Secret Manager, "
                f"not {secret.source}",
                hint="store it in Secret Manager and use source: gcp-secretmanager with "
                "ref projects/<p>/secrets/<name>/versions/<v> (a value in the request would "
                "be visible in GetCustomJob)",
            )
        if not is_secret_manager_name(secret.ref):
            raise SpecError(
                f"secrets.{key}.ref: {secret.ref!r} is not a Secret Manager name",
                hint="use projects/<project>/secrets/<name>[/versions/<version>]",
            )
        env[f"{SECRET_ENV_PREFIX}{key}"] = secret.ref
    return [{"name": key, "value": env[key]} for key in sorted(env)]


def _machine_spec(choice: InstanceChoice) -> dict[str, Any]:
    machine: dict[str, Any] = {"machineType": choice.instance_type}
    if choice.tpu_topology:
        machine["tpuTopology"] = choice.tpu_topology
    elif choice.accelerator:
        if not choice.vertex_accelerator_type:
            raise SpecError(
                f"resources.accelerator: {choice.accelerator} has no Vertex AI accelerator type"
            )
        machine["acceleratorType"] = choice.vertex_accelerator_type
        machine["acceleratorCount"] = choice.accelerator_count
    return machine


def _code_spec(
    spec: JobSpec, acc: Accelerator, location: str, opts: GcpOptions, package_uri: str
) -> dict[str, Any]:
    args = _data_args(spec)
    env = _env(spec)
    # Only the prebuilt image runs in an executor image (there is none for TPU v5e).
    executor = (
        opts.executor_image or prebuilt_image(acc, location) if spec.image == "prebuilt" else ""
    )
    if spec.script is not None:  # your own script (providers/gcp/script_render.py)
        return script_render.code_spec(
            spec.script,
            image=spec.image,
            executor_image=executor,
            package_uri=package_uri,
            package_path=fuse_path(package_uri),
            checkpoint_dir=args[1] if args else None,  # _data_args: [--checkpoint-dir, PATH]
            env=env,
        )
    per_gpu = spec.processes_per_node > 1
    if per_gpu:
        args = ["--nproc-per-node", str(spec.processes_per_node), *args]
    run = UNPACK_AND_LAUNCH if per_gpu else UNPACK_AND_RUN
    return worker_code(
        image=spec.image,
        executor_image=executor,
        package_uri=package_uri,
        module=LAUNCH_MODULE if per_gpu else PYTHON_MODULE,
        command=["sh", "-c", run, fuse_path(package_uri)],
        args=args,
        env=env,
    )


def _scheduling(spec: JobSpec, timeout: int) -> dict[str, Any]:
    scheduling: dict[str, Any] = {"timeout": f"{timeout}s"}
    if spec.scaling.restarts > 0:
        scheduling["restartJobOnWorkerRestart"] = True
    if spec.scaling.spot:
        scheduling["strategy"] = "SPOT"
        if spec.scaling.max_wait is not None:
            # aiplatform_v1 Scheduling.max_wait_duration: "the maximum duration that a job
            # will wait for the requested resources to be provisioned if the scheduling
            # strategy is set to [Strategy.DWS_FLEX_START]". A SPOT job has no such limit,
            # and flex-start is not spot capacity, so there is nothing to map it to.
            raise SpecError(
                "scaling.max_wait: Vertex AI has no limit on how long a SPOT job waits for "
                "capacity (maxWaitDuration applies only to flex-start scheduling), so it would "
                "do nothing",
                hint="leave scaling.max_wait out for Vertex AI, e.g. --set scaling.max_wait=null; "
                "limits.max_runtime still caps the run",
            )
    return scheduling


def _bundle_upload(ctx: RenderContext, staging: str) -> Upload:
    if ctx.bundle is None or ctx.bundle.format != "sdist":
        raise SpecError(
            "a Vertex AI plan needs the trainer bundle built as an sdist",
            hint="plan through `cloudgd plan --provider gcp`, which builds it",
        )
    return Upload(
        source=ctx.bundle.path,
        destination=f"{staging}/cloudgd/code/{ctx.bundle.filename}",
        sha256=ctx.bundle.sha256,
        purpose="code",
    )


def render(spec: JobSpec, ctx: RenderContext, *, rehearsal: bool = False) -> Plan:
    """The Vertex AI plan: CustomJob request, the sdist upload, handle and summary.

    With ``rehearsal`` (the fake backend) a missing project or staging bucket gets a
    placeholder, so any job file can be rehearsed.
    """
    opts = effective_options(spec, ctx)
    project = _required(
        opts.project or (REHEARSAL_PROJECT if rehearsal else None),
        "project",
        "set it to your Google Cloud project ID (Terraform output project)",
    )
    staging = _required(
        opts.staging_bucket or (REHEARSAL_BUCKET if rehearsal else None),
        "staging_bucket",
        "set it to a gs:// bucket in the job's region (Terraform output staging_bucket)",
    ).rstrip("/")
    placeholders = rehearsal and not (opts.project and opts.staging_bucket)
    location = opts.location or spec.resources.region or default_region("gcp")
    acc = spec.resources.parsed_accelerator
    _check_shape(spec, acc, opts)
    choice = choose_instance(
        "gcp",
        acc,
        location,
        instance_type=spec.resources.instance_type,
        min_vcpus=spec.resources.min_vcpus,
        min_memory_gib=spec.resources.min_memory_gib,
    )
    timeout = time_limit(spec, choice)
    name = job_name(spec, ctx.idempotency_key, max_len=DISPLAY_NAME_MAX)
    upload = _bundle_upload(ctx, staging)

    def pool(replicas: int) -> dict[str, Any]:
        return {
            "machineSpec": _machine_spec(choice),
            "replicaCount": str(replicas),
            "diskSpec": {
                **({"bootDiskType": opts.boot_disk_type} if opts.boot_disk_type else {}),
                "bootDiskSizeGb": spec.resources.disk_gb or opts.boot_disk_gb,
            },
            **_code_spec(spec, acc, location, opts, upload.destination),
        }

    pools = [pool(1)] + ([pool(spec.resources.nodes - 1)] if spec.resources.nodes > 1 else [])
    job_spec: dict[str, Any] = {
        "workerPoolSpecs": pools,
        "scheduling": _scheduling(spec, timeout),
        "baseOutputDirectory": {"outputUriPrefix": f"{staging}/cloudgd/jobs/{name}/"},
    }
    for key, value in (
        ("serviceAccount", opts.service_account),
        ("network", opts.network),
        ("tensorboard", opts.tensorboard),
    ):
        if value:
            job_spec[key] = value
    custom_job: dict[str, Any] = {
        "displayName": name,
        "labels": job_labels(
            spec.tags,
            job_name=name,
            spec_hash=spec_hash(spec, ctx.idempotency_key),
            idempotency_key=ctx.idempotency_key,
            version=ctx.cloudgd_version,
        ),
        "jobSpec": job_spec,
    }
    if opts.kms_key_name:
        custom_job["encryptionSpec"] = {"kmsKeyName": opts.kms_key_name}
    return Plan(
        provider="gcp",
        operation=OPERATION,
        request={"parent": f"projects/{project}/locations/{location}", "customJob": custom_job},
        uploads=[upload],
        handle=f"gcp://{project}/{location}/{name}",
        job_name=name,
        summary=_summary(spec, choice, timeout, location, pools, placeholders),
    )


def _summary(
    spec: JobSpec,
    choice: InstanceChoice,
    timeout: int,
    location: str,
    pools: list[dict[str, Any]],
    placeholders: bool,
) -> dict[str, Any]:
    price = choice.spot_price_per_hour if spec.scaling.spot else choice.price_per_hour
    summary: dict[str, Any] = {
        "location": location,
        "machine_type": choice.instance_type,
        "accelerator": str(spec.resources.parsed_accelerator),
        "nodes": spec.resources.nodes,
        "worker_pools": [int(p["replicaCount"]) for p in pools],
        "spot": spec.scaling.spot,
        "timeout_seconds": timeout,
        "budget_capped": timeout < spec.limits.max_runtime,
        "price_per_node_hour_usd": price,
        "price_basis": choice.price_basis,
        "price_source": choice.price_note,
    }
    if spec.trainer.data.uri:
        summary["inputs"] = {"train": spec.trainer.data.uri}
        if resolved_mode(spec.trainer.data) == "stream":
            summary["data_mode"] = (
                "stream (Cloud Storage FUSE " + fuse_path(spec.trainer.data.uri) + ")"
            )
    if spec.script is not None:
        summary["script"] = " ".join(["python", *spec.script.command])
        if spec.script.inputs:
            summary["inputs"] = dict(spec.script.inputs)
    if placeholders:
        summary["rehearsal_placeholders"] = True
    return summary
