"""Local studies: Optuna runs real trainer trials through the local provider.

Tiny trials (digits, 300 rows, a 16-unit MLP) keep a 3-trial study well under a minute
on two cores; the CLI is exercised in a separate process, as users run it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from tuning_helpers import NOW

from cloudgd.plan import JobHandle, JobState
from cloudgd.spec import JobSpec
from cloudgd.tuning.follow import TuningFollower
from providers.local.provider import LocalProvider
from providers.local.tuning_jobs import LocalStudy, study_handle

REPO = Path(__file__).resolve().parents[2]
TINY_TRAINER: dict[str, Any] = {
    "epochs": 2,
    "model": {"hidden": [16]},
    "data": {"limit": 300},
    "num_threads": 1,
}
SEARCH: dict[str, Any] = {
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {
        "trainer.optimizer.lr": {"type": "log_uniform", "min": 1e-3, "max": 1e-1},
        "trainer.batch_size": {"type": "choice", "values": [32, 64]},
    },
    "max_trials": 3,
    "parallel_trials": 2,
    "strategy": "random",
}


def _job_file(tmp_path: Path, trainer: dict[str, Any], search: dict[str, Any]) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump({"name": "digits", "trainer": trainer, "tuning": search}))
    return path


@pytest.mark.slow
def test_cloudgd_tune_local_runs_the_study_and_ends_with_the_best_trial(tmp_path: Path) -> None:
    job = _job_file(tmp_path, TINY_TRAINER, SEARCH)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    tune = [sys.executable, "-m", "cloudgd", "tune", str(job), "-p", "local"]
    done = subprocess.run(
        [*tune, "--max-metric", "val_loss=100"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert done.returncode == 0, done.stderr
    assert "trial 0 started" in done.stderr and "study succeeded" in done.stderr
    assert "gate passed: val_loss=" in done.stderr  # the best trial's value, gated
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("best trial ") and "val_loss=" in lines[0]
    handle = JobHandle.parse(lines[-1])
    study = Path(handle.parts[0])
    rows = list(csv.DictReader((study / "results.csv").open()))
    assert [r["trial"] for r in rows] == ["0", "1", "2"]
    assert all(r["state"] == "SUCCEEDED" for r in rows)
    best = json.loads((study / "best.json").read_text())
    assert float(best["value"]) == min(float(r["value"]) for r in rows)
    assert set(best["params"]) == {"trainer.optimizer.lr", "trainer.batch_size"}

    # status through the CLI's handle machinery: the study, with per-trial status
    follower = TuningFollower(LocalProvider())
    status = follower.status(handle)
    assert status.state is JobState.SUCCEEDED
    assert status.metrics == {"val_loss": best["value"]}
    assert [t["state"] for t in status.extra["trials"]] == ["SUCCEEDED"] * 3
    # every trial is an ordinary local run that ran the tuned trainer config
    first = status.extra["trials"][0]
    trial_plan = json.loads(
        (Path(JobHandle.parse(first["handle"]).parts[0]) / "plan.json").read_text()
    )
    assert (
        trial_plan["request"]["config"]["optimizer"]["lr"]
        == first["params"]["trainer.optimizer.lr"]
    )
    assert any("best: trial" in line for line in follower.logs(handle))

    # `cloudgd list` shows the study (not its trials) with the handle that follows it
    listed = subprocess.run(
        [sys.executable, "-m", "cloudgd", "-o", "json", "list", "-p", "local"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    studies = [j for j in json.loads(listed.stdout)["jobs"] if j["extra"].get("kind") == "tuning"]
    assert [s["handle"] for s in studies] == [str(handle)]

    # `cloudgd report` on the study compares its finished trials, the best one first
    from click.testing import CliRunner

    from cloudgd.cli.main import cli

    reported = CliRunner().invoke(cli, ["report", str(handle), "--out", str(tmp_path / "rep")])
    assert reported.exit_code == 0, reported.stderr
    assert "comparing its 3 best finished trial(s)" in reported.stderr

    def run_name(trial: dict[str, Any]) -> str:
        return Path(JobHandle.parse(trial["handle"]).parts[0]).name

    markdown = (tmp_path / "rep" / f"{Path(handle.job).name}.md").read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| |"))
    [best_trial] = [t for t in status.extra["trials"] if t["number"] == best["trial"]]
    assert header.split("|")[2].strip() == f"`{run_name(best_trial)}`"  # first column

    # and for people: `cloudgd status` ends with one row per trial, the best one starred
    shown = subprocess.run(
        [sys.executable, "-m", "cloudgd", "status", str(handle)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    lines = [" ".join(line.split()) for line in shown.stdout.splitlines()]
    assert "trials 3 SUCCEEDED" in lines
    assert any(line.startswith(f"best #{best['trial']}: {best['value']:.6g} ") for line in lines)
    rows = [line.split() for line in lines if line.startswith("#")]
    assert [row[0] for row in rows] == ["#0", "#1", "#2"]
    assert [row[0] for row in rows if row[1] == "*"] == [f"#{best['trial']}"]


def _wait_for(predicate: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached")


@pytest.mark.slow
def test_cancelling_a_study_stops_its_running_trial_and_launches_no_more(tmp_path: Path) -> None:
    long_trainer = {**TINY_TRAINER, "epochs": 400}
    spec = JobSpec.model_validate(
        {
            "name": "digits",
            "trainer": long_trainer,
            "tuning": {**SEARCH, "max_trials": 4, "parallel_trials": 1},
        }
    )
    study_dir = tmp_path / "studies" / "digits-cancel"
    study = LocalStudy(spec, study_dir, name="digits-cancel", now=NOW)
    outcome: dict[str, Any] = {}
    driver = threading.Thread(target=lambda: outcome.setdefault("status", study.run()))
    driver.start()
    handle = JobHandle.parse(study_handle(study_dir))
    follower = TuningFollower(LocalProvider())
    _wait_for(
        lambda: (
            (study_dir / "study.json").exists()
            and any(t.get("state") == "RUNNING" for t in follower.status(handle).extra["trials"])
        ),
        60,
    )

    cancelled = follower.cancel(handle)
    driver.join(60)
    assert not driver.is_alive()
    assert cancelled.state is JobState.CANCELLED
    trials = cancelled.extra["trials"]
    assert len(trials) == 1 and trials[0]["state"] == "CANCELLED"
    run = LocalProvider().status(JobHandle.parse(trials[0]["handle"]))
    assert run.state is JobState.CANCELLED
    # cancelling again changes nothing
    assert follower.cancel(handle).state is JobState.CANCELLED
