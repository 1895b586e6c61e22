"""A ``script:`` job on Azure ML: a command job runs cloudgd's launcher with every input and
output path on its command line, in the curated PyTorch image plus a conda environment
holding the script's requirements. Golden jobs in tests/golden/azure/script_*.json load
through azure-ai-ml's ``load_job`` without losing anything (``CLOUDGD_UPDATE_GOLDEN=1``).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure_helpers import FIXED_BUNDLE, WORKSPACE, make_ctx, make_spec

from cloudgd.errors import SpecError
from providers.azure.render import render_plan
from tests.support.golden import assert_golden
from tests.support.script_block import byo_script

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "azure"
SCRIPT_BUNDLE = FIXED_BUNDLE.model_copy(update={"requires": ["numpy>=1.26"]})
BLOB = "azureml://datastores/workspaceblobstore/paths"


def script(**fields: Any) -> dict[str, Any]:
    """The example's script block (examples/byo-script), reading datastore inputs."""
    return byo_script({"train": f"{BLOB}/byo/train/", "val": f"{BLOB}/byo/val.csv"}, **fields)


CASES: dict[str, dict[str, Any]] = {
    "script_byo": {},
    "script_ddp_spot": {
        "resources": {"accelerator": "A100:8", "nodes": 2},
        "scaling": {"spot": True},
        "limits": {"max_runtime": "2h"},
        "checkpoints": {"enabled": True},
        "providers": {"azure": {**WORKSPACE, "manage_compute": True}},
    },
}


def script_spec(**fields: Any) -> Any:
    return make_spec(**{"name": "byo", "trainer": None, "code": ".", "script": script(), **fields})


def rendered(case: str) -> str:
    return render_plan(script_spec(**CASES[case]), make_ctx(bundle=SCRIPT_BUNDLE)).to_json()


@pytest.mark.parametrize("case", sorted(CASES))
def test_script_plan_matches_golden(case: str) -> None:
    path = GOLDEN / f"{case}.json"
    text = rendered(case)
    assert_golden(path, text)


def _without_sdk_additions(value: Any) -> Any:
    """What the SDK adds on load: empty maps and an anonymous environment's name and
    version (as in test_azure_golden.py)."""
    if isinstance(value, dict):
        if value.get("name") == "CliV2AnonymousEnvironment":
            value = {k: v for k, v in value.items() if k not in ("name", "version")}
        return {k: _without_sdk_additions(v) for k, v in value.items() if v != {}}
    return value


@pytest.mark.parametrize("case", sorted(CASES))
def test_script_golden_job_round_trips_through_load_job(case: str) -> None:
    from azure.ai.ml import load_job

    job_doc = json.loads((GOLDEN / f"{case}.json").read_text())["request"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job = load_job(io.StringIO(yaml.safe_dump(job_doc)))._to_job()
    dumped = json.loads(json.dumps(job._to_dict()))
    expected = {k: v for k, v in job_doc.items() if k != "$schema"}
    assert _without_sdk_additions(dumped) == expected


def test_the_command_runs_the_launcher_with_every_mounted_path() -> None:
    job = json.loads(rendered("script_ddp_spot"))["request"]
    assert job["command"] == (
        "python -m trainers.script_launch --cloudgd-model-dir ${{outputs.model}} "
        "--cloudgd-output-dir ${{outputs.metrics}} "
        "--cloudgd-checkpoint-dir ${{outputs.checkpoints}} "
        "--cloudgd-data train=${{inputs.train}} --cloudgd-data val=${{inputs.val}}"
    )
    assert job["inputs"]["train"]["path"] == f"{BLOB}/byo/train/"
    assert job["inputs"]["val"]["path"] == f"{BLOB}/byo/"  # the folder holding the file
    # Azure ML starts every process with torchrun's variables; the launcher runs the script
    assert job["distribution"] == {"type": "pytorch", "process_count_per_instance": 8}


def test_the_environment_holds_torch_and_the_scripts_requirements() -> None:
    environment = json.loads(rendered("script_byo"))["request"]["environment"]
    [pip] = [d["pip"] for d in environment["conda_file"]["dependencies"] if isinstance(d, dict)]
    assert pip == ["torch==2.13.0", "numpy>=1.26"]
    pinned = make_ctx(bundle=FIXED_BUNDLE.model_copy(update={"requires": ["torch>=2.4", "six"]}))
    own = render_plan(script_spec(), pinned).request["environment"]["conda_file"]
    assert own["dependencies"][2] == {"pip": ["torch>=2.4", "six"]}  # the script's torch wins


def test_pip_options_in_the_requirements_are_refused_for_the_conda_environment() -> None:
    ctx = make_ctx(bundle=FIXED_BUNDLE.model_copy(update={"requires": ["-e ./pkg"]}))
    with pytest.raises(SpecError, match=r"script\.requirements: '-e \./pkg'"):
        render_plan(script_spec(), ctx)


def test_inputs_azure_cannot_read_are_refused_naming_the_channel() -> None:
    spec = script_spec(script=script(inputs={"train": "s3://bucket/train/"}))
    with pytest.raises(SpecError, match=r"script\.inputs\.train: Azure ML jobs read"):
        render_plan(spec, make_ctx(bundle=SCRIPT_BUNDLE))
