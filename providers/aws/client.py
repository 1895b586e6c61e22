"""boto3 for the AWS provider: the only module that imports the AWS SDK, always lazily.

Clients come from the standard credential chain (or a named profile), use
botocore's ``standard`` retry mode (throttling and 5xx are retried with
backoff) and can point at a moto server. SDK exceptions never leave this
module raw: :func:`translate` turns them into cloudgd's error tree.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cloudgd.errors import (
    CloudgdError,
    CredentialsError,
    JobNotFoundError,
    ProviderError,
    SpecError,
)
from cloudgd.plan import Upload

T = TypeVar("T")

# Credentials moto accepts; never used against AWS itself.
REHEARSAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
_CREDENTIAL_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
}
_NOT_FOUND = re.compile(r"Could not find|does not exist|not found", re.IGNORECASE)


@dataclass(frozen=True)
class Connection:
    """Where and how to reach AWS (or a stand-in for it)."""

    region: str
    endpoint: str | None = None
    profile: str | None = None
    max_attempts: int = 8
    rehearsal: bool = False

    def describe(self) -> str:
        return self.endpoint or f"AWS {self.region}"

    def handle_params(self) -> dict[str, str]:
        """What a job handle carries to reach this backend again: the moto server for a
        rehearsal, nothing for AWS itself."""
        return {"backend": "moto", "endpoint": str(self.endpoint)} if self.rehearsal else {}


def make_client(service: str, conn: Connection) -> Any:
    """A boto3 client for ``service`` ("sagemaker", "s3", "logs") on ``conn``."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ProfileNotFound

    config = Config(
        retries={"mode": "standard", "total_max_attempts": conn.max_attempts},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="cloudgd",
    )
    try:
        session = boto3.session.Session(profile_name=None if conn.rehearsal else conn.profile)
    except ProfileNotFound:
        raise CredentialsError(
            f"providers.aws.profile: AWS profile {conn.profile!r} is not configured",
            hint="list profiles with `aws configure list-profiles`",
        ) from None
    kwargs: dict[str, Any] = {"region_name": conn.region, "config": config}
    if conn.endpoint:
        kwargs["endpoint_url"] = conn.endpoint
    if conn.rehearsal:
        kwargs.update(REHEARSAL_CREDENTIALS)
    return session.client(service, **kwargs)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def translate(exc: BaseException, action: str, conn: Connection) -> CloudgdError:
    """One-line cloudgd error for an SDK exception raised while doing ``action``."""
    from botocore import exceptions as bx

    where = conn.describe()
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return CredentialsError(
            f"no AWS credentials found for {action}",
            hint="run `aws configure` or `aws sso login`, set AWS_PROFILE or "
            "providers.aws.profile, or rehearse offline with --backend moto",
        )
    if isinstance(exc, bx.CredentialRetrievalError | bx.TokenRetrievalError):
        return CredentialsError(
            f"AWS credentials could not be loaded for {action}: {exc}",
            hint="refresh them (for SSO: `aws sso login`)",
        )
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectionClosedError):
        hint = (
            "the rehearsal server is gone; submit again with --backend moto"
            if conn.rehearsal
            else "check your network and region"
        )
        return ProviderError(f"cannot reach {where} for {action}", hint=hint)
    if isinstance(exc, bx.ParamValidationError):
        first = str(exc).splitlines()[-1].strip()
        return SpecError(f"the SageMaker request is invalid ({action}): {first}")
    code = error_code(exc)
    if code is not None:
        message = str(getattr(exc, "response", {}).get("Error", {}).get("Message") or exc)
        if code in _CREDENTIAL_CODES:
            return CredentialsError(
                f"AWS rejected the credentials for {action} ({code})",
                hint="refresh them or pick another profile (AWS_PROFILE)",
            )
        if code in ("AccessDenied", "AccessDeniedException"):
            return ProviderError(
                f"access denied for {action}: {message}",
                hint="the caller needs sagemaker, s3 and logs permissions; "
                "see terraform/modules/aws-sagemaker",
            )
        if code in ("ResourceNotFound", "NoSuchKey", "NoSuchBucket") or (
            code == "ValidationException" and _NOT_FOUND.search(message)
        ):
            return JobNotFoundError(f"{action}: {message}")
        return ProviderError(f"{action} failed on {where}: {code}: {message}")
    return ProviderError(f"{action} failed on {where}: {type(exc).__name__}: {exc}")


