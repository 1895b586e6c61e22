"""Fixtures for the script-job suites: a private CLOUDGD_HOME, an in-process CLI, and a
job directory holding a tiny script."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli_home import Invoke, invoke_cli, private_home

MakeJob = Callable[..., Path]

TINY_SCRIPT = """\
import os, sys
print("args:", " ".join(sys.argv[1:]))
for name in sorted(os.environ):
    if name.startswith("CLOUDGD_"):
        print(f"env {name}={os.environ[name]}")
print("epoch=1 val_loss=0.5")
print("epoch=2 val_loss=0.25")
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CLOUDGD_HOME in a temp dir, so nothing lands in ~/.cloudgd."""
    path = private_home(tmp_path, monkeypatch)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return path


@pytest.fixture
def invoke() -> Invoke:
    """Run ``cloudgd ARGS...`` in-process; stdout and stderr come back separately."""
    return invoke_cli


@pytest.fixture
def make_job(tmp_path: Path) -> MakeJob:
    """Write ``job/train.py``, an empty ``job/data/`` and ``job/job.yaml`` (the given YAML
    body); the job file."""

    def make(body: str, *, script: str = TINY_SCRIPT, files: dict[str, str] | None = None) -> Path:
        root = tmp_path / "job"
        (root / "data").mkdir(parents=True, exist_ok=True)
        (root / "train.py").write_text(script)
        for name, text in (files or {}).items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        job = root / "job.yaml"
        job.write_text(body)
        return job

    return make
