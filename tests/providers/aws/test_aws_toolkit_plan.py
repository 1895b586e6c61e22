"""How a SageMaker rehearsal is handed to Amazon's toolkit, and the S3 data it reads.

Pure pieces and in-process moto; the runs through the real toolkit are in
test_aws_toolkit_contract.py.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aws_helpers import make_spec
from moto import mock_aws

from cloudgd.errors import SpecError
from providers.aws import toolkit
from providers.aws.client import Connection
from providers.aws.local_rehearsal import fallback_reason
from providers.aws.s3data import check_inputs, download_channel, input_channels, upload_path
from providers.local.isolated_env import EnvRequest, env_python
from providers.local.isolated_env import build as build_env
from providers.local.options import LocalOptions
from providers.local.render import build_plan

REGION = "us-east-1"
STATIC = {
    "sagemaker_program": '"cloudgd_entry.py"',
    "sagemaker_submit_directory": '"s3://b/cloudgd/code/cloudgd-bundle-x.tar.gz"',
}


def local_aws_request(tmp_path: Path, **spec_fields: object) -> dict[str, object]:
    spec = make_spec(**spec_fields)
    plan = build_plan(
        spec,
        run_dir=str(tmp_path / "run"),
        job_name="digits-1",
        job_hash="ab" * 16,
        options=LocalOptions(emulate="aws"),
    )
    return plan.request


def test_a_trial_gets_its_values_as_plain_strings_beside_the_static_hyperparameters() -> None:
    values = {"trainer.optimizer.lr": 0.01, "trainer.batch_size": 32, "trainer.model.kind": "mlp"}
    hps = toolkit.trial_hyperparameters(STATIC, values, "val_loss")
    assert hps == {
        **STATIC,
        "trainer.optimizer.lr": "0.01",
        "trainer.batch_size": "32",
        "trainer.model.kind": "mlp",
        "_tuning_objective_metric": "val_loss",
    }


def test_the_toolkit_runs_once_per_host_with_the_requests_own_hyperparameters(
    tmp_path: Path,
) -> None:
    request = local_aws_request(tmp_path, distributed={"processes_per_node": 2})
    assert len(request["ranks"]) == 2  # the emulation starts each rank itself
    out = toolkit.toolkit_request(
        request,
        STATIC,
        endpoint="http://127.0.0.1:5000",
        region=REGION,
        requirements="transformers>=4.40  # for the model\n--prefer-binary\n",
        job_name="digits-1",
    )
    base = f"{tmp_path}/run/opt/ml"
    [rank] = out["ranks"]
    # {python}: the isolated environment's, which the run builds before it starts
    assert rank["argv"] == ["{python}", "-m", "sagemaker_training.cli.train"]
    environment = out["layout"]["python_env"]
    assert environment["requires"] == ["transformers>=4.40"]
    assert {"torch", "sagemaker-training", "pydantic", "scikit-learn"} <= set(environment["base"])
    assert environment["scripts"] == ["torchrun"]
    env = rank["env"]
    assert env["SAGEMAKER_BASE_DIR"] == base
    assert env["SAGEMAKER_TRAINING_MODULE"] == "sagemaker_pytorch_container.training:main"
    assert env["S3_ENDPOINT_URL"] == "http://127.0.0.1:5000"
    assert env["PET_MASTER_PORT"] == "{master_port}"  # torchrun on a free port
    assert env["PATH"].split(":")[0] == "/usr/local/sbin"  # the image's; the env's bin/ first
    # the toolkit sets SM_* itself; the user's AWS keys never reach the rehearsal
    assert not [k for k in env if k.startswith("SM_") and k != "SM_STUDIO_LOCAL_MODE"]
    assert env["AWS_ACCESS_KEY_ID"] == env["AWS_SECRET_ACCESS_KEY"] == ""
    files = out["layout"]["files"]
    assert json.loads(files[f"{base}/input/config/hyperparameters.json"]) == STATIC
    assert f"{base}/input/config/resourceconfig.json" in files
    assert out["layout"]["code_dirs"] == []  # the toolkit unpacks the bundle itself
    assert "sagemaker-training" in out["notes"][0]


def test_several_nodes_or_no_toolkit_fall_back_to_the_emulation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    two_nodes = make_spec(resources={"nodes": 2, "accelerator": "none"})
    if toolkit.missing_toolkit() is None:
        assert fallback_reason(make_spec()) is None
        assert "algo-N" in str(fallback_reason(two_nodes))
    monkeypatch.setattr(toolkit.importlib.util, "find_spec", lambda name: None)
    assert "sagemaker_training is not installed" in str(fallback_reason(make_spec()))
    assert "emulation" in toolkit.emulation_note("x")


def test_the_toolkit_environment_holds_the_image_and_the_requirements_only(
    tmp_path: Path,
) -> None:
    environment, _ = toolkit.python_env("")
    env, _ = build_env(EnvRequest.from_json(environment), cache=tmp_path / "envs")
    python = str(env_python(env))

    def imports(module: str) -> bool:
        done = subprocess.run([python, "-c", f"import {module}"], capture_output=True, timeout=120)
        return done.returncode == 0

    # what the image carries, the toolkit included, and what the trainer imports
    assert imports("sagemaker_training, sagemaker_pytorch_container, torch, pydantic, yaml")
    assert (env / "bin" / "torchrun").is_file()  # the toolkit starts it from PATH
    assert not imports("optuna")  # installed here (cloudgd tunes with it), not in the image
    declared, _ = toolkit.python_env("optuna\n")
    env, _ = build_env(EnvRequest.from_json(declared), cache=tmp_path / "envs")
    optuna = subprocess.run([str(env_python(env)), "-c", "import optuna"], timeout=120)
    assert optuna.returncode == 0  # declared in requirements.txt: there


@pytest.fixture
def s3() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="cloudgd-rehearsal")
        yield client


REHEARSAL = Connection(region=REGION, rehearsal=True)


def channel_request(uri: str) -> dict[str, object]:
    return {
        "InputDataConfig": [
            {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3Uri": uri}}},
            {"ChannelName": "code", "DataSource": {"S3DataSource": {"S3Uri": "s3://b/c.tgz"}}},
        ]
    }


def test_missing_input_data_is_refused_naming_the_channel_and_uri(s3: object) -> None:
    uri = "s3://cloudgd-rehearsal/data/train.csv"
    assert input_channels(channel_request(uri)) == [("train", uri)]
    with pytest.raises(SpecError, match=r"input channel 'train' has no objects under s3://"):
        check_inputs(s3, channel_request(uri), REHEARSAL)
    with pytest.raises(SpecError, match="no objects"):  # no bucket at all
        check_inputs(s3, channel_request("s3://no-such-bucket/x"), REHEARSAL)


def test_uploaded_data_passes_and_comes_back_laid_out_as_sagemaker_does(
    s3: object, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    (data / "part").mkdir(parents=True)
    (data / "a.csv").write_text("x\n1\n")
    (data / "part" / "b.csv").write_text("x\n2\n")
    written = upload_path(s3, data, "s3://cloudgd-rehearsal/data/digits", REHEARSAL)
    assert written == [
        "s3://cloudgd-rehearsal/data/digits/a.csv",
        "s3://cloudgd-rehearsal/data/digits/part/b.csv",
    ]
    check_inputs(s3, channel_request("s3://cloudgd-rehearsal/data/digits/"), REHEARSAL)
    got = tmp_path / "channel"
    assert download_channel(s3, "s3://cloudgd-rehearsal/data/digits/", got, REHEARSAL) == 2
    assert (got / "part" / "b.csv").read_text() == "x\n2\n"
    one = tmp_path / "one"
    download_channel(s3, "s3://cloudgd-rehearsal/data/digits/a.csv", one, REHEARSAL)
    assert [p.name for p in one.iterdir()] == ["a.csv"]  # a file keeps its name


def test_a_fallback_rehearsal_says_in_its_log_that_cloudgd_emulates_the_container(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_helpers import make_ctx

    from cloudgd.rehearsal import emulating
    from providers.aws.local_rehearsal import local_plan
    from providers.aws.provider import AwsProvider
    from providers.local.provider import LocalProvider

    monkeypatch.setattr(toolkit.importlib.util, "find_spec", lambda name: None)
    spec = emulating(make_spec(resources={"accelerator": "none"}), "aws")
    plan = local_plan(
        AwsProvider(backend="moto"),
        {"HyperParameters": STATIC},  # no input channel: nothing to fetch from moto
        STATIC,
        spec,
        make_ctx(runs_dir=str(tmp_path / "runs")),
        LocalProvider(runs_dir=str(tmp_path / "runs")),
        region=REGION,
        job_name="digits-1",
    )
    [note] = plan.request["notes"]
    assert "sagemaker_training is not installed" in note and "emulation" in note
    assert plan.request["ranks"][0]["argv"][-1] == "cloudgd_entry.py"  # the emulated start
    assert plan.summary["rehearsal"] == "cloudgd's emulation of the SageMaker container"
