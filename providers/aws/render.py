"""JobSpec → the exact boto3 ``create_training_job`` kwargs. Pure: no SDK, no I/O, no clock.

The request is what a careful engineer would write by hand for the SageMaker
PyTorch image in script mode: the code bundle goes to S3 first (a declared
upload), every optional block appears only when the spec asks for it, and the
runtime cap is lowered so that a job can never spend more than
``limits.max_cost_usd``.
"""

from __future__ import annotations

import re
from typing import Any

from cloudgd.bundle import ENTRY_NAME, SCRIPT_ENTRY_NAME
from cloudgd.cost.budget import time_limit
from cloudgd.cost.select import InstanceChoice, choice_for_spec, default_region
from cloudgd.errors import SpecError, UsageError
from cloudgd.naming import job_name, spec_hash
from cloudgd.plan import Plan, RenderContext, Upload
from cloudgd.spec import JobSpec
from providers.aws import script_mode, script_render
from providers.aws.images import training_image
from providers.aws.options import AwsOptions
from providers.settings import effective_options as shared_effective_options
from trainers.config_data import resolved_mode

OPERATION = "sagemaker:CreateTrainingJob"
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
TRAIN_CHANNEL = "train"
SECRET_ENV_PREFIX = "CLOUDGD_SECRET_"
# Rehearsal backends (moto) accept any account; these keep a spec without AWS
# settings plannable there, and are never used with the real cloud.
REHEARSAL_ROLE = "arn:aws:iam::123456789012:role/cloudgd-rehearsal"
REHEARSAL_OUTPUT = "s3://cloudgd-rehearsal"
_TAG_CHARS = re.compile(r"^[\w\s.:/=+\-@]*$")


def effective_options(spec: JobSpec, ctx: RenderContext) -> AwsOptions:
    """User-level settings (``ctx.settings["aws"]``) under the spec's ``providers.aws``."""
    return shared_effective_options(spec, ctx, "aws", AwsOptions)


def _s3_join(prefix: str, *parts: str) -> str:
    return "/".join([prefix.rstrip("/"), *(p.strip("/") for p in parts)])


def _choose(spec: JobSpec) -> InstanceChoice:
    resources = spec.resources
    acc = resources.parsed_accelerator
    if acc.is_tpu:
        raise SpecError(
            f"resources.accelerator: SageMaker has no TPUs ({acc})",
            hint="use Trainium (accelerator: Trainium:16, instance ml.trn1.32xlarge) or a GPU "
            "such as A100:8, or run TPUs with --provider gcp",
        )
    if resources.instance_type and not resources.instance_type.startswith("ml."):
        raise SpecError(
            f"resources.instance_type: SageMaker instance types start with 'ml.' "
            f"(got {resources.instance_type!r})",
            hint=f"use ml.{resources.instance_type}",
        )
    # The same choice `cloudgd cost` prices, so plan and estimate name one machine.
    return choice_for_spec(spec, "aws")


def _distributed(spec: JobSpec) -> bool:
    strategy = spec.distributed.strategy
    if strategy == "none" and spec.resources.nodes > 1:
        raise SpecError(
            "distributed.strategy: none would train resources.nodes independent copies",
            hint="use strategy: ddp (or auto) for several nodes",
        )
    return strategy != "none" and spec.world_size > 1


def _environment(spec: JobSpec) -> dict[str, str]:
    """spec.env plus one variable per secret carrying its Secrets Manager ID, never a value."""
    env = dict(spec.env)
    for name, secret in sorted(spec.secrets.items()):
        if secret.source != "aws-secretsmanager":
            raise SpecError(
                f"secrets.{name}: SageMaker jobs read secrets from AWS Secrets Manager, "
                f"not {secret.source}",
                hint="store it in Secrets Manager and use source: aws-secretsmanager "
                "(a value in the request would be visible in DescribeTrainingJob)",
            )
        env[f"{SECRET_ENV_PREFIX}{name}"] = secret.ref
    if len(env) > 100:
        raise SpecError(f"env: SageMaker allows at most 100 variables (got {len(env)})")
    for key, value in env.items():
        if len(value) > 512:
            raise SpecError(f"env.{key}: SageMaker allows values of at most 512 characters")
    return env


