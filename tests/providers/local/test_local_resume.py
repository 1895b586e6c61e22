"""A crashed local job resumes from its checkpoints: ``cloudgd submit --resume``.

The rank is killed mid-training (after a checkpoint), the job ends FAILED; the
same submit with ``--resume`` starts it again in the same run directory and the
trainer picks up its latest checkpoint instead of starting over.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from local_support import bounded_until

from cloudgd.cli.main import cli
from providers.local.rundir import RunDir

JOB = {
    "name": "resume-me",
    "trainer": {
        "model": {"kind": "mlp", "hidden": [32]},
        "data": {"source": "digits"},
        "epochs": 40,
        "batch_size": 32,
        "seed": 0,
        "checkpoint": {"every_steps": 10},
    },
    "resources": {"accelerator": "none"},
    "env": {"OMP_NUM_THREADS": "1"},
}


def cloudgd(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_a_killed_job_resumes_from_its_checkpoint_with_submit_resume(
    tmp_path: Path, home: Path
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(JOB))
    code, out, err = cloudgd("-o", "json", "submit", str(job), "-p", "local")
    assert code == 0, err
    handle = json.loads(out)["handle"]
    run = RunDir(handle.removeprefix("local://"))
    assert bounded_until(lambda: any(run.path.rglob("*.pt")), 120), run.job_log.read_text()
    rank = (run.read_state() or {})["ranks"][0]
    os.killpg(rank["pid"], signal.SIGKILL)  # a crash in the middle of training
    code, _, _ = cloudgd("wait", handle)
    assert code == 4  # FAILED

    code, _, err = cloudgd("submit", str(job), "-p", "local")  # plain resubmit: a hint only
    assert code == 0 and "add --resume" in err
    code, out, err = cloudgd("-o", "json", "submit", str(job), "-p", "local", "--resume", "--wait")

    assert code == 0, err
    assert json.loads(out)["state"] == "SUCCEEDED"
    log = run.job_log.read_text()
    assert "resumed from" in log and "at step" in log
    state = run.read_state() or {}
    assert state["resumes"] == 1 and state["state"] == "succeeded"


def test_resume_is_refused_for_cloud_providers(tmp_path: Path) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(JOB))
    code, _, err = cloudgd("submit", str(job), "-p", "aws", "--backend", "moto", "--resume")
    assert code == 2 and "--resume restarts local runs" in err
