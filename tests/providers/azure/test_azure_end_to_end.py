"""The real azure-ai-ml MLClient against the fake Azure ML service, through the provider:
submit → status → logs → cancel, with the compute cluster, the code upload and retries."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from azure_helpers import WORKSPACE, make_ctx, make_spec, real_bundle

from cloudgd.errors import JobNotFoundError, ProviderError
from cloudgd.plan import JobHandle, JobState, Plan
from providers.azure.provider import AzureProvider
from providers.azure.rehearsal.fake import FakeAzureML
from providers.azure.rehearsal.fake_store import OUTCOME_TAG, FakeStore
from providers.azure.scope import WorkspaceScope

pytestmark = pytest.mark.slow


def _provider(fake: FakeAzureML) -> AzureProvider:
    return AzureProvider(backend="fake", endpoint=fake.plain_url, poll_seconds=0.1)


def _plan(provider: AzureProvider, tmp_path: Path, **fields: Any) -> Plan:
    fields.setdefault("providers", {"azure": {**WORKSPACE, "manage_compute": True}})
    spec = make_spec(**fields)
    return provider.plan(spec, make_ctx(bundle=real_bundle(spec, tmp_path / "bundles")))


def _wait_for(provider: AzureProvider, handle: JobHandle, state: JobState) -> None:
    deadline = time.monotonic() + 30
    while provider.status(handle).state is not state:
        assert time.monotonic() < deadline, f"job never reached {state}"
        time.sleep(0.05)


def test_submit_status_logs_cancel(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    # Running lasts 30 s here, so a loaded machine cannot finish the job before the cancel.
    fake_store.run_steps = 150
    provider = _provider(fake_azure)
    plan = _plan(provider, tmp_path)
    submitted = provider.submit(plan)
    handle = JobHandle.parse(submitted.handle)
    assert handle.params == {"backend": "fake", "endpoint": fake_azure.plain_url}
    assert handle.job == plan.job_name
    assert submitted.state in (JobState.PENDING, JobState.STARTING)

    ws = "/".join(handle.parts[:3]).lower()
    [stored] = fake_store.list_jobs(ws)
    props = stored.body["properties"]
    assert props["command"] == plan.request["command"]
    assert props["codeId"].endswith(plan.uploads[0].destination.split("/codes/")[1])
    assert props["computeId"].endswith("/computes/" + plan.request["compute"].split(":")[1])
    uploaded = {name for (_, name) in fake_store.blobs}
    assert any(name.endswith("/cloudgd-job.json") for name in uploaded)
    assert any("/trainers/" in name for name in uploaded)

    _wait_for(provider, handle, JobState.RUNNING)
    lines = list(provider.logs(handle))
    assert any(plan.request["command"] in line for line in lines)

    cancelled = provider.cancel(handle)
    assert cancelled.state in (JobState.STOPPING, JobState.CANCELLED)
    _wait_for(provider, handle, JobState.CANCELLED)
    assert provider.cancel(handle).state is JobState.CANCELLED  # idempotent
    final = provider.status(handle)
    assert final.raw_state == "Canceled" and final.ended_at is not None


def test_logs_follow_until_the_job_ends(fake_azure: FakeAzureML, tmp_path: Path) -> None:
    provider = _provider(fake_azure)
    handle = JobHandle.parse(provider.submit(_plan(provider, tmp_path)).handle)
    lines = list(provider.logs(handle, follow=True))
    assert lines[-1] == "[azureml-fake] job Completed"
    assert len(lines) == len(set(lines))  # nothing printed twice
    status = provider.wait(handle, poll=0.05, timeout=30)
    assert status.state is JobState.SUCCEEDED
    assert status.started_at is not None and status.started_at <= status.ended_at  # type: ignore[operator]


def test_resubmitting_the_same_plan_returns_the_existing_job(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    provider = _provider(fake_azure)
    plan = _plan(provider, tmp_path)
    first = provider.submit(plan)
    second = provider.submit(plan)
    assert second.handle == first.handle
    assert len(fake_store.jobs) == 1


def test_a_missing_cluster_is_refused_unless_cloudgd_may_manage_it(
    fake_azure: FakeAzureML, tmp_path: Path
) -> None:
    provider = _provider(fake_azure)
    plan = _plan(provider, tmp_path, providers={"azure": dict(WORKSPACE)})
    with pytest.raises(ProviderError) as caught:
        provider.submit(plan)
    cluster = plan.summary["cluster"]
    assert caught.value.message == f"Azure ML compute cluster {cluster} does not exist"
    assert "manage_compute: true" in (caught.value.hint or "")


def test_an_existing_cluster_that_does_not_fit_is_refused(
    fake_azure: FakeAzureML, tmp_path: Path
) -> None:
    provider = _provider(fake_azure)
    managed = _plan(provider, tmp_path, resources={"accelerator": "T4:1"})
    provider.submit(managed)  # creates cgd-nc4ast4v3 with max 1 node
    bigger = _plan(
        provider,
        tmp_path,
        resources={"accelerator": "T4:1", "nodes": 3},
        providers={"azure": dict(WORKSPACE)},
    )
    with pytest.raises(ProviderError) as caught:
        provider.submit(bigger)
    assert "does not fit: it scales to 1 nodes, the job needs 3" in caught.value.message


def test_a_failed_job_reports_the_failure(fake_azure: FakeAzureML, tmp_path: Path) -> None:
    provider = _provider(fake_azure)
    plan = _plan(provider, tmp_path, tags={OUTCOME_TAG: "Failed"})
    handle = JobHandle.parse(provider.submit(plan).handle)
    status = provider.wait(handle, poll=0.05, timeout=30)
    assert status.state is JobState.FAILED
    assert status.message == "the job's process exited with 1"


def test_list_finds_cloudgd_jobs_by_tag_and_prefix(fake_azure: FakeAzureML, tmp_path: Path) -> None:
    provider = _provider(fake_azure)
    provider.submit(_plan(provider, tmp_path))
    provider.submit(_plan(provider, tmp_path, name="other-job"))
    lister = AzureProvider(
        backend="fake",
        endpoint=fake_azure.plain_url,
        scope=WorkspaceScope(
            WORKSPACE["subscription_id"], WORKSPACE["resource_group"], WORKSPACE["workspace"]
        ),
    )
    names = [s.name for s in lister.list()]
    assert len(names) == 2 and names[0].startswith("other-job")
    assert [s.name.split("-")[0] for s in lister.list(prefix="digits")] == ["digits"]


def test_an_unknown_job_is_reported_as_such(fake_azure: FakeAzureML) -> None:
    provider = _provider(fake_azure)
    handle = JobHandle.parse(
        f"azure://{WORKSPACE['subscription_id']}/ml-rg/ml-ws/nope"
        f"?backend=fake&endpoint={fake_azure.plain_url}"
    )
    with pytest.raises(JobNotFoundError):
        provider.status(handle)


def test_throttled_and_failing_calls_are_retried(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    provider = _provider(fake_azure)
    plan = _plan(provider, tmp_path)
    fake_store.inject_fault(f"/jobs/{plan.job_name}?", 429, times=2)
    fake_store.inject_fault("/computes/", 503, times=1)
    status = provider.submit(plan)
    assert status.name == plan.job_name
    log = (tmp_path / "fake-requests.log").read_text().splitlines()
    throttled = [line for line in log if f"/jobs/{plan.job_name}?" in line and " 429" in line]
    unavailable = [line for line in log if "/computes/" in line and line.endswith(" 503")]
    assert (len(throttled), len(unavailable)) == (2, 1)


def test_retries_give_up_with_one_line(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    provider = _provider(fake_azure)
    plan = _plan(
        provider,
        tmp_path,
        providers={"azure": {**WORKSPACE, "manage_compute": True, "max_retries": 1}},
    )
    fake_store.inject_fault("/computes/", 503, times=5)
    with pytest.raises(ProviderError) as caught:
        provider.submit(plan)
    assert "\n" not in caught.value.message
    assert "compute" in caught.value.message


def test_a_detached_fake_serves_later_processes_from_the_handle(tmp_path: Path) -> None:
    from cloudgd import servers

    submitter = AzureProvider(backend="fake", poll_seconds=0.1)
    try:
        plan = _plan(submitter, tmp_path, providers={})
        handle = submitter.submit(plan).handle
        assert plan.summary["rehearsal_placeholders"] is True
        # A later `cloudgd status HANDLE` builds a provider with no backend settings at all.
        follower = AzureProvider()
        status = follower.status(JobHandle.parse(handle))
        assert status.name == plan.job_name
        assert status.handle == handle
    finally:
        assert servers.stop("azure-fake")


def test_a_rehearsal_whose_blob_input_does_not_exist_is_refused_naming_channel_and_uri(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path
) -> None:
    from cloudgd.errors import SpecError

    provider = _provider(fake_azure)
    uri = "azureml://datastores/workspaceblobstore/paths/digits/train.csv"
    data = {"trainer": {"data": {"source": "csv", "uri": uri, "target": "y"}}}
    plan = _plan(provider, tmp_path, **data)
    with pytest.raises(SpecError) as refused:
        provider.submit(plan)
    assert str(refused.value).startswith(
        f"trainer.data.uri: input channel 'train' reads {uri}, which does not exist"
    )
    assert fake_store.list_jobs("/".join(JobHandle.parse(plan.handle).parts[:3]).lower()) == []

    folder = tmp_path / "digits"
    folder.mkdir()
    (folder / "train.csv").write_text("x,y\n1,0\n")
    # what `cloudgd data upload digits/ azureml://.../paths/digits/ -p azure --backend fake`
    # calls: a directory's files go under the URI
    provider.scope = WorkspaceScope.of_handle(JobHandle.parse(plan.handle))
    assert provider.upload_data(folder, uri.removesuffix("train.csv")) == [uri]
    assert provider.submit(plan).state in (JobState.PENDING, JobState.STARTING)


def test_a_data_upload_streams_the_file_instead_of_reading_it_whole(
    fake_azure: FakeAzureML, fake_store: FakeStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # data of any size: `cloudgd data upload` must not need the file's size in memory
    data = tmp_path / "train.parquet"
    data.write_bytes(bytes(range(256)) * 12_288)  # 3 MiB
    whole_reads = []
    read_bytes = Path.read_bytes

    def recording(path: Path) -> bytes:
        if path == data:
            whole_reads.append(path)
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", recording)
    provider = _provider(fake_azure)
    provider.scope = WorkspaceScope(**WORKSPACE)
    uri = "azureml://datastores/workspaceblobstore/paths/big/"
    assert provider.upload_data(data, uri) == [uri + "train.parquet"]
    assert whole_reads == []
    (stored,) = [blob for (_, name), blob in fake_store.blobs.items() if name.endswith("parquet")]
    assert stored.data == read_bytes(data)
