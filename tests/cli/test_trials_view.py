"""How a tuning job's trials read in `cloudgd status`: one row per trial, whichever cloud."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from cloudgd.cli.output import render_status
from cloudgd.cli.trials_view import MAX_ROWS
from cloudgd.plan import JobState, JobStatus


def _shown(extra: dict[str, object], metrics: dict[str, float] | None = None) -> list[str]:
    """The status as printed, one entry per line with runs of spaces folded to one."""
    buffer = io.StringIO()
    status = JobStatus(
        handle="aws://us-east-1/digits-1?kind=tuning",
        name="digits-1",
        state=JobState.RUNNING,
        raw_state="InProgress",
        created_at=datetime(2026, 12, 7, tzinfo=UTC),
        metrics=metrics or {},
        extra={"kind": "tuning", **extra},
    )
    render_status(Console(file=buffer, width=200, highlight=False), status)
    return [" ".join(line.split()) for line in buffer.getvalue().splitlines()]


def test_a_sagemaker_study_shows_counts_best_and_each_trials_parameters() -> None:
    text = _shown(
        {
            # SageMaker counts every status; the zeros are not worth a word
            "trial_counts": {"Completed": 1, "InProgress": 1, "Stopped": 0, "NonRetryableError": 0},
            "best": {"name": "digits-1-001", "params": {"lr": "0.01"}, "value": 0.25},
            "trials": [
                {
                    "name": "digits-1-001",
                    "state": "Completed",
                    "params": {"lr": "0.01"},
                    "value": 0.25,
                },
                {"name": "digits-1-002", "state": "InProgress", "params": {"lr": "0.003"}},
            ],
        },
        metrics={"val_loss": 0.25},
    )
    assert "trials 1 Completed, 1 InProgress" in text
    assert "best digits-1-001: 0.25 lr=0.01" in text
    assert "digits-1-001 * Completed 0.25 lr=0.01" in text
    assert "digits-1-002 InProgress - lr=0.003" in text


def test_an_azure_sweep_shows_trial_states_and_where_the_values_are() -> None:
    text = _shown(
        {
            "trial_counts": {"RUNNING": 2},
            "best": {},
            "trials": [
                {"name": "s_0", "state": "RUNNING", "params": None, "value": None},
                {"name": "s_1", "state": "RUNNING", "params": None, "value": None},
            ],
            "note": "each trial's values are in its MLflow run",
        }
    )
    assert not any(line.startswith("best") for line in text)  # none before one exists
    assert "s_0 RUNNING - -" in text
    assert "each trial's values are in its MLflow run" in text


def test_a_long_study_shows_its_newest_trials_and_says_how_many_are_hidden() -> None:
    trials = [{"number": n, "state": "SUCCEEDED", "value": n / 10} for n in range(MAX_ROWS + 5)]
    text = _shown({"trial_counts": {"SUCCEEDED": len(trials)}, "best": {}, "trials": trials})
    labels = [line.split()[0] for line in text if line.startswith("#")]
    assert labels == [f"#{n}" for n in range(5, MAX_ROWS + 5)]
    assert "(5 earlier trials: --output json lists every trial)" in text


def test_a_study_with_no_trials_yet_says_so() -> None:
    assert "trials none yet" in _shown({"trial_counts": {}, "best": {}, "trials": []})


def test_one_vertex_trial_shows_its_study_and_values() -> None:
    buffer = io.StringIO()
    status = JobStatus(
        handle="gcp://p/us-central1/123?kind=tuning&trial=2",
        name="digits-trial-2",
        state=JobState.SUCCEEDED,
        metrics={"val_loss": 0.31},
        extra={
            "kind": "trial",
            "study": "gcp://p/us-central1/123?kind=tuning",
            "params": {"trainer.optimizer.lr": 0.0123456, "trainer.batch_size": 64},
        },
    )
    render_status(Console(file=buffer, width=200, highlight=False), status)
    lines = [" ".join(line.split()) for line in buffer.getvalue().splitlines()]
    assert "study gcp://p/us-central1/123?kind=tuning" in lines
    assert "parameters trainer.batch_size=64, trainer.optimizer.lr=0.01235" in lines
    assert "metric val_loss 0.31" in lines
