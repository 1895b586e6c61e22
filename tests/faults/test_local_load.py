"""The correctness half of bench/local_load.py, small: 8 jobs, none lost or misreported."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.local_load import make_plans, run_load
from providers.local.provider import LocalProvider
from providers.local.rundir import RunDir


@pytest.fixture
def provider(home: Path) -> Iterator[LocalProvider]:
    prov = LocalProvider(runs_dir=str(home / "runs"))
    yield prov
    for run_path in (home / "runs").glob("*"):  # stop whatever a failing test left running
        state = RunDir(run_path).read_state() or {}
        for rank in state.get("ranks", []):
            with contextlib.suppress(OSError, TypeError):
                os.killpg(rank.get("pid"), signal.SIGKILL)
        with contextlib.suppress(OSError, TypeError):
            os.kill((state.get("supervisor") or {}).get("pid"), signal.SIGKILL)


@pytest.mark.slow
def test_eight_concurrent_jobs_with_status_and_cancel_calls_are_all_tracked_to_the_end(
    provider: LocalProvider, home: Path
) -> None:
    plans = make_plans(provider, home / "runs", 8, "script", seconds=4.0)

    report = run_load(
        provider, plans, cancel_every=4, cancel_within=0.5, timeout=120, require_summary=False
    )

    assert report.problems == []
    assert report.finals == {"SUCCEEDED": 6, "CANCELLED": 2}
    assert report.status_calls > 0
