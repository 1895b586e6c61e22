"""Helpers shared by the local provider tests (specs, waiting)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from cloudgd.plan import JobHandle, JobStatus, Plan
from cloudgd.spec import JobSpec
from providers.local.provider import LocalProvider

SPECS = Path(__file__).parent / "specs"
FIXED_NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

# scripted(plan, script, keep_args=False) -> Plan: see conftest
ScriptPlan = Callable[..., Plan]


def load_spec(file: str = "digits.yaml", **updates: Any) -> JobSpec:
    """A spec from specs/, with top-level sections merged from ``updates``."""
    data = yaml.safe_load((SPECS / file).read_text())
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return JobSpec.model_validate(data)


def wait_done(provider: LocalProvider, status: JobStatus, timeout: float = 60) -> JobStatus:
    """Wait for a submitted job to end (the timeout only bounds a broken run)."""
    final = provider.wait(JobHandle.parse(status.handle), timeout=timeout, poll=0.1)
    assert final.state.terminal, f"job still {final.state} after {timeout}s: {final.message}"
    return final


def text_of(path: Path) -> str:
    """A file's text, or '' while it does not exist yet."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def bounded_until(check: Callable[[], bool], limit: float = 20.0) -> bool:
    """Poll ``check`` until true; the limit only bounds a broken run."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return bool(check())