def _tags(spec: JobSpec, ctx: RenderContext) -> list[dict[str, str]]:
    for key, value in spec.tags.items():
        if key.lower().startswith("aws:"):
            raise SpecError(f"tags.{key}: the aws: prefix is reserved by AWS")
        if not _TAG_CHARS.match(key) or not _TAG_CHARS.match(value):
            raise SpecError(
                f"tags.{key}: AWS tags allow letters, digits, spaces and _ . : / = + - @"
            )
    tags = dict(spec.tags)
    tags["cloudgd:spec-hash"] = spec_hash(spec)
    tags["cloudgd:job"] = spec.name
    tags["cloudgd:version"] = ctx.cloudgd_version
    if ctx.idempotency_key:
        tags["cloudgd:idempotency-key"] = re.sub(r"[^\w.:/=+\-@]", "-", ctx.idempotency_key)[:256]
    if len(tags) > 50:
        raise SpecError(f"tags: SageMaker allows 50 tags, cloudgd adds 3-4 (got {len(tags)})")
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _train_channel(spec: JobSpec) -> dict[str, Any] | None:
    uri = spec.trainer.data.uri
    if uri is None:
        return None
    if not uri.startswith("s3://"):
        raise SpecError(
            f"trainer.data.uri: SageMaker reads training data from s3:// (got {uri!r})",
            hint="copy it to S3 first, e.g. `aws s3 cp --recursive DIR s3://bucket/data/`",
        )
    channel: dict[str, Any] = {
        "ChannelName": TRAIN_CHANNEL,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
    }
    if resolved_mode(spec.trainer.data) == "stream":
        channel["InputMode"] = "FastFile"  # S3 objects read on demand, not copied first
    return channel


def _checkpoint_uri(spec: JobSpec, opts: AwsOptions, output: str, name: str) -> str:
    if spec.checkpoints.uri:
        if not spec.checkpoints.uri.startswith("s3://"):
            raise SpecError(
                f"checkpoints.uri: SageMaker syncs checkpoints to s3:// "
                f"(got {spec.checkpoints.uri!r})"
            )
        return spec.checkpoints.uri
    if opts.checkpoint_uri:
        return _s3_join(opts.checkpoint_uri, name) + "/"
    return _s3_join(output, name, "checkpoints") + "/"


def _stopping(spec: JobSpec, runtime: int) -> dict[str, int]:
    stopping = {"MaxRuntimeInSeconds": runtime}
    if spec.scaling.spot:
        # Waiting for spot capacity is free; by default allow as long again as the run.
        wait = spec.scaling.max_wait if spec.scaling.max_wait is not None else 2 * runtime
        stopping["MaxWaitTimeInSeconds"] = max(wait, runtime)
    return stopping


