"""AwsProvider: SageMaker training jobs through boto3, rehearsable offline with moto.

Everything after submission works from the handle alone
(``aws://<region>/<job>[?backend=moto&endpoint=...&run=...]``), so status, logs,
wait and cancel can run in a later process. Rehearsal handles with ``run=``
follow the local run instead of moto, whose jobs are ``Completed`` at once and
cannot be stopped (:mod:`providers.rehearsal_follow`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cloudgd.errors import JobNotFoundError, ProviderError, UsageError
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.aws import client as aws
from providers.aws.listing import cloudgd_summaries
from providers.aws.logs import LogCursor
from providers.aws.options import DESCRIPTION, TERRAFORM_OUTPUTS, AwsOptions
from providers.aws.render import REHEARSAL_ROLE, render_plan
from providers.aws.s3data import check_inputs
from providers.aws.status import job_status, summary_status
from providers.base import Provider, fetched_dir
from providers.cloud_tuning import CloudTuning
from providers.features import SupportsRehearsal
from providers.rehearsal_follow import follows_rehearsal

if TYPE_CHECKING:
    from providers.local.tuning_jobs import TrialPlanner

ENDPOINT_ENV = "CLOUDGD_AWS_ENDPOINT"
MOTO_SERVER = ("moto", "providers.aws.rehearsal.moto_server")


class AwsProvider(CloudTuning, SupportsRehearsal, Provider):
    """AWS SageMaker training jobs (``--backend moto`` rehearses against a local moto)."""

    name = "aws"
    options_model = AwsOptions
    options_description = DESCRIPTION
    tuning_jobs_module: ClassVar[str] = "providers.aws.tuning_jobs"
    terraform_outputs = TERRAFORM_OUTPUTS
    backends: ClassVar[tuple[str, ...]] = ("cloud", "moto")
    is_cloud: ClassVar[bool] = True
    bundle_format: ClassVar[str | None] = "tar.gz"  # SageMaker script mode unpacks it
    uri_schemes: ClassVar[tuple[str, ...]] = ("s3",)
    rehearsal_backend: ClassVar[str] = "moto"
    rehearsal_server: ClassVar[tuple[str, str]] = MOTO_SERVER
    rehearsal_cancels_backend: ClassVar[bool] = False  # moto has no StopTrainingJob

    def __init__(
        self,
        *,
        backend: str = "cloud",
        endpoint: str | None = None,
        run_local: bool = False,
        client_factory: Callable[..., Any] | None = None,
        runs_dir: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        max_attempts: int = 8,
        log_poll_seconds: float = 5.0,
    ) -> None:
        super().__init__(
            backend=backend,
            endpoint=endpoint or os.environ.get(ENDPOINT_ENV) or None,
            run_local=run_local,
            client_factory=client_factory,
            runs_dir=runs_dir,
        )
        self.region = region
        self.profile = profile
        self.max_attempts = max_attempts
        self.log_poll_seconds = log_poll_seconds
        self._clients: dict[tuple[str, aws.Connection], Any] = {}

    @property
    def rehearsal(self) -> bool:
        """True against moto (``--backend moto`` or an endpoint override)."""
        return self.backend == "moto" or self.endpoint is not None

    # -- connections -------------------------------------------------------
    def _connection(self, region: str, params: dict[str, str] | None = None) -> aws.Connection:
        params = params or {}
        endpoint = params.get("endpoint") or self.endpoint
        rehearsal = params.get("backend") == "moto" or self.rehearsal
        if rehearsal and endpoint is None:
            endpoint = self.start_rehearsal_server()
        return aws.Connection(
            region=region,
            endpoint=endpoint,
            profile=self.profile,
            max_attempts=self.max_attempts,
            rehearsal=rehearsal,
        )

    def _client(self, service: str, conn: aws.Connection) -> Any:
        key = (service, conn)
        if key not in self._clients:
            factory = self.client_factory or aws.make_client
            self._clients[key] = factory(service, conn)
        return self._clients[key]

    def _handle_connection(self, handle: JobHandle) -> aws.Connection:
        if handle.provider != "aws" or len(handle.parts) != 2:
            raise UsageError(
                f"not an aws job handle: {handle}", hint="aws handles look like aws://REGION/JOB"
            )
        return self._connection(handle.parts[0], handle.params)

    # -- planning ----------------------------------------------------------
    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        """The CreateTrainingJob request (pure; see providers/aws/render.py)."""
        return render_plan(spec, ctx, rehearsal=self.rehearsal)

    # -- side effects ------------------------------------------------------
    def submit(self, plan: Plan) -> JobStatus:
        """Upload the bundle, then create the job, or return the job of that name if it exists."""
        handle = JobHandle.parse(plan.handle)
        conn = self._connection(handle.parts[0])
        handle = handle.model_copy(update={"params": {**handle.params, **conn.handle_params()}})
        aws.check_request(plan.request)
        if not conn.rehearsal and plan.request.get("RoleArn") == REHEARSAL_ROLE:
            raise UsageError(
                "this plan was made for a rehearsal (placeholder role), not for AWS",
                hint="set providers.aws.role_arn and output_uri, then plan again",
            )
        sagemaker = self._client("sagemaker", conn)
        existing = self._describe(sagemaker, plan.job_name, conn)
        if existing is not None:
            return job_status(handle, existing, conn, note="already submitted")
        s3 = self._client("s3", conn)
        if conn.rehearsal:
            buckets = {aws.split_s3(u.destination)[0] for u in plan.uploads}
            buckets.add(aws.split_s3(plan.request["OutputDataConfig"]["S3OutputPath"])[0])
            for bucket in sorted(buckets):
                aws.ensure_bucket(s3, bucket, conn)
        for item in plan.uploads:
            aws.upload(s3, item, conn)
        if conn.rehearsal:  # moto creates any job; SageMaker fails one with no input data
            check_inputs(s3, plan.request, conn)
        try:
            with aws.sdk_errors(f"creating training job {plan.job_name}", conn):
                sagemaker.create_training_job(**plan.request)
        except ProviderError as exc:
            # Lost a race with another submit of the same plan: that job is ours too.
            if "ResourceInUse" not in exc.message:
                raise
        described = self._describe(sagemaker, plan.job_name, conn)
        if described is None:
            raise JobNotFoundError(f"training job {plan.job_name} vanished right after creation")
        return job_status(handle, described, conn)

    def upload_data(self, path: Path, uri: str) -> list[str]:
        """Put a local file or directory at an s3:// URI (the rehearsal bucket on moto)."""
        from cloudgd.cost.select import default_region
        from providers.aws.s3data import upload_path

        region = self.region or os.environ.get("AWS_REGION") or default_region("aws")
        conn = self._connection(region)
        return upload_path(self._client("s3", conn), path, uri, conn)

    def rehearse(
        self, cloud_plan: Plan, spec: JobSpec, ctx: RenderContext, local: Provider
    ) -> tuple[JobStatus, Plan]:
        """Submit to moto, then plan the local run of ``--run-local``: Amazon's toolkit when
        installed, on what the submit put in the rehearsal bucket (it checked the data)."""
        from providers.aws.local_rehearsal import rehearsal_plan

        submitted = self.submit(cloud_plan)
        return submitted, rehearsal_plan(self, cloud_plan, spec, ctx, local)

    def rehearsal_trial_planner(self, tuning_plan: Plan, ctx: RenderContext) -> TrialPlanner:
        """How ``tune --run-local`` plans each trial: values as SageMaker hyperparameters."""
        from providers.aws.local_rehearsal import trial_planner

        return trial_planner(self, tuning_plan, ctx)

    def _describe(self, sagemaker: Any, name: str, conn: aws.Connection) -> dict[str, Any] | None:
        try:
            with aws.sdk_errors(f"describing training job {name}", conn):
                result: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
                return result
        except JobNotFoundError:
            return None

    @follows_rehearsal
    def status(self, handle: JobHandle) -> JobStatus:
        """DescribeTrainingJob as a JobStatus (or the local run's, for rehearsals)."""
        conn = self._handle_connection(handle)
        described = self._describe(self._client("sagemaker", conn), handle.job, conn)
        if described is None:
            raise JobNotFoundError(
                f"no training job {handle.job} in {conn.describe()}",
                hint="check the region in the handle and your AWS account/profile",
            )
        return job_status(handle, described, conn)

    @follows_rehearsal
    def fetch_run_files(self, handle: JobHandle) -> Path:
        """metrics.jsonl and summary.json from the job's ``output.tar.gz``.

        The trainer writes them to SM_OUTPUT_DATA_DIR, which SageMaker packs into
        ``<S3OutputPath>/<job>/output/output.tar.gz`` when the job ends (also when
        it fails or is stopped), so a running job has none yet.
        """
        from cloudgd.report.runfiles import NoMetricsError, extract_run_files

        conn = self._handle_connection(handle)
        described = self._describe(self._client("sagemaker", conn), handle.job, conn)
        if described is None:
            raise JobNotFoundError(f"no training job {handle.job} in {conn.describe()}")
        output = described["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        uri = f"{output}/{handle.job}/output/output.tar.gz"
        dest = fetched_dir(handle)
        archive = dest / "output.tar.gz"
        if not aws.download_if_exists(self._client("s3", conn), uri, archive, conn):
            raise NoMetricsError(
                f"{handle.job}: no metrics yet ({uri} does not exist; job state "
                f"{described.get('TrainingJobStatus')})",
                hint=_rehearsal_hint(handle)
                or "SageMaker uploads the trainer's output when the job ends; until then "
                f"follow it with: cloudgd logs --follow '{handle}'",
            )
        extract_run_files(archive, dest)
        archive.unlink()
        return dest

    @follows_rehearsal
    def download(
        self,
        handle: JobHandle,
        dest: Path,
        *,
        progress: Callable[[str, int], None] | None = None,
    ) -> list[Path]:
        """``model.tar.gz`` and ``output.tar.gz`` from ``<S3OutputPath>/<job>/output/``,
        unpacked into ``dest/model`` and ``dest/output``."""
        from cloudgd.download import check_free, unpack

        conn = self._handle_connection(handle)
        described = self._describe(self._client("sagemaker", conn), handle.job, conn)
        if described is None:
            raise JobNotFoundError(f"no training job {handle.job} in {conn.describe()}")
        check_free(dest)
        output = described["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        staging = fetched_dir(handle) / "download"
        written: list[Path] = []
        for part in ("model", "output"):
            archive = staging / f"{part}.tar.gz"
            uri = f"{output}/{handle.job}/output/{part}.tar.gz"
            if aws.download_if_exists(self._client("s3", conn), uri, archive, conn):
                try:
                    written += unpack(archive, dest, part, progress)
                finally:
                    archive.unlink()
        if not written:
            raise ProviderError(
                f"{handle.job}: nothing to download yet (no model.tar.gz or output.tar.gz under "
                f"{output}/{handle.job}/output/; job state {described.get('TrainingJobStatus')})",
                hint=_rehearsal_hint(handle) or "SageMaker uploads them when the job ends",
            )
        return written

    @follows_rehearsal
    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        """CloudWatch lines of every instance, merged by time; with ``follow``, until terminal."""
        conn = self._handle_connection(handle)
        cursor = LogCursor(self._client("logs", conn), handle.job, conn)
        while True:
            yield from cursor.lines(cursor.poll())
            if not follow:
                return
            if self.status(handle).state.terminal:
                # SageMaker flushes the last lines as the job ends: read once more.
                yield from cursor.lines(cursor.poll())
                return
            time.sleep(self.log_poll_seconds)

    @follows_rehearsal
    def cancel(self, handle: JobHandle) -> JobStatus:
        """StopTrainingJob; a job that already ended is returned as it is."""
        current = self.status(handle)
        if current.state.terminal or current.raw_state == "Stopping":
            return current
        conn = self._handle_connection(handle)
        sagemaker = self._client("sagemaker", conn)
        try:
            with aws.sdk_errors(f"stopping training job {handle.job}", conn):
                sagemaker.stop_training_job(TrainingJobName=handle.job)
        except ProviderError as exc:
            # It ended between describe and stop: nothing left to stop.
            if "ValidationException" not in exc.message:
                raise
        return self.status(handle)

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        """Jobs with cloudgd's tags in the provider's region, newest first."""
        from cloudgd.cost.select import default_region

        region = (
            self.region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or default_region("aws")
        )
        conn = self._connection(region)
        sagemaker = self._client("sagemaker", conn)
        params = conn.handle_params()
        found = [
            summary_status(
                JobHandle(
                    provider="aws", parts=(region, summary["TrainingJobName"]), params=params
                ),
                summary,
                tags,
            )
            for summary, tags in cloudgd_summaries(
                sagemaker,
                conn,
                what="training jobs",
                call="list_training_jobs",
                result_key="TrainingJobSummaries",
                name_key="TrainingJobName",
                arn_key="TrainingJobArn",
                prefix=prefix,
            )
        ]
        from providers.aws.tuning_jobs import list_tuning_jobs

        found += list_tuning_jobs(sagemaker, conn, region, prefix)
        return sorted(found, key=_newest_first)

    # -- tuning (CloudTuning): tuning.py renders, tuning_jobs.py does the rest ---------
    def plan_tuning(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        from providers.aws.tuning import render_tuning

        return render_tuning(spec, ctx, rehearsal=self.rehearsal)

    @classmethod
    def trial_handle(cls, study: JobHandle, name: str) -> str:
        """A trial is a training job beside the tuning job."""
        from cloudgd.tuning.trials import sibling_trial_handle

        return sibling_trial_handle(study, name)


def _newest_first(status: JobStatus) -> float:
    return -status.created_at.timestamp() if status.created_at else 0.0


def _rehearsal_hint(handle: JobHandle) -> str | None:
    """Why a moto job has no files: moto checks the requests but runs nothing."""
    if handle.params.get("backend") != "moto":
        return None
    return (
        "a moto rehearsal checks the requests but runs no training; submit with --run-local "
        "to also run the job here, then use the handle that prints"
    )
