"""CI gates on a script job's own metrics, from its handle alone: a pipeline submits in one
step and runs ``cloudgd wait HANDLE --min-metric val_acc=0.9`` in a later one. Each step
is a fresh ``python -m cloudgd`` process, as in CI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.script.conftest import MakeJob
from tests.script.test_script_example import cloudgd, run_dir

JOB = """\
name: scored
code: .
script:
  entry_point: train.py
  metrics: {regex: {val_acc: 'val_acc=([0-9.]+)'}}
"""
SCRIPT = "print('epoch=1 val_acc=0.5')\nprint('epoch=2 val_acc=0.91')\n"
MISSPELT = (
    "cloudgd: error: --min-metric val_ac: script.metrics collects no such metric; "
    "did you mean 'val_acc'?"
)


def test_wait_gates_a_local_script_job_on_the_metric_its_regex_collects(
    tmp_path: Path, make_job: MakeJob
) -> None:
    home = tmp_path / "home"
    submitted = cloudgd(home, "submit", str(make_job(JOB, script=SCRIPT)), "-p", "local")
    assert submitted.returncode == 0, submitted.stderr
    handle = submitted.stdout.strip()

    passed = cloudgd(home, "wait", handle, "--min-metric", "val_acc=0.9")
    assert passed.returncode == 0, passed.stderr
    assert "gate passed: val_acc=0.91 is at least 0.9 (--min-metric val_acc=0.9)" in passed.stderr
    missed = cloudgd(home, "wait", handle, "--min-metric", "val_acc=0.95")
    assert missed.returncode == 4
    assert "val_acc=0.91 is below 0.95" in missed.stderr
    misspelt = cloudgd(home, "wait", handle, "--min-metric", "val_ac=0.9")
    assert misspelt.returncode == 2
    assert misspelt.stderr.splitlines()[0] == MISSPELT


def test_the_run_itself_says_what_it_reports_when_this_home_has_no_record(
    tmp_path: Path, make_job: MakeJob
) -> None:
    """Another CLOUDGD_HOME (another CI step's cache) can still gate a run by its
    directory: the run's plan.json holds its script.metrics, also behind a cloud
    rehearsal's handle (``run=``)."""
    home = tmp_path / "home"
    done = cloudgd(home, "submit", str(make_job(JOB, script=SCRIPT)), "-p", "local", "--wait")
    assert done.returncode == 0, done.stderr
    run = run_dir(home)
    shutil.rmtree(home / "jobs")

    misspelt = cloudgd(home, "wait", str(run), "--min-metric", "val_ac=0.9")
    assert misspelt.returncode == 2
    assert misspelt.stderr.splitlines()[0] == MISSPELT
    rehearsal = f"aws://us-east-1/{run.name}?backend=moto&run={run}"
    misspelt = cloudgd(home, "wait", rehearsal, "--min-metric", "val_ac=0.9")
    assert misspelt.returncode == 2, misspelt.stderr
    assert misspelt.stderr.splitlines()[0] == MISSPELT
    passed = cloudgd(home, "-o", "json", "wait", rehearsal, "--min-metric", "val_acc=0.9")
    assert passed.returncode == 0, passed.stderr
    assert json.loads(passed.stdout)["passed"] is True
    assert "no record" not in passed.stderr


def test_a_directory_cloudgd_did_not_create_is_not_read_for_its_metric_names(
    tmp_path: Path,
) -> None:
    planted = tmp_path / "planted"
    planted.mkdir()
    request = {"script": {"config": {"metrics": {"regex": {"f1": "f1=(.*)"}}}}}
    (planted / "plan.json").write_text(json.dumps({"request": request}))
    done = cloudgd(tmp_path / "home", "wait", str(planted), "--min-metric", "f1=0.5")
    assert done.returncode == 2
    assert "not a run directory created by cloudgd" in done.stderr
