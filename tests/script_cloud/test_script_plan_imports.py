"""Planning a script job for a cloud loads no cloud SDK and no torch, as for the trainer
(tests/cli/test_import_laziness.py): the renderers, the script bundle and the launcher's
config are pure Python."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_import_laziness import loaded_after

JOB = "examples/byo-script/job.yaml"
CLOUDS = {
    "aws": ("moto", "s3://cloudgd-rehearsal/byo/train/"),
    "gcp": ("fake", "gs://cloudgd-rehearsal/byo/train/"),
    "azure": ("fake", "azureml://datastores/workspaceblobstore/paths/byo/train/"),
}


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_planning_the_example_on_a_cloud_loads_no_sdk(tmp_path: Path, cloud: str) -> None:
    backend, uri = CLOUDS[cloud]
    args = ("plan", JOB, "-p", cloud, "--backend", backend, "--set", f"script.inputs.train={uri}")
    assert loaded_after(*args, tmp_path=tmp_path) == []
