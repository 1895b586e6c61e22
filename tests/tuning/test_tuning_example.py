"""examples/digits-tune.yaml: one tuning spec that plans on every cloud and prices as a study."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloudgd.cli.main import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits-tune.yaml"
OPERATIONS = {
    ("aws", "moto"): "sagemaker:CreateHyperParameterTuningJob",
    ("gcp", "fake"): "aiplatform:CreateHyperparameterTuningJob",
    ("azure", "fake"): "azureml:JobsCreateOrUpdate",
}


@pytest.mark.parametrize(("provider", "backend"), sorted(OPERATIONS))
def test_the_example_plans_a_study_on_every_cloud(provider: str, backend: str) -> None:
    result = CliRunner().invoke(
        cli,
        ["-o", "json", "tune", str(EXAMPLE), "-p", provider, "--backend", backend, "--dry-run"],
    )
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)["plan"]
    assert plan["operation"] == OPERATIONS[(provider, backend)]
    assert plan["handle"].endswith("?kind=tuning")
    assert plan["summary"]["trials"] == 8
    assert plan["summary"]["parameters"] == [
        "trainer.batch_size",
        "trainer.model.dropout",
        "trainer.optimizer.lr",
    ]


def test_the_example_plans_a_local_study_and_prices_the_whole_study() -> None:
    local = CliRunner().invoke(cli, ["tune", str(EXAMPLE), "-p", "local", "--dry-run"])
    assert local.exit_code == 0, local.stderr
    assert "dry run: 8 local trials, " in local.stderr  # at once: min(2, CPUs)
    cost = CliRunner().invoke(cli, ["cost", str(EXAMPLE)])
    assert cost.exit_code == 0, cost.stderr
    # ml.m5.xlarge at the $0.23/h SageMaker training rate × 15 min = $0.0575 a trial
    assert "tuning on aws us-east-1: 8 trials × worst $0.06 = $0.46" in cost.stderr
