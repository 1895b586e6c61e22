"""Golden tuning requests for each cloud, byte for byte, each checked by the cloud's own
library: botocore's CreateHyperParameterTuningJob validator, Vertex's strict proto parser,
and Azure ML's load_job. Regenerate with ``CLOUDGD_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from tuning_helpers import ISSUE_SEARCH, SDIST, make_ctx, make_spec

from cloudgd.plan import Plan
from providers.aws.client import tuning_request_problems
from providers.aws.tuning import render_tuning as render_aws
from providers.azure.tuning import render_tuning as render_azure
from providers.gcp.tuning import render_tuning as render_gcp
from tests.support.golden import assert_golden

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
RANDOM_INT = {
    "metric": {"name": "val_accuracy", "goal": "maximize"},
    "parameters": {
        "trainer.epochs": {"type": "int_uniform", "min": 1, "max": 5},
        "trainer.model.dropout": {"type": "uniform", "min": 0.0, "max": 0.5},
        "trainer.optimizer.lr": {"type": "log_uniform", "min": 1e-4, "max": 1e-1},
    },
    "max_trials": 12,
    "parallel_trials": 3,
    "strategy": "random",
    "early_stopping": True,
}
GRID = {
    "parameters": {
        "trainer.batch_size": {"type": "choice", "values": [32, 64]},
        "trainer.optimizer.name": {"type": "choice", "values": ["sgd", "adamw"]},
    },
    "strategy": "grid",
    "max_trials": 10,
    "parallel_trials": 2,
}
SPOT = {
    "resources": {"accelerator": "T4:1"},
    "scaling": {"spot": True, "max_wait": "4h"},
    "limits": {"max_runtime": "2h", "max_cost_usd": 40},
}


def _render(cloud: str, tuning: dict[str, Any], **fields: Any) -> Plan:
    spec = make_spec(tuning, **fields)
    if cloud == "aws":
        return render_aws(spec, make_ctx())
    if cloud == "gcp":
        # Vertex refuses scaling.max_wait with spot (it waits for capacity without limit)
        if "scaling" in fields:
            scaling = {k: v for k, v in fields["scaling"].items() if k != "max_wait"}
            spec = make_spec(tuning, **{**fields, "scaling": scaling})
        return render_gcp(spec, make_ctx(SDIST))
    return render_azure(spec, make_ctx())


CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    f"{cloud}/tuning-{case}": (cloud, tuning, fields)
    for cloud in ("aws", "gcp", "azure")
    for case, tuning, fields in (
        ("bayesian", ISSUE_SEARCH, {}),
        ("random-spot", RANDOM_INT, SPOT),
        ("grid", GRID, {}),
    )
    # Azure ML Bayesian sweeps take no log_uniform (tested below).
    if not (cloud == "azure" and case == "bayesian")
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tuning_plan_matches_golden(case: str) -> None:
    cloud, tuning, fields = CASES[case]
    text = _render(cloud, tuning, **fields).to_json()
    path = GOLDEN / f"{case}.json"
    assert_golden(path, text)


def _golden(case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / f"{case}.json").read_text())
    return data


@pytest.mark.parametrize("case", sorted(c for c in CASES if c.startswith("aws/")))
def test_aws_golden_passes_botocore_validation(case: str) -> None:
    assert tuning_request_problems(_golden(case)["request"]) == []


@pytest.mark.parametrize("case", sorted(c for c in CASES if c.startswith("gcp/")))
def test_gcp_golden_parses_strictly(case: str) -> None:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    body = _golden(case)["request"]["hyperparameterTuningJob"]
    job = HyperparameterTuningJob.from_json(json.dumps(body), ignore_unknown_fields=False)
    assert job.max_trial_count == body["maxTrialCount"]
    again = json.loads(HyperparameterTuningJob.to_json(job))
    assert again["studySpec"]["parameters"][0]["parameterId"].startswith("trainer.")


def _without_empty(value: Any) -> Any:
    """Without empty maps, and without the name/version the SDK gives an inline
    (anonymous) environment: a hash of its content, none of ours."""
    if isinstance(value, dict):
        if value.get("name") == "CliV2AnonymousEnvironment":
            value = {k: v for k, v in value.items() if k not in ("name", "version")}
        return {k: _without_empty(v) for k, v in value.items() if v != {}}
    return value


@pytest.mark.parametrize("case", sorted(c for c in CASES if c.startswith("azure/")))
def test_azure_golden_round_trips_through_load_job(case: str) -> None:
    from azure.ai.ml import load_job

    document = _golden(case)["request"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job = load_job(io.StringIO(yaml.safe_dump(document)))
    dumped = _without_empty(json.loads(json.dumps(job._to_dict())))
    assert dumped == {k: v for k, v in document.items() if k != "$schema"}
    assert type(job).__name__ == "SweepJob"


def test_aws_objective_is_one_of_the_trainers_metric_definitions() -> None:
    request = _golden("aws/tuning-bayesian")["request"]
    objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    names = [
        m["Name"]
        for m in request["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"]
    ]
    assert objective == {"MetricName": "val_loss", "Type": "Minimize"}
    assert "val_loss" in names


def test_spot_settings_are_carried_into_every_trial_definition() -> None:
    definition = _golden("aws/tuning-random-spot")["request"]["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] is True
    assert "CheckpointConfig" in definition
    stopping = definition["StoppingCondition"]
    assert stopping["MaxWaitTimeInSeconds"] >= stopping["MaxRuntimeInSeconds"]


def test_the_study_budget_caps_each_trial_at_its_share() -> None:
    single = make_spec(RANDOM_INT, **SPOT)
    whole = _render("aws", RANDOM_INT, **SPOT)
    per_trial = whole.request["TrainingJobDefinition"]["StoppingCondition"]["MaxRuntimeInSeconds"]
    # 12 trials share $40: each may spend at most $40/12 at the T4 spot price.
    price = whole.summary["spot_price_per_hour"] or whole.summary["price_per_hour"]
    assert per_trial * price / 3600 <= 40 / 12 + 1e-9
    assert per_trial <= single.limits.max_runtime


def test_vertex_trials_report_the_objective_through_hypertune() -> None:
    body = _golden("gcp/tuning-bayesian")["request"]["hyperparameterTuningJob"]
    env = body["trialJobSpec"]["workerPoolSpecs"][0]["pythonPackageSpec"]["env"]
    assert {"name": "CLOUDGD_HP_METRIC", "value": "val_loss"} in env
    assert body["studySpec"]["metrics"] == [{"metricId": "val_loss", "goal": "MINIMIZE"}]


def test_azure_loguniform_bounds_are_natural_logs() -> None:
    space = _golden("azure/tuning-random-spot")["request"]["search_space"]
    lr = space["trainer_optimizer_lr"]
    assert lr["type"] == "loguniform"
    assert lr["min_value"] == pytest.approx(-9.2103, abs=1e-4)


def test_azure_bayesian_refuses_log_uniform_naming_the_path() -> None:
    from cloudgd.errors import SpecError

    with pytest.raises(SpecError, match=r"tuning.parameters\['trainer.optimizer.lr'\]"):
        _render("azure", ISSUE_SEARCH)
