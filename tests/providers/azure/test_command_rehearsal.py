"""An Azure ML script job rehearses what Azure ML runs: the rendered ``command`` with
``${{inputs.<name>}}`` / ``${{outputs.<name>}}`` substituted, through a shell, in a copy
of the uploaded code snapshot, with ``environment_variables`` set, in an environment
holding exactly the conda pip list (providers/azure/command_rehearsal.py). A broken
command fails the rehearsal with one line, as it fails the Azure ML job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cloudgd.errors import ProviderError
from providers.azure.command_rehearsal import command_request, environment, substitute
from tests.support.rehearsal_run import local_plan, run, script_job

CODE = (
    "azureml:/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices"
    "/workspaces/w/codes/cloudgd-bundle/versions/0123456789ab"
)


def job(command: str, **fields: Any) -> dict[str, Any]:
    """A command job body shaped as cloudgd renders it (providers/azure/render.py)."""
    return {
        "type": "command",
        "code": CODE,
        "command": command,
        "inputs": {
            "train": {
                "type": "uri_folder",
                "mode": "ro_mount",
                "path": "azureml://datastores/workspaceblobstore/paths/byo/train/",
            },
            "epochs": 3,  # a literal input: its value is substituted
        },
        "outputs": {"model": {"type": "uri_folder", "mode": "rw_mount"}},
        "environment_variables": {"GREETING": "hello"},
        "environment": {
            "image": "mcr.microsoft.com/azureml/curated/acpt-pytorch-2.8-cuda12.6:latest",
            "conda_file": {"dependencies": ["python=3.11", "pip", {"pip": []}]},
        },
        **fields,
    }


def test_inputs_and_outputs_are_substituted_as_azure_ml_documents() -> None:
    inputs, outputs = {"train": "/in/train"}, {"model": "/out/model"}
    command = "python t.py --data ${{inputs.train}} --out ${{ outputs.model }}"
    assert substitute(command, inputs, outputs) == "python t.py --data /in/train --out /out/model"
    # a sweep's trial: its values fill ${{search_space.<name>}}
    trial = substitute(
        "t.py --lr ${{search_space.script_args_lr}}", {}, {}, {"script_args_lr": "0.01"}
    )
    assert trial == "t.py --lr 0.01"


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ("ls ${{inputs.val}}", "${{inputs.val}}: the job has no input named 'val'"),
        ("ls ${{outputs.logs}}", "${{outputs.logs}}: the job has no output named 'logs'"),
        ("ls ${{search_space.lr}}", "${{search_space.lr}}: this job substitutes only"),
    ],
)
def test_an_expression_the_job_cannot_fill_is_refused_naming_it(command: str, problem: str) -> None:
    with pytest.raises(ProviderError) as caught:
        substitute(command, {"train": "/in/train"}, {"model": "/out/model"})
    assert caught.value.message.startswith(f"command: {problem}")


def test_the_environment_is_the_conda_pip_list_and_a_registered_one_is_named() -> None:
    conda = {"dependencies": ["python=3.11", "pip", {"pip": ["torch==2.4.0", "numpy>=1.26"]}]}
    env, _ = environment(job("ls", environment={"conda_file": conda}))
    assert env == {
        "label": "the Azure ML environment",
        "base": [],
        "requires": ["torch==2.4.0", "numpy>=1.26"],
    }
    registered, notes = environment(job("ls", environment="azureml:my-env:3"))
    assert registered is None
    assert notes == [
        "rehearsal: the environment azureml:my-env:3 cannot be inspected offline; "
        "rehearsing with torch and script.requirements"
    ]


def snapshot(tmp_path: Path) -> Path:
    """A code snapshot as the fake's blob store hands it back: a folder of files."""
    folder = tmp_path / "snapshot"
    (folder / "code").mkdir(parents=True)
    (folder / "code" / "marker.txt").write_text("from the snapshot\n")
    return folder


def test_the_command_runs_in_a_copy_of_the_snapshot_with_the_jobs_variables(
    tmp_path: Path,
) -> None:
    spec = script_job(tmp_path, "print('unused: the command is what runs')\n", "azure")
    local, plan = local_plan(tmp_path, spec)
    command = (
        'cat code/marker.txt && ls ${{inputs.train}} && echo "$GREETING x${{inputs.epochs}}" '
        "&& touch ${{outputs.model}}/model.pt"
    )
    request = command_request(plan.request, job(command), str(snapshot(tmp_path)))
    final, log, run_dir = run(local, plan, request)
    assert final.state.value == "SUCCEEDED", log
    assert "from the snapshot" in log
    assert "train.csv" in log
    assert "hello x3" in log
    assert (run_dir / "azureml" / "outputs" / "model" / "model.pt").is_file()
    assert (run_dir / "azureml" / "wd" / "code" / "marker.txt").is_file()
    assert (tmp_path / "snapshot" / "code" / "marker.txt").is_file()  # copied, not moved


def test_a_broken_command_fails_the_rehearsal_with_one_line(tmp_path: Path) -> None:
    spec = script_job(tmp_path, "print('never')\n", "azure")
    local, plan = local_plan(tmp_path, spec)
    request = command_request(
        plan.request, job("python -m trainers.script_lunch"), str(snapshot(tmp_path))
    )
    final, log, _ = run(local, plan, request)
    assert final.state.value == "FAILED"
    assert final.message is not None
    first = final.message.splitlines()[0]
    assert first.startswith(
        "rank 0 failed (exit code 1): python -m trainers.script_lunch: no such module in the "
        "job's code or in the Azure ML environment"
    ), log
