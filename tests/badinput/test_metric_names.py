"""Metric names are checked before a job runs: a misspelt one can only fail after training."""

from __future__ import annotations

from pathlib import Path

from cloudgd.tuning.spec import TUNABLE_METRICS
from tests.badinput.conftest import Invoke
from trainers.config import REPORTED_METRICS

DIGITS = str(Path(__file__).resolve().parents[2] / "examples" / "digits.yaml")


def test_a_misspelt_gate_metric_is_refused_before_submitting(invoke: Invoke, home: Path) -> None:
    result = invoke("submit", DIGITS, "-p", "local", "--wait", "--min-metric", "val_acc=0.9")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "cloudgd: error: --min-metric val_acc: the trainer reports no such metric; "
        "did you mean 'val_accuracy'?"
    )
    assert "val_loss, val_accuracy, val_mse, val_r2" in result.stderr
    assert not (home / "runs").exists()  # nothing was started


def test_wait_refuses_a_gate_name_no_job_could_report_before_opening_the_handle(
    invoke: Invoke,
) -> None:
    result = invoke("wait", "local:///nowhere/run", "--max-metric", "accu\x1bracy=0.1")
    assert result.exit_code == 2
    assert "the name contains a control character" in result.stderr


def test_wait_checks_a_gate_name_against_the_job_the_handle_names(invoke: Invoke) -> None:
    # Which names are known depends on the job (a script reports its own): here there is
    # no such run, and that is what the user hears (tests/ci/test_gates_from_a_handle.py).
    result = invoke("wait", "local:///nowhere/run", "--max-metric", "accuracy=0.1")
    assert result.exit_code == 3
    assert "no local run at /nowhere/run" in result.stderr


def test_tuning_objectives_are_the_metrics_the_trainer_reports() -> None:
    assert set(TUNABLE_METRICS) == set(REPORTED_METRICS)


def test_gates_on_run_numbers_of_the_summary_are_allowed(invoke: Invoke) -> None:
    # --max-metric bad_steps=0 is a fair CI gate; the dry run stops before anything runs.
    result = invoke("submit", DIGITS, "-p", "local", "--dry-run", "--max-metric", "bad_steps=0")
    assert result.exit_code == 0, result.stderr
