"""data.mode: the example plans a streaming input on every cloud; bad streaming input is
one line naming the field, exit 2, before anything is created."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.badinput.conftest import Invoke

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = str(REPO / "examples" / "parquet-stream.yaml")
URIS = {
    "aws": "s3://my-cloudgd-bucket/data/events/",
    "gcp": "gs://my-bucket/events/",
    "azure": "azureml://datastores/workspaceblobstore/paths/events/",
}


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("hint: ")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("cloudgd: error: "), stderr
    return lines[0].removeprefix("cloudgd: error: ")


@pytest.mark.parametrize("cloud", sorted(URIS))
def test_the_stream_example_plans_each_clouds_streaming_input(invoke: Invoke, cloud: str) -> None:
    uri = f"trainer.data.uri={URIS[cloud]}"
    result = invoke("plan", EXAMPLE, "--provider", cloud, "--set", uri, "--output", "json")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["summary"]["data_mode"].startswith("stream (")
    request = plan["request"]
    if cloud == "aws":
        assert request["InputDataConfig"][0]["InputMode"] == "FastFile"
    elif cloud == "gcp":
        [pool] = request["customJob"]["jobSpec"]["workerPoolSpecs"]
        assert pool["pythonPackageSpec"]["args"][:2] == ["--data-dir", "/gcs/my-bucket/events/"]
    else:
        assert request["inputs"]["train"]["mode"] == "ro_mount"


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (
            ["trainer.data.source=csv"],
            "trainer.data: data.mode: stream reads parquet files, and data.source=csv is "
            "loaded into memory",
        ),
        (["trainer.data.mode=streaming"], "trainer.data.mode: must be one of auto, download"),
        (["trainer.data.stats.mean=[0]", "trainer.data.stats.std=[0]"], "trainer.data.stats"),
        (["trainer.data.shuffle_buffer=0"], "trainer.data.shuffle_buffer"),
        (["providers.azure.data_mode=download"], "providers.azure.data_mode: download copies"),
    ],
)
def test_bad_streaming_input_is_one_line_naming_the_field(
    invoke: Invoke, sets: list[str], expected: str
) -> None:
    args = ["plan", EXAMPLE, "--provider", "azure", "--set", f"trainer.data.uri={URIS['azure']}"]
    for item in sets:
        args += ["--set", item]
    result = invoke(*args)
    assert result.exit_code == 2, result.stderr
    assert expected in one_error_line(result.stderr)
