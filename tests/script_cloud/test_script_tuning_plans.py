"""Tuning a script argument on each cloud: the trial's value reaches the script as
``--<name> VALUE`` (SageMaker hyperparameters, Vertex's ``--<parameterId>=VALUE``, the
Azure ML sweep's command), and the objective is one of the script's collected metrics.
Golden requests in tests/golden/<cloud>/script_tuning.json, each checked by the cloud's
own library (regenerate with ``CLOUDGD_UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudgd.errors import SpecError
from cloudgd.plan import Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.aws.client import tuning_request_problems
from providers.aws.tuning import render_tuning as render_aws
from providers.azure.tuning import render_tuning as render_azure
from providers.gcp.tuning import render_tuning as render_gcp
from tests.support.golden import assert_golden
from tests.tuning.tuning_helpers import NOW, PROVIDERS, SDIST, TAR

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
INPUTS = {
    "aws": "s3://cloudgd-data/byo/train/",
    "gcp": "gs://cloudgd-data/byo/train/",
    "azure": "azureml://datastores/workspaceblobstore/paths/byo/train/",
}
TUNING = {
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {
        "script.args.lr": {"type": "log_uniform", "min": 1e-3, "max": 1e-1},
        "script.args.hidden": {"type": "choice", "values": [16, 32]},
    },
    "max_trials": 4,
    "parallel_trials": 2,
    "strategy": "random",
}


def spec(cloud: str, **fields: Any) -> JobSpec:
    """examples/byo-script's job (its data on ``cloud``) tuning two of its arguments."""
    doc: dict[str, Any] = {
        "name": "byo-script",
        "code": ".",
        "script": {
            "entry_point": "train.py",
            "args": ["--epochs", "8", "--hidden", "32"],
            "requirements": "requirements.txt",
            "inputs": {"train": INPUTS[cloud]},
            "metrics": {"regex": {"epoch": r"epoch=(\d+)", "val_loss": "val_loss=([-+0-9.eE]+)"}},
        },
        "providers": PROVIDERS,
        "tuning": TUNING,
    }
    doc.update(fields)
    return JobSpec.model_validate(doc)


def ctx(fmt: str) -> RenderContext:
    """The tuning tests' bundle, declaring the script's requirement."""
    bundle = SDIST if fmt == "sdist" else TAR
    return RenderContext(now=NOW, bundle=bundle.model_copy(update={"requires": ["numpy>=1.26"]}))


def render(cloud: str, **fields: Any) -> Plan:
    if cloud == "aws":
        return render_aws(spec(cloud, **fields), ctx("tar.gz"))
    if cloud == "gcp":
        return render_gcp(spec(cloud, **fields), ctx("sdist"))
    return render_azure(spec(cloud, **fields), ctx("tar.gz"))


def golden(cloud: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / cloud / "script_tuning.json").read_text())
    return data


@pytest.mark.parametrize("cloud", sorted(INPUTS))
def test_script_tuning_plan_matches_golden(cloud: str) -> None:
    path = GOLDEN / cloud / "script_tuning.json"
    text = render(cloud).to_json()
    assert_golden(path, text)


def test_sagemaker_tunes_hyperparameters_named_as_the_scripts_arguments() -> None:
    request = golden("aws")["request"]
    assert tuning_request_problems(request) == []
    ranges = request["HyperParameterTuningJobConfig"]["ParameterRanges"]
    # the toolkit passes them to the launcher as --lr VALUE / --hidden VALUE
    assert [r["Name"] for r in ranges["ContinuousParameterRanges"]] == ["lr"]
    assert [r["Name"] for r in ranges["CategoricalParameterRanges"]] == ["hidden"]
    definition = request["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"]["sagemaker_program"] == '"cloudgd_script.py"'
    names = [m["Name"] for m in definition["AlgorithmSpecification"]["MetricDefinitions"]]
    assert "val_loss" in names  # the objective, parsed from the script's own log lines


def test_an_objective_sagemaker_cannot_read_from_the_log_is_refused() -> None:
    script = spec("aws").script
    assert script is not None
    metrics = {"regex": {"epoch": r"epoch=(\d+)"}, "file": "script-metrics.jsonl"}
    changed = script.model_dump() | {"metrics": metrics}
    with pytest.raises(SpecError, match=r"tuning\.metric\.name: SageMaker reads .*'val_loss'"):
        render("aws", script=changed)


def test_vertex_appends_each_value_as_the_scripts_argument() -> None:
    from google.cloud.aiplatform_v1 import HyperparameterTuningJob

    body = golden("gcp")["request"]["hyperparameterTuningJob"]
    HyperparameterTuningJob.from_json(json.dumps(body), ignore_unknown_fields=False)
    assert [p["parameterId"] for p in body["studySpec"]["parameters"]] == ["hidden", "lr"]
    [pool] = body["trialJobSpec"]["workerPoolSpecs"]
    assert pool["pythonPackageSpec"]["pythonModule"] == "trainers.script_launch"


def test_the_azure_sweep_passes_each_value_on_the_launchers_command_line() -> None:
    from azure.ai.ml import load_job

    document = golden("azure")["request"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job = load_job(io.StringIO(yaml.safe_dump(document)))
    assert type(job).__name__ == "SweepJob"
    command = document["trial"]["command"]
    assert command.startswith("python -m trainers.script_launch ")
    assert command.endswith(
        "--hidden ${{search_space.script_args_hidden}} --lr ${{search_space.script_args_lr}}"
    )
