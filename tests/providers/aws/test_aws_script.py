"""A ``script:`` job on SageMaker: script mode runs cloudgd's launcher, the regexes become
``MetricDefinitions``, each input is a channel. Golden requests in tests/golden/aws/script_*.json
pass botocore's CreateTrainingJob validation (regenerate with ``CLOUDGD_UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from aws_helpers import FIXED_BUNDLE, make_ctx, make_spec

from cloudgd.errors import SpecError
from providers.aws.client import request_problems
from providers.aws.render import render_plan

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "aws"
SCRIPT_BUNDLE = FIXED_BUNDLE.model_copy(update={"requires": ["numpy>=1.26"]})


def script(**fields: Any) -> dict[str, Any]:
    """The example's script block (examples/byo-script), reading S3 channels."""
    block: dict[str, Any] = {
        "entry_point": "train.py",
        "args": ["--epochs", "3", "--data", "${data_dir}", "--model-dir", "${model_dir}"],
        "requirements": "requirements.txt",
        "inputs": {"train": "s3://cloudgd-data/byo/train/", "val": "s3://cloudgd-data/byo/val/"},
        "metrics": {"regex": {"val_loss": "val_loss=([-+0-9.eE]+)", "epoch": r"epoch=(\d+)"}},
    }
    block.update(fields)
    return block


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
    if os.environ.get("CLOUDGD_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing {path}; run with CLOUDGD_UPDATE_GOLDEN=1"
    assert text == path.read_text()


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
