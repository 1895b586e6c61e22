"""One RehearsalFollower for every cloud: a rehearsal handle (``?run=<local run dir>``)
follows its local run, the same way on aws, gcp and azure, including handles written
by earlier cloudgd versions; and it reaches only runs cloudgd created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudgd import registry
from cloudgd.errors import UsageError
from cloudgd.handles import open_handle
from cloudgd.plan import JobState
from cloudgd.rehearsal import check_rehearsal, rehearsable
from providers.features import SupportsRehearsal
from providers.rehearsal_follow import RUN_KEY
from tests.report.conftest import WriteRun, local_run, trainer_records

__all__ = ["local_run"]  # the fixture, used by name below

FAKE = "http://127.0.0.1:9"  # nothing listens on the discard port: nothing may call it
# Rehearsal handles exactly as cloudgd wrote them before one follower served all three
# clouds (each provider then had its own status key; all wrote the run as run=).
EARLIER = {
    "aws": "aws://us-east-1/digits-mlp-0123abcd?backend=moto&endpoint={fake}&run={run}",
    "gcp": "gcp://cloudgd-test-123/us-central1/4711?run={run}&backend=fake&endpoint={fake}",
    "azure": "azure://11111111-2222-3333-4444-555555555555/ml-rg/ml-ws/digits-mlp-0123abcd"
    "?backend=fake&endpoint={fake}&run={run}",
}


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDGD_HOME", str(tmp_path / "home"))
    for name in ("CLOUDGD_AWS_ENDPOINT", "CLOUDGD_GCP_ENDPOINT", "CLOUDGD_AZURE_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("cloud", sorted(EARLIER))
def test_a_handle_from_an_earlier_version_follows_its_local_run(
    cloud: str, local_run: WriteRun
) -> None:
    run = local_run(records=trainer_records())
    text = EARLIER[cloud].format(fake=FAKE, run=run)
    provider, handle = open_handle(text)
    assert provider.name == cloud

    status = provider.status(handle)
    assert (status.state, status.name) == (JobState.SUCCEEDED, run.name)
    assert status.handle == str(handle)  # the cloud handle, still naming its run
    assert status.extra[RUN_KEY] == f"local://{run}"  # one key on every cloud
    assert provider.wait(handle, timeout=5, poll=0.1).state is JobState.SUCCEEDED
    assert list(provider.logs(handle)) == []  # the run wrote no log lines
    assert provider.fetch_run_files(handle) == run / "output"


@pytest.mark.parametrize("cloud", sorted(EARLIER))
def test_the_current_handle_form_is_followed_too(cloud: str, local_run: WriteRun) -> None:
    run = local_run(records=trainer_records())
    _, earlier = open_handle(EARLIER[cloud].format(fake=FAKE, run=run))
    # str() percent-encodes the query: what `submit --run-local` prints today
    again, handle = open_handle(str(earlier))
    assert handle == earlier
    assert again.status(handle).extra[RUN_KEY] == f"local://{run}"


@pytest.mark.parametrize("cloud", sorted(EARLIER))
def test_a_rehearsal_handle_reaches_only_runs_cloudgd_created(cloud: str, tmp_path: Path) -> None:
    planted = tmp_path / "elsewhere" / "run"
    planted.mkdir(parents=True)
    (planted / "state.json").write_text('{"state": "running", "supervisor": {"pid": 1}}')
    provider, handle = open_handle(EARLIER[cloud].format(fake=FAKE, run=planted))
    for follow in (
        lambda: provider.status(handle),
        lambda: list(provider.logs(handle)),
        lambda: provider.cancel(handle),
        lambda: provider.fetch_run_files(handle),
    ):
        with pytest.raises(UsageError, match="not a run directory created by cloudgd"):
            follow()


def test_a_rehearsal_handle_with_a_remote_endpoint_is_refused(tmp_path: Path) -> None:
    text = EARLIER["gcp"].format(fake="http://198.51.100.7:8790", run=tmp_path)
    with pytest.raises(UsageError, match="not on this machine"):
        open_handle(text)


@pytest.mark.parametrize("cloud", ["gcp", "azure"])
def test_cancel_stops_the_run_and_never_a_real_cloud_job(
    cloud: str, local_run: WriteRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run= handle without backend= names no rehearsal backend: the cancel stops the
    local run and sends nothing to the cloud the handle would otherwise reach."""
    run = local_run(records=trainer_records(), state="succeeded")
    text = str(open_handle(EARLIER[cloud].format(fake=FAKE, run=run))[1])
    text = text.split("?")[0] + f"?run={run}"

    def no_cloud(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the cancel reached the cloud")

    provider, handle = open_handle(text)
    provider.client_factory = no_cloud
    cancelled = provider.cancel(handle)
    assert cancelled.state is JobState.SUCCEEDED  # it had ended: nothing to stop
    assert "remote_cancel" not in cancelled.extra


def test_the_clouds_rehearse_and_the_local_provider_does_not() -> None:
    assert rehearsable() == ["aws", "gcp", "azure"]
    for name in rehearsable():
        provider = registry.create(name, needs_sdk=False)
        assert isinstance(provider, SupportsRehearsal)
        assert provider.rehearsal_backend in provider.backends
    with pytest.raises(UsageError, match="already runs here"):
        check_rehearsal(registry.create("local", needs_sdk=False))