@contextmanager
def sdk_errors(action: str, conn: Connection) -> Iterator[None]:
    """Re-raise SDK exceptions from the block as cloudgd errors."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise translate(exc, action, conn) from exc


def call(action: str, conn: Connection, fn: Callable[..., T], **kwargs: Any) -> T:
    """``fn(**kwargs)`` with SDK exceptions translated."""
    with sdk_errors(action, conn):
        return fn(**kwargs)


def split_s3(uri: str) -> tuple[str, str]:
    """('bucket', 'key') of an s3:// URI."""
    if not uri.startswith("s3://"):
        raise SpecError(f"not an s3:// URI: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def ensure_bucket(s3: Any, bucket: str, conn: Connection) -> None:
    """Create ``bucket`` unless it exists (rehearsal backends start empty)."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise translate(exc, f"checking bucket {bucket}", conn) from exc
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if conn.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": conn.region}
    call(f"creating bucket {bucket}", conn, s3.create_bucket, **kwargs)


def upload(s3: Any, item: Upload, conn: Connection) -> bool:
    """Copy ``item`` to S3 unless an object with the same sha256 is already there.

    Returns True when bytes were sent. The hash travels as object metadata, so a
    re-submission (or a second job with the same bundle) skips the transfer.
    """
    from botocore.exceptions import ClientError

    bucket, key = split_s3(item.destination)
    if not Path(item.source).is_file():
        raise SpecError(f"upload source not found: {item.source}")
    sha = item.sha256 or file_sha256(item.source)
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        if head.get("Metadata", {}).get("sha256") == sha:
            return False
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise translate(exc, f"checking {item.destination}", conn) from exc
    with sdk_errors(f"uploading {item.source} to {item.destination}", conn):
        s3.upload_file(item.source, bucket, key, ExtraArgs={"Metadata": {"sha256": sha}})
    return True


def download_if_exists(s3: Any, uri: str, target: Path, conn: Connection) -> bool:
    """Copy the object at ``uri`` to ``target``; False when there is no such object."""
    from botocore.exceptions import ClientError

    bucket, key = split_s3(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise translate(exc, f"checking {uri}", conn) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    with sdk_errors(f"downloading {uri}", conn):
        s3.download_file(bucket, key, str(target))
    return True


# -- offline request checks ---------------------------------------------------


def request_problems(request: dict[str, Any]) -> list[str]:
    """What is wrong with a CreateTrainingJob request, checked without network.

    botocore's own validator covers required members, unknown keys, types and
    minimums; it skips patterns, enums and cross-field rules, so those are
    checked here from the same service model.
    """
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateTrainingJob").input_shape
    report = ParamValidator().validate(request, shape)
    problems = report.generate_report().splitlines() if report.has_errors() else []
    problems = [p.strip() for p in problems if p.strip()]

    def pattern_of(*path: str) -> str:
        node = shape
        for part in path:
            node = node.members[part] if part != "[]" else node.member
        return str(node.metadata["pattern"])

    name = str(request.get("TrainingJobName", ""))
    if not re.fullmatch(pattern_of("TrainingJobName"), name):
        problems.append(f"TrainingJobName {name!r} does not match the SageMaker name pattern")
    role = str(request.get("RoleArn", ""))
    if not re.fullmatch(pattern_of("RoleArn"), role):
        problems.append(f"RoleArn {role!r} is not an IAM role ARN")
    resources = request.get("ResourceConfig", {})
    allowed = shape.members["ResourceConfig"].members["InstanceType"].enum
    if resources.get("InstanceType") not in allowed:
        problems.append(f"InstanceType {resources.get('InstanceType')!r} is not a SageMaker type")
    env_key = shape.members["Environment"].key.metadata["pattern"]
    problems += [
        f"Environment key {k!r} is not a valid variable name"
        for k in request.get("Environment", {})
        if not re.fullmatch(env_key, k)
    ]
    stopping = request.get("StoppingCondition", {})
    runtime, wait = stopping.get("MaxRuntimeInSeconds"), stopping.get("MaxWaitTimeInSeconds")
    if request.get("EnableManagedSpotTraining"):
        if wait is None:
            problems.append("managed spot training needs StoppingCondition.MaxWaitTimeInSeconds")
        if "CheckpointConfig" not in request:
            problems.append("managed spot training needs CheckpointConfig to resume")
    elif wait is not None:
        problems.append("MaxWaitTimeInSeconds is only valid with EnableManagedSpotTraining")
    if wait is not None and runtime is not None and wait < runtime:
        problems.append(f"MaxWaitTimeInSeconds ({wait}) must be >= MaxRuntimeInSeconds")
    for uri_field in (("OutputDataConfig", "S3OutputPath"), ("CheckpointConfig", "S3Uri")):
        value = request.get(uri_field[0], {}).get(uri_field[1])
        if value is not None and not re.fullmatch(pattern_of(*uri_field), value):
            problems.append(f"{'.'.join(uri_field)} {value!r} is not an s3:// URI")
    return problems


def check_request(request: dict[str, Any]) -> None:
    """Raise SpecError listing every problem :func:`request_problems` finds."""
    problems = request_problems(request)
    if problems:
        raise SpecError(
            f"the SageMaker request is invalid: {problems[0]}",
            problems=[f"SageMaker request: {p}" for p in problems],
        )


def tuning_request_problems(request: dict[str, Any]) -> list[str]:
    """What is wrong with a CreateHyperParameterTuningJob request, checked without network:
    botocore's validator plus the name pattern and the spot rules of the trial definition."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateHyperParameterTuningJob").input_shape
    report = ParamValidator().validate(request, shape)
    problems = report.generate_report().splitlines() if report.has_errors() else []
    problems = [p.strip() for p in problems if p.strip()]
    name = str(request.get("HyperParameterTuningJobName", ""))
    if not re.fullmatch(
        str(shape.members["HyperParameterTuningJobName"].metadata["pattern"]), name
    ):
        problems.append(
            f"HyperParameterTuningJobName {name!r} does not match the SageMaker pattern"
        )
    definition = request.get("TrainingJobDefinition", {})
    allowed = shape.members["TrainingJobDefinition"].members["ResourceConfig"]
    instance = definition.get("ResourceConfig", {}).get("InstanceType")
    if instance not in allowed.members["InstanceType"].enum:
        problems.append(f"InstanceType {instance!r} is not a SageMaker type")
    if definition.get("EnableManagedSpotTraining"):
        if "MaxWaitTimeInSeconds" not in definition.get("StoppingCondition", {}):
            problems.append("managed spot training needs StoppingCondition.MaxWaitTimeInSeconds")
        if "CheckpointConfig" not in definition:
            problems.append("managed spot training needs CheckpointConfig to resume")
    return problems
