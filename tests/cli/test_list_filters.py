"""``cloudgd list --state/--since/--limit``, in text and JSON, over real local run folders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloudgd import registry
from cloudgd.cli.list_jobs import STATES
from cloudgd.errors import UsageError
from cloudgd.plan import JobState
from cloudgd.runner import parse_since
from tests.cli.conftest import Invoke
from tests.report.conftest import WriteRun, local_run

__all__ = ["local_run"]  # the fixture, used by name below


@pytest.fixture(autouse=True)
def real_local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real local provider, listing the runs local_run writes under tmp_path/runs."""
    monkeypatch.setitem(
        registry.BUILTINS,
        "local",
        registry.ProviderInfo("local", "providers.local.provider:LocalProvider", None, (), "here"),
    )
    monkeypatch.setenv("CLOUDGD_RUNS_DIR", str(tmp_path / "runs"))


def _names(invoke: Invoke, *flags: str) -> list[str]:
    result = invoke("-o", "json", "list", *flags)
    assert result.exit_code == 0, result.stderr
    return [job["name"] for job in json.loads(result.stdout)["jobs"]]


def test_state_since_and_limit_filter_the_list(local_run: WriteRun, invoke: Invoke) -> None:
    local_run("job-ok", state="succeeded")
    local_run("job-bad", state="failed")
    assert sorted(_names(invoke)) == ["job-bad", "job-ok"]
    assert _names(invoke, "--state", "failed") == ["job-bad"]
    assert sorted(_names(invoke, "--state", "FAILED", "--state", "succeeded")) == [
        "job-bad",
        "job-ok",
    ]
    assert _names(invoke, "--since", "2026-01-02") != []  # the runs were created 03:04 that day
    assert _names(invoke, "--since", "2026-01-03T00:00") == []
    assert len(_names(invoke, "--limit", "1")) == 1


def test_no_match_says_so_in_text(local_run: WriteRun, invoke: Invoke) -> None:
    local_run("job-ok")
    result = invoke("list", "--state", "running")
    assert result.exit_code == 0
    assert "no local jobs match those filters" in result.stdout


@pytest.mark.parametrize(
    ("flags", "complaint"),
    [
        (("--state", "DONE"), "--state"),
        (("--limit", "0"), "--limit"),
        (("--since", "last tuesday"), "--since 'last tuesday'"),
    ],
)
def test_bad_filters_exit_2_naming_the_flag(
    invoke: Invoke, flags: tuple[str, ...], complaint: str
) -> None:
    result = invoke("list", *flags)
    assert result.exit_code == 2
    assert complaint in result.stderr


def test_since_reads_durations_back_from_now_and_dates_as_utc() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_since("6h", now=now) == datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    assert parse_since("2d", now=now) == datetime(2026, 2, 27, 12, 0, tzinfo=UTC)
    assert parse_since("2026-02-01", now=now) == datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_since("soon", now=now)


def test_the_state_choices_are_the_job_states() -> None:
    assert tuple(state.value for state in JobState) == STATES
