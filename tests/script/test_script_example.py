"""examples/byo-script: a plain PyTorch script validates, plans, trains here, resumes from
CLOUDGD_CHECKPOINT_DIR after a kill in the middle, and a local study tunes its --lr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from providers.local import procs

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "byo-script" / "job.yaml"
FOUR_EPOCHS = 'script.args=["--epochs", "4", "--hidden", "16"]'


def cloudgd(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CLOUDGD_HOME": str(home), "PYTHONPATH": str(REPO)}
    env["OMP_NUM_THREADS"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "cloudgd", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_dir(home: Path) -> Path:
    (found,) = [p for p in (home / "runs").iterdir() if p.is_dir() and p.name != "studies"]
    return found


def records(run: Path) -> list[dict[str, object]]:
    path = run / "output" / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example trained once for four epochs, without interruption: its run dir."""
    home = tmp_path_factory.mktemp("home")
    done = cloudgd(home, "submit", str(EXAMPLE), "-p", "local", "--wait", "--set", FOUR_EPOCHS)
    assert done.returncode == 0, done.stderr
    return run_dir(home)


def test_the_example_validates_and_the_plan_shows_the_script(tmp_path: Path) -> None:
    assert cloudgd(tmp_path, "validate", str(EXAMPLE)).returncode == 0
    done = cloudgd(tmp_path, "plan", str(EXAMPLE), "-p", "local", "--output", "json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["summary"]["script"] == "python train.py --epochs 8 --hidden 32"
    (rank,) = plan["request"]["ranks"]
    assert rank["argv"][1:3] == ["-m", "trainers.script_launch"]
    assert plan["request"]["script"]["inputs"]["train"]["uri"] == str(EXAMPLE.parent / "data")
    assert not (tmp_path / "runs").exists()  # a plan creates nothing


@pytest.mark.slow
def test_the_example_trains_here_and_reports_its_metrics(uninterrupted: Path) -> None:
    summary = json.loads((uninterrupted / "output" / "summary.json").read_text())
    assert summary["exit_code"] == 0 and summary["runner"] == "script"
    assert [r["epoch"] for r in records(uninterrupted)] == [1, 2, 3, 4]
    losses = [float(str(r["val_loss"])) for r in records(uninterrupted)]
    assert losses[-1] < losses[0]  # it learns
    assert summary["final"]["val_loss"] == losses[-1]
    assert (uninterrupted / "model" / "model.pt").is_file()
    assert (uninterrupted / "checkpoints" / "last.pt").is_file()
    status = cloudgd(uninterrupted.parent.parent, "status", str(uninterrupted), "-o", "json")
    assert json.loads(status.stdout)["metrics"]["val_loss"] == losses[-1]


@pytest.mark.slow
def test_a_kill_in_the_middle_resumes_from_the_checkpoint_dir(
    tmp_path: Path, uninterrupted: Path
) -> None:
    slow = 'script.args=["--epochs", "4", "--hidden", "16", "--epoch-seconds", "1"]'
    done = cloudgd(tmp_path, "submit", str(EXAMPLE), "-p", "local", "--set", slow)
    assert done.returncode == 0, done.stderr
    run = run_dir(tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(records(run)) < 2:
        time.sleep(0.2)
    assert len(records(run)) in (2, 3), "the run did not reach epoch 2 in time"
    (rank,) = json.loads((run / "state.json").read_text())["ranks"]
    assert procs.signal_group(rank["pid"], signal.SIGKILL, rank["start_time"])  # a reclaim
    waited = cloudgd(tmp_path, "wait", str(run), "--timeout", "180")
    assert waited.returncode == 0, waited.stderr + waited.stdout
    log = (run / "logs" / "job.log").read_text()
    assert "restart 1 of 1" in log
    assert "resumed from" in log and "after epoch" in log
    # the resumed run ends with exactly the weights of the uninterrupted one
    final = json.loads((run / "output" / "summary.json").read_text())["final"]
    expected = json.loads((uninterrupted / "output" / "summary.json").read_text())["final"]
    assert final["val_loss"] == expected["val_loss"]
    assert [r["epoch"] for r in records(run)][-1] == 4


@pytest.mark.slow
def test_a_local_study_tunes_a_script_argument(tmp_path: Path) -> None:
    one_epoch = 'script.args=["--epochs", "1", "--hidden", "8"]'
    done = cloudgd(
        tmp_path, "tune", str(EXAMPLE), "-p", "local", "--wait", "--set", one_epoch,
        "--set", "tuning.max_trials=2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "study succeeded" in done.stderr + done.stdout
    logs = sorted((tmp_path / "runs" / "studies").glob("*/trials/*/logs/job.log"))
    assert len(logs) == 2
    for log in logs:  # each trial got its value as an argument after the script's own
        assert "train.py --epochs 1 --hidden 8 --lr " in log.read_text()
    (study,) = (tmp_path / "runs" / "studies").iterdir()
    best = json.loads((study / "best.json").read_text())
    assert set(best["params"]) == {"script.args.lr"}
    out = tmp_path / "reports"
    report = cloudgd(tmp_path, "report", f"local://{study}?kind=tuning", "--out", str(out))
    assert report.returncode == 0, report.stderr
    compared = next(out.glob("*.md")).read_text()
    assert compared.count("script --epochs 1 --hidden 8 --lr ") == 2  # each trial's arguments
