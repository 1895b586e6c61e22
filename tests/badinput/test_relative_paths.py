"""A relative ``code:`` or ``trainer.data.uri`` means "beside the job file", wherever cloudgd runs.

The trap: a ``./code`` (or ``data.csv``) in the current directory, too; the job must
still train with the files next to its job file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from providers.local.staging import resolve
from tests.badinput.conftest import Invoke

JOB = """\
name: rel-paths
code: ./code
trainer:
  model: {kind: custom, entrypoint: "net:build"}
  data: {source: csv, uri: data/train.csv, target: y}
"""


def project(root: Path, marker: str) -> Path:
    (root / "code").mkdir(parents=True)
    (root / "code" / "net.py").write_text(f"# {marker}\n")
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("x,y\n1,0\n2,1\n")
    return root


@pytest.fixture
def job_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The job file in ``project/``, run from ``elsewhere/`` that has its own code and data."""
    job_dir = project(tmp_path / "project", "the job's code")
    project(tmp_path / "elsewhere", "other code")
    (job_dir / "job.yaml").write_text(JOB)
    monkeypatch.chdir(tmp_path / "elsewhere")
    return job_dir.resolve()


def local_request(invoke: Invoke, job: Path) -> dict[str, object]:
    result = invoke("--output", "json", "plan", str(job), "--provider", "local")
    assert result.exit_code == 0, result.output
    request: dict[str, object] = json.loads(result.stdout)["request"]
    return request


def test_local_plan_resolves_code_and_data_from_the_job_files_directory(
    invoke: Invoke, job_elsewhere: Path
) -> None:
    request = local_request(invoke, job_elsewhere / "job.yaml")
    assert request["code_dir"] == str(job_elsewhere / "code")
    data = request["data"]
    assert isinstance(data, dict)
    assert data["uri"] == str(job_elsewhere / "data" / "train.csv")
    # What submit stages is what the plan names, not the current directory's copies.
    resolved = resolve(request, {})
    assert resolved.code_dir == job_elsewhere / "code"
    assert resolved.data == job_elsewhere / "data" / "train.csv"


def test_a_relative_job_path_works_the_same(
    invoke: Invoke, job_elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(job_elsewhere.parent / "elsewhere")
    request = local_request(invoke, Path("..") / "project" / "job.yaml")
    assert request["code_dir"] == str(job_elsewhere / "code")


def test_a_plan_carries_the_job_files_directory(invoke: Invoke, job_elsewhere: Path) -> None:
    # Every provider ships loaded.code_dir (resolved from the job file); the local one
    # used to hand the raw relative path to submit, which resolved it from the cwd.
    from cloudgd import runner

    planned = runner.plan(str(job_elsewhere / "job.yaml"), "local")
    assert planned.ctx.spec_dir == str(job_elsewhere)
    assert planned.loaded.code_dir == job_elsewhere / "code"
    assert planned.plan.request["code_dir"] == str(job_elsewhere / "code")
