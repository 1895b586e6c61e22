"""Fixtures for the local provider: a private CLOUDGD_HOME, specs, scripted plans.

Until the real trainer lands, lifecycle tests swap each rank's command for a tiny
Python script (a Plan is data), keeping the rest of the request as rendered.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_support import FIXED_NOW, ScriptPlan

from cloudgd.plan import Plan, RenderContext
from providers.local.provider import LocalProvider
from providers.local.rundir import RunDir


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CLOUDGD_HOME in a temp dir, so nothing lands in ~/.cloudgd."""
    path = tmp_path / "cloudgd-home"
    monkeypatch.setenv("CLOUDGD_HOME", str(path))
    monkeypatch.delenv("CLOUDGD_RUNS_DIR", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return path


@pytest.fixture
def provider(home: Path) -> Iterator[LocalProvider]:
    """A LocalProvider whose runs live under the temp home; stops whatever they left."""
    prov = LocalProvider(runs_dir=str(home / "runs"))
    yield prov
    for run_path in (home / "runs").glob("*"):
        state = RunDir(run_path).read_state() or {}
        pids = [r.get("pid") for r in state.get("ranks", [])]
        for pid in pids:
            with contextlib.suppress(OSError, TypeError):
                os.killpg(pid, signal.SIGKILL)
        sup = (state.get("supervisor") or {}).get("pid")
        with contextlib.suppress(OSError, TypeError):
            os.kill(sup, signal.SIGKILL)


@pytest.fixture
def ctx(home: Path) -> RenderContext:
    return RenderContext(now=FIXED_NOW, runs_dir=str(home / "runs"))


@pytest.fixture
def scripted(tmp_path: Path) -> ScriptPlan:
    """Replace every rank's program with ``script`` (``keep_args``: keep its arguments)."""

    def make(plan: Plan, script: str, *, keep_args: bool = False) -> Plan:
        path = tmp_path / f"script-{abs(hash(script))}.py"
        path.write_text(script)
        ranks = []
        for rank in plan.request["ranks"]:
            python, rest = rank["argv"][0], rank["argv"][1:]
            rest = rest[2:] if rest[:1] == ["-m"] else rest[1:]  # drop the program itself
            argv = [python, str(path), *(rest if keep_args else [])]
            ranks.append({**rank, "argv": argv})
        return plan.model_copy(update={"request": {**plan.request, "ranks": ranks}})

    return make
