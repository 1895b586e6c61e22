"""A ``script:`` job on SageMaker: script mode runs cloudgd's launcher, the regexes become
``MetricDefinitions``, each input is a channel. Golden requests in tests/golden/aws/script_*.json
pass botocore's CreateTrainingJob validation (regenerate with ``CLOUDGD_UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_helpers import FIXED_BUNDLE, make_ctx, make_spec

from cloudgd.errors import SpecError
from providers.aws.client import request_problems
from providers.aws.render import render_plan
from tests.support.golden import assert_golden
from tests.support.script_block import byo_script

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "aws"
SCRIPT_BUNDLE = FIXED_BUNDLE.model_copy(update={"requires": ["numpy>=1.26"]})


def script(**fields: Any) -> dict[str, Any]:
    """The example's script block (examples/byo-script), reading S3 channels."""
    return byo_script(
        {"train": "s3://cloudgd-data/byo/train/", "val": "s3://cloudgd-data/byo/val/"}, **fields
    )


CASES: dict[str, dict[str, Any]] = {
    "script_byo": {},
    "script_ddp_spot": {
        "resources": {"accelerator": "A10G:4", "nodes": 2},
        "scaling": {"spot": True, "restarts": 1},
        "limits": {"max_runtime": "2h"},
        "env": {"NCCL_DEBUG": "WARN"},
    },
}


def script_spec(**fields: Any) -> Any:
    return make_spec(**{"name": "byo", "trainer": None, "code": ".", "script": script(), **fields})


def rendered(case: str) -> str:
    ctx = make_ctx(idempotency_key="ci-42", bundle=SCRIPT_BUNDLE)
    return render_plan(script_spec(**CASES[case]), ctx).to_json()


@pytest.mark.parametrize("case", sorted(CASES))
def test_script_plan_matches_golden_file(case: str) -> None:
    path = GOLDEN / f"{case}.json"
    text = rendered(case)
    assert_golden(path, text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_script_golden_request_passes_botocore_and_cloudgd_checks(case: str) -> None:
    request = json.loads((GOLDEN / f"{case}.json").read_text())["request"]
    assert request_problems(request) == []


def test_script_mode_runs_the_launcher_with_the_scripts_metrics_and_channels() -> None:
    request = json.loads((GOLDEN / "script_byo.json").read_text())["request"]
    assert request["HyperParameters"]["sagemaker_program"] == '"cloudgd_script.py"'
    assert request["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "epoch", "Regex": r"epoch=(\d+)"},
        {"Name": "val_loss", "Regex": "val_loss=([-+0-9.eE]+)"},
    ]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in request["InputDataConfig"]}  # fmt: skip
    assert channels == {
        "train": "s3://cloudgd-data/byo/train/",
        "val": "s3://cloudgd-data/byo/val/",
    }


def test_a_distributed_script_runs_under_the_toolkits_torchrun() -> None:
    request = json.loads((GOLDEN / "script_ddp_spot.json").read_text())["request"]
    # the toolkit starts one launcher per process (RANK set), which runs the script directly
    assert request["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"
    assert request["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"


def test_more_metrics_than_sagemaker_collects_are_refused_naming_the_field() -> None:
    regex = {f"m{i}": f"m{i}=([0-9.]+)" for i in range(41)}
    spec = script_spec(script=script(metrics={"regex": regex}))
    with pytest.raises(SpecError, match=r"script\.metrics\.regex: SageMaker collects at most 40"):
        render_plan(spec, make_ctx(bundle=SCRIPT_BUNDLE))


def test_a_regex_longer_than_sagemaker_allows_is_refused() -> None:
    spec = script_spec(script=script(metrics={"regex": {"loss": "loss=([0-9.]+)" + " ?" * 250}}))
    with pytest.raises(SpecError, match=r"script\.metrics\.regex\.loss: .* at most 500"):
        render_plan(spec, make_ctx(bundle=SCRIPT_BUNDLE))


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"train": "gs://bucket/train/"}, r"script\.inputs\.train: SageMaker reads .* s3://"),
        ({"code": "s3://bucket/code/"}, r"script\.inputs\.code: the channel name 'code'"),
    ],
)
def test_inputs_sagemaker_cannot_read_are_refused(inputs: dict[str, str], message: str) -> None:
    spec = script_spec(script=script(inputs=inputs, args=[]))
    with pytest.raises(SpecError, match=message):
        render_plan(spec, make_ctx(bundle=SCRIPT_BUNDLE))


def tuned_script_spec(**fields: Any) -> Any:
    tuning = {
        "metric": {"name": "val_loss", "goal": "minimize"},
        "parameters": {"script.args.lr": {"type": "log_uniform", "min": 1e-3, "max": 1e-1}},
        "max_trials": 2,
    }
    block = script(inputs={}, args=["--epochs", "1"])
    return script_spec(script=block, tuning=tuning, **fields)


def test_a_rehearsed_trial_gives_the_script_its_value_as_an_argument(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from providers.aws import local_rehearsal, toolkit
    from providers.aws.provider import AwsProvider
    from providers.aws.tuning import render_tuning

    ctx = make_ctx(bundle=SCRIPT_BUNDLE, runs_dir=str(tmp_path / "runs"))
    tuning_plan = render_tuning(tuned_script_spec(), ctx)
    ranges = tuning_plan.request["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"][0]["Name"] == "lr"  # passed as --lr VALUE
    # without the toolkit, cloudgd's emulation runs the launcher: the value is an argument
    monkeypatch.setattr(toolkit, "missing_toolkit", lambda: "sagemaker_training")
    planner = local_rehearsal.trial_planner(AwsProvider(backend="moto"), tuning_plan, ctx)
    trial = planner(tuned_script_spec(), {"script.args.lr": 0.02}, ctx, 0)
    assert trial.request["script"]["config"]["args"] == ["--epochs", "1", "--lr", "0.02"]


def test_the_toolkit_lists_the_requests_channels_as_sagemaker_does() -> None:
    from providers.aws import toolkit

    base = "/runs/r/opt/ml"
    request: dict[str, Any] = {
        "ranks": [{"env": {"SAGEMAKER_BASE_DIR": base}}],
        "layout": {"files": {}},
    }
    toolkit.declare_channels(request, ["train", "val"])
    written = json.loads(request["layout"]["files"][f"{base}/input/config/inputdataconfig.json"])
    assert sorted(written) == ["train", "val"]  # the toolkit sets SM_CHANNEL_TRAIN, _VAL
