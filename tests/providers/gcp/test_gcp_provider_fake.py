"""End to end: the real aiplatform_v1, storage and logging clients against the fake service."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from gcp_helpers import BUCKET, PROJECT, Fake, fixed_ctx, make_spec
from google.auth.credentials import AnonymousCredentials

from cloudgd.errors import JobNotFoundError, ProviderError, SpecError
from cloudgd.plan import BundleRef, JobHandle, JobState, Plan
from providers.gcp import client as gcp_client
from providers.gcp.provider import GcpProvider
from providers.gcp.rehearsal import fake as fake_module

pytestmark = pytest.mark.slow  # each test runs the fake service


def _provider(fake: Fake, **kwargs: Any) -> GcpProvider:
    provider = GcpProvider(backend="fake", endpoint=fake.url, **kwargs)
    provider.poll_seconds = 0.05
    return provider


def _plan(provider: GcpProvider, bundle: BundleRef, key: str | None = None, **spec: Any) -> Plan:
    return provider.plan(make_spec(**spec), fixed_ctx(idempotency_key=key, bundle=bundle))


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


def _job_count(fake: Fake) -> int:
    page = fake.server.store.list_jobs(f"projects/{PROJECT}/locations/us-central1")
    return len(page["customJobs"])


def test_submit_uploads_the_sdist_and_follows_the_job_to_success(
    fake: Fake, real_bundle: BundleRef
) -> None:
    from google.cloud import storage

    provider = _provider(fake)
    submitted = provider.submit(_plan(provider, real_bundle))
    handle = JobHandle.parse(submitted.handle)
    assert handle.params == {"backend": "fake", "endpoint": fake.url}
    assert handle.job.isdigit() and submitted.state in (JobState.PENDING, JobState.STARTING)

    gcs = storage.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": fake.url},
    )
    bucket = gcs.bucket(BUCKET.removeprefix("gs://"))
    blob = bucket.get_blob(f"cloudgd/code/{real_bundle.filename}")
    assert blob is not None and blob.metadata == {"cloudgd-sha256": real_bundle.sha256}

    lines = list(provider.logs(handle, follow=True))
    assert lines == [
        "Waiting for job to be provisioned.",
        "Job is running.",
        "Job completed successfully.",
    ]
    final = provider.status(handle)
    assert final.state is JobState.SUCCEEDED and final.started_at and final.ended_at
    assert final.name == submitted.name and final.console_url is None


def test_resubmitting_the_same_spec_and_key_returns_the_existing_job(
    fake: Fake, real_bundle: BundleRef
) -> None:
    provider = _provider(fake)
    first = provider.submit(_plan(provider, real_bundle, key="ci-7"))
    again = _provider(fake).submit(_plan(provider, real_bundle, key="ci-7"))
    other = provider.submit(_plan(provider, real_bundle, key="ci-8"))
    assert again.handle == first.handle and other.handle != first.handle
    assert _job_count(fake) == 2


def test_cancel_is_idempotent_and_a_cancelled_job_is_not_reused(
    fake: Fake, real_bundle: BundleRef
) -> None:
    provider = _provider(fake)
    plan = _plan(provider, real_bundle, key="cancel-me")
    handle = JobHandle.parse(provider.submit(plan).handle)
    assert provider.cancel(handle).state is JobState.STOPPING
    assert provider.wait(handle, timeout=10, poll=0.05).state is JobState.CANCELLED
    assert provider.cancel(handle).state is JobState.CANCELLED
    assert provider.submit(plan).handle != str(handle)


def test_cancelling_a_finished_job_reports_how_it_ended(fake: Fake, real_bundle: BundleRef) -> None:
    provider = _provider(fake)
    handle = JobHandle.parse(provider.submit(_plan(provider, real_bundle)).handle)
    assert provider.wait(handle, timeout=10, poll=0.05).state is JobState.SUCCEEDED
    assert provider.cancel(handle).state is JobState.SUCCEEDED


def test_the_plan_handle_finds_the_job_by_its_name(fake: Fake, real_bundle: BundleRef) -> None:
    provider = _provider(fake)
    plan = _plan(provider, real_bundle)
    submitted = provider.submit(plan)
    by_name = provider.status(JobHandle.parse(plan.handle))
    assert by_name.handle == submitted.handle


def test_a_failed_job_reports_its_error(fake: Fake, real_bundle: BundleRef) -> None:
    provider = _provider(fake)
    status = provider.submit(_plan(provider, real_bundle))
    resource = status.extra["resource_name"]
    _post(f"{fake.url}/_fake/{resource}:fail", {"message": "trainer exited with status 3"})
    final = provider.wait(JobHandle.parse(status.handle), timeout=10, poll=0.05)
    assert (final.state, final.message) == (JobState.FAILED, "trainer exited with status 3")


def test_logs_include_what_the_job_wrote_with_its_task(fake: Fake, real_bundle: BundleRef) -> None:
    from google.cloud import logging as cloud_logging

    provider = _provider(fake)
    status = provider.submit(_plan(provider, real_bundle))
    client = cloud_logging.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": fake.url},
        _use_grpc=False,
    )
    resource = cloud_logging.Resource(
        type="ml_job",
        labels={"job_id": status.extra["job_id"], "task_name": "workerpool0-0"},
    )
    client.logger("workerpool0-0", resource=resource).log_text("epoch=1 loss=0.5")
    lines = list(provider.logs(JobHandle.parse(status.handle), follow=True))
    assert "[workerpool0-0] epoch=1 loss=0.5" in lines
    assert lines[-1] == "Job completed successfully."


def test_list_shows_cloudgd_jobs_newest_first(fake: Fake, real_bundle: BundleRef) -> None:
    provider = _provider(fake, project=PROJECT)
    first = provider.submit(_plan(provider, real_bundle, key="a"))
    second = provider.submit(_plan(provider, real_bundle, key="b"))
    listed = provider.list(prefix="digits-")
    assert [s.handle for s in listed] == [second.handle, first.handle]
    assert provider.list(prefix="nope") == []


def test_transient_unavailable_and_exhausted_errors_are_retried(
    fake: Fake, real_bundle: BundleRef
) -> None:
    provider = _provider(fake)
    _post(f"{fake.url}/_fake/faults", {"status": 503, "count": 2, "match": "customJobs"})
    _post(f"{fake.url}/_fake/faults", {"status": 429, "count": 1, "match": "customJobs"})
    status = provider.submit(_plan(provider, real_bundle))
    assert status.state is not JobState.UNKNOWN
    assert fake.server.faults.take("customJobs") is None  # all three were consumed
    assert _job_count(fake) == 1


def test_an_outage_gives_up_with_one_line(
    fake: Fake, real_bundle: BundleRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gcp_client, "RETRY_DEADLINE", 1.0)
    provider = _provider(fake)
    _post(f"{fake.url}/_fake/faults", {"status": 503, "count": 1000, "match": "customJobs"})
    with pytest.raises(ProviderError) as caught:
        provider.submit(_plan(provider, real_bundle))
    assert "still failing after retries" in caught.value.message
    assert "\n" not in caught.value.message


def test_an_unknown_job_is_job_not_found(fake: Fake) -> None:
    handle = JobHandle.parse(f"gcp://{PROJECT}/us-central1/123?backend=fake&endpoint={fake.url}")
    with pytest.raises(JobNotFoundError, match="no Vertex AI job"):
        _provider(fake).status(handle)


def test_an_identical_bundle_is_not_uploaded_twice(fake: Fake, real_bundle: BundleRef) -> None:
    api = gcp_client.make_api(location="us-central1", endpoint=fake.url, project=PROJECT)
    api.ensure_bucket("cloudgd-test-staging", PROJECT)
    target = f"{BUCKET}/cloudgd/code/{real_bundle.filename}"
    assert api.upload(real_bundle.path, target, real_bundle.sha256, PROJECT) is True
    assert api.upload(real_bundle.path, target, real_bundle.sha256, PROJECT) is False


def test_a_saturated_fake_answers_unavailable(fake: Fake) -> None:
    slots = fake.server.slots
    taken = 0
    while slots.acquire(blocking=False):
        taken += 1
    try:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{fake.url}/_fake/health", timeout=5)
        assert caught.value.code == 503
        assert json.loads(caught.value.read())["error"]["status"] == "UNAVAILABLE"
    finally:
        for _ in range(taken):
            slots.release()
    with urllib.request.urlopen(f"{fake.url}/_fake/health", timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True}


def test_a_burst_of_requests_is_answered_and_frees_every_slot(fake: Fake) -> None:
    def hit(_: int) -> int:
        try:
            with urllib.request.urlopen(f"{fake.url}/_fake/health", timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    with ThreadPoolExecutor(max_workers=32) as pool:
        codes = list(pool.map(hit, range(96)))
    assert set(codes) <= {200, 503} and codes.count(200) > 0
    # A handler thread frees its slot just after the client has its answer: every slot
    # comes back within moments (each acquire waits up to 5 s for a straggler).
    slots = fake.server.slots
    taken = [slots.acquire(timeout=5) for _ in range(fake_module.MAX_INFLIGHT)]
    try:
        assert all(taken)
    finally:
        for got in taken:
            if got:
                slots.release()


def test_a_missing_staging_bucket_is_named(fake: Fake, real_bundle: BundleRef) -> None:
    api = gcp_client.make_api(location="us-central1", endpoint=fake.url, project=PROJECT)
    with pytest.raises(ProviderError) as caught:
        api.upload(real_bundle.path, "gs://no-such-bucket/cloudgd/code/x.tar.gz", None, PROJECT)
    assert caught.value.message == (
        "providers.gcp.staging_bucket: gs://no-such-bucket does not exist"
    )
    assert not isinstance(caught.value, JobNotFoundError)


def test_a_rehearsal_whose_gcs_input_does_not_exist_is_refused_naming_channel_and_uri(
    fake: Fake, real_bundle: BundleRef, tmp_path: Any
) -> None:
    provider = _provider(fake)
    uri = "gs://rehearsal-data/digits/train.csv"
    data = {"trainer": {"data": {"source": "csv", "uri": uri, "target": "y"}}}
    with pytest.raises(SpecError) as refused:
        provider.submit(_plan(provider, real_bundle, **data))
    assert str(refused.value).startswith(
        f"trainer.data.uri: input channel 'train' reads {uri}, which does not exist"
    )
    assert _job_count(fake) == 0  # nothing was created

    local = tmp_path / "train.csv"
    local.write_text("x,y\n1,0\n")
    # what `cloudgd data upload train.csv gs://... -p gcp --backend fake` calls
    assert _provider(fake, project=PROJECT).upload_data(local, uri) == [uri]
    submitted = provider.submit(_plan(provider, real_bundle, **data))
    assert submitted.state in (JobState.PENDING, JobState.STARTING)
