"""Metric gates, the result's cost, and the Markdown appended to $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloudgd.ci.gates import MetricGate, check_gates, parse_gates
from cloudgd.ci.result import build_result, headline_metrics, ran_seconds
from cloudgd.ci.summary import append_step_summary, render_summary
from cloudgd.cost.estimate import estimate_for_spec
from cloudgd.errors import UsageError
from cloudgd.plan import JobState, JobStatus
from cloudgd.spec import JobSpec
from tests.support.golden import assert_golden

GOLDEN = Path(__file__).parent / "golden"
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def finished(state: JobState = JobState.SUCCEEDED, **metrics: float) -> JobStatus:
    return JobStatus(
        handle="aws://us-east-1/digits-1a2b3c4d",
        name="digits-1a2b3c4d",
        state=state,
        started_at=START,
        ended_at=START + timedelta(minutes=30),
        metrics=metrics,
        console_url="https://console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/x",
    )


def test_min_and_max_gates() -> None:
    gates = parse_gates(["val_accuracy=0.95"], ["val_loss=0.3"])
    assert [g.flag for g in gates] == [
        "--min-metric val_accuracy=0.95",
        "--max-metric val_loss=0.3",
    ]
    good = check_gates(gates, {"val_accuracy": 0.97, "val_loss": 0.2})
    assert [r.passed for r in good] == [True, True]
    assert good[0].line() == "val_accuracy=0.97 is at least 0.95 (--min-metric val_accuracy=0.95)"
    bad = check_gates(gates, {"val_accuracy": 0.91, "val_loss": 0.45})
    assert [r.passed for r in bad] == [False, False]
    assert bad[0].line() == "val_accuracy=0.91 is below 0.95 (--min-metric val_accuracy=0.95)"
    assert bad[1].line() == "val_loss=0.45 is above 0.3 (--max-metric val_loss=0.3)"


def test_a_threshold_met_exactly_passes() -> None:
    gate = MetricGate.parse("val_accuracy=0.95", "min")
    assert gate.check({"val_accuracy": 0.95}).passed


def test_a_metric_the_job_did_not_report_fails_its_gate() -> None:
    [result] = check_gates(parse_gates(["val_acc=0.9"], []), {"val_accuracy": 0.99})
    assert not result.passed and result.value is None
    assert result.line(["val_accuracy", "val_loss"]) == (
        "--min-metric val_acc=0.9: the job reported no val_acc "
        "(it reported: val_accuracy, val_loss)"
    )
    [nan] = check_gates(parse_gates([], ["val_loss=1"]), {"val_loss": float("nan")})
    assert not nan.passed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("val_accuracy", "--min-metric 'val_accuracy': expected NAME=VALUE"),
        ("=0.9", "--min-metric '=0.9': expected NAME=VALUE"),
        ("val_accuracy=high", "--min-metric 'val_accuracy=high': 'high' is not a number"),
        ("val_accuracy=nan", "--min-metric 'val_accuracy=nan': the threshold must be a finite "
         "number"),
    ],
)  # fmt: skip
def test_malformed_gates_name_the_flag(text: str, message: str) -> None:
    with pytest.raises(UsageError) as error:
        MetricGate.parse(text, "min")
    assert error.value.message == message
    assert error.value.exit_code == 2


def test_cost_of_the_run_is_price_per_hour_times_hours_billed() -> None:
    spec = JobSpec.model_validate(
        {"name": "digits", "trainer": {"data": {"source": "digits"}},
         "resources": {"accelerator": "T4:1", "region": "us-east-1"}}
    )  # fmt: skip
    estimate = estimate_for_spec(spec, "aws")
    result = build_result(finished(val_accuracy=0.97), provider="aws", estimate=estimate)
    assert result.cost is not None and result.cost.per_hour == estimate.on_demand.per_hour
    assert result.duration_seconds == 1800.0
    assert result.cost.this_run == pytest.approx(estimate.on_demand.per_hour * 0.5)
    billed = finished().model_copy(update={"billable_seconds": 600})
    assert ran_seconds(billed) == 600.0


def test_spot_jobs_are_priced_at_the_spot_rate() -> None:
    spec = JobSpec.model_validate(
        {"name": "digits", "trainer": {"data": {"source": "digits"}},
         "resources": {"accelerator": "T4:1", "region": "us-west-2"},
         "scaling": {"spot": True, "max_wait": "2h"}, "limits": {"max_runtime": "1h"}}
    )  # fmt: skip
    estimate = estimate_for_spec(spec, "aws")
    assert estimate.spot.per_hour is not None
    result = build_result(finished(), provider="aws", estimate=estimate)
    assert result.cost is not None and result.cost.capacity == "spot"
    assert result.cost.per_hour == estimate.spot.per_hour


def test_headline_metrics_leave_out_bookkeeping() -> None:
    metrics = {"val_accuracy": 0.9, "val_loss": 0.3, "loss": 0.2, "seed": 0.0, "steps": 69.0}
    assert headline_metrics(metrics) == {"val_accuracy": 0.9, "val_loss": 0.3, "loss": 0.2}
    assert headline_metrics({"steps": 3.0}) == {"steps": 3.0}


def test_the_step_summary_shows_job_state_metrics_cost_link_and_gates() -> None:
    gates = check_gates(parse_gates(["val_accuracy=0.95"], []), {"val_accuracy": 0.91})
    result = build_result(
        finished(val_accuracy=0.91, val_loss=0.33, seed=0.0),
        provider="aws",
        gates=gates,
        ci_run_url="https://github.com/acme/models/actions/runs/9/attempts/1",
    )
    golden = GOLDEN / "step-summary.md"
    text = render_summary(result)
    assert_golden(golden, text)


def test_table_cells_cannot_break_the_table() -> None:
    status = finished(JobState.FAILED).model_copy(update={"message": "bad | input\nline 2"})
    text = render_summary(build_result(status, provider="aws"))
    assert "| state | FAILED: bad \\| input line 2 |" in text


def test_the_summary_is_appended_only_when_github_asks_for_it(tmp_path: Path) -> None:
    result = build_result(finished(val_accuracy=0.97), provider="aws")
    assert append_step_summary(result, {}) is None
    target = tmp_path / "step-summary.md"
    target.write_text("earlier step\n", encoding="utf-8")
    assert append_step_summary(result, {"GITHUB_STEP_SUMMARY": str(target)}) == target
    append_step_summary(result, {"GITHUB_STEP_SUMMARY": str(target)})
    text = target.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n### ✅ cloudgd: digits-1a2b3c4d SUCCEEDED")
    assert text.count("### ✅ cloudgd:") == 2