def render_plan(spec: JobSpec, ctx: RenderContext, *, rehearsal: bool = False) -> Plan:
    """The SageMaker CreateTrainingJob plan for ``spec``.

    With ``rehearsal`` (a moto backend), a missing role or output bucket gets a
    placeholder instead of an error.
    """
    opts = effective_options(spec, ctx)
    role = opts.role_arn or (REHEARSAL_ROLE if rehearsal else None)
    output = opts.output_uri or (REHEARSAL_OUTPUT if rehearsal else None)
    if role is None:
        raise SpecError(
            "providers.aws.role_arn: SageMaker needs an execution role",
            hint="use the role_arn output of terraform/modules/aws-sagemaker "
            "(`cloudgd config from-terraform`), or rehearse with --backend moto",
        )
    if output is None:
        raise SpecError(
            "providers.aws.output_uri: SageMaker needs an s3:// output location",
            hint="use the output_uri output of terraform/modules/aws-sagemaker",
        )
    if ctx.bundle is None:
        raise UsageError(
            "the aws provider ships the trainer as a code bundle, and none was built",
            hint="plan through the CLI, or pass RenderContext(bundle=build_bundle(...))",
        )
    region = spec.resources.region or default_region("aws")
    choice = _choose(spec)
    runtime = time_limit(spec, choice)
    name = job_name(spec, ctx.idempotency_key, max_len=63)
    # Under output_uri: the Terraform module's CI role may write only there.
    code_uri = _s3_join(output, "cloudgd", "code", ctx.bundle.filename)
    image = (
        training_image(region, opts.framework_version, opts.py_version, choice.instance_type)
        if spec.image == "prebuilt"
        else spec.image
    )
    distributed = _distributed(spec)
    channels = [c for c in [_train_channel(spec)] if c]
    metrics, program = script_mode.metric_definitions(), ENTRY_NAME
    if spec.script is not None:  # your own script (providers/aws/script_render.py)
        channels = script_render.input_channels(spec.script)
        metrics, program = script_render.metric_definitions(spec.script), SCRIPT_ENTRY_NAME
    submit_dir = code_uri
    if opts.enable_network_isolation or spec.image != "prebuilt":
        # SageMaker itself puts the bundle in the container: without network the toolkit
        # cannot fetch it, and an own image may have no toolkit (trainers/sagemaker_start.py).
        submit_dir = f"{script_mode.CODE_CHANNEL_DIR}/{ctx.bundle.filename}"
        channels.append(
            {
                "ChannelName": script_mode.CODE_CHANNEL,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": code_uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        )

    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": role,
        "AlgorithmSpecification": {
            "TrainingImage": image,
            "TrainingInputMode": opts.input_mode,
            "MetricDefinitions": metrics,
            "EnableSageMakerMetricsTimeSeries": True,
        },
        "HyperParameters": script_mode.hyperparameters(
            program=program,
            job_name=name,
            region=region,
            submit_directory=submit_dir,
            log_level=opts.container_log_level,
            instance_type=choice.instance_type,
            distributed=distributed,
            processes_per_node=spec.distributed.processes_per_node,
        ),
        "OutputDataConfig": {"S3OutputPath": output.rstrip("/") + "/"},
        "ResourceConfig": {
            "InstanceType": choice.instance_type,
            "InstanceCount": spec.resources.nodes,
            "VolumeSizeInGB": spec.resources.disk_gb or opts.volume_size_gb,
        },
        "StoppingCondition": _stopping(spec, runtime),
        "Tags": _tags(spec, ctx),
    }
    if channels:
        request["InputDataConfig"] = channels
    if spec.checkpoints.enabled:
        request["CheckpointConfig"] = {
            "S3Uri": _checkpoint_uri(spec, opts, output, name),
            "LocalPath": CHECKPOINT_LOCAL_PATH,
        }
    if spec.scaling.spot:
        request["EnableManagedSpotTraining"] = True
    if spec.scaling.restarts > 0:
        request["RetryStrategy"] = {"MaximumRetryAttempts": spec.scaling.restarts}
    if spec.scaling.keep_alive:
        request["ResourceConfig"]["KeepAlivePeriodInSeconds"] = spec.scaling.keep_alive
    env = _environment(spec)
    if env:
        request["Environment"] = env
    if opts.subnets or opts.security_group_ids:
        if not (opts.subnets and opts.security_group_ids):
            raise SpecError(
                "providers.aws.subnets/security_group_ids: a VPC needs both, or neither"
            )
        request["VpcConfig"] = {
            "Subnets": list(opts.subnets),
            "SecurityGroupIds": list(opts.security_group_ids),
        }
    if opts.kms_key_id:
        request["OutputDataConfig"]["KmsKeyId"] = opts.kms_key_id
        request["ResourceConfig"]["VolumeKmsKeyId"] = opts.kms_key_id
    if opts.enable_network_isolation:
        request["EnableNetworkIsolation"] = True

    summary: dict[str, Any] = {
        "region": region,
        "instance_type": choice.instance_type,
        "nodes": spec.resources.nodes,
        "accelerator": str(spec.resources.parsed_accelerator),
        "processes_per_node": spec.processes_per_node,
        "world_size": spec.world_size,
        "image": image,
        "code": code_uri,
        **(script_render.summary(spec.script) if spec.script is not None else {}),
        "spot": spec.scaling.spot,
        "max_runtime_s": runtime,
        "budget_capped": runtime < spec.limits.max_runtime,
        "price_per_hour": choice.price_per_hour,
        "spot_price_per_hour": choice.spot_price_per_hour,
        "price_basis": choice.price_basis,
        "price_note": choice.price_note,
    }
    if rehearsal and (opts.role_arn is None or opts.output_uri is None):
        summary["rehearsal_placeholders"] = True
    if channels and resolved_mode(spec.trainer.data) == "stream":
        summary["data_mode"] = "stream (train channel InputMode FastFile)"
    return Plan(
        provider="aws",
        operation=OPERATION,
        request=request,
        uploads=[
            Upload(
                source=ctx.bundle.path,
                destination=code_uri,
                sha256=ctx.bundle.sha256,
                purpose="code",
            )
        ],
        handle=f"aws://{region}/{name}",
        job_name=name,
        summary=summary,
    )
