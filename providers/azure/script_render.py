"""The parts of an Azure ML command job that differ for a ``script:`` job (pure).

The job runs ``python -m trainers.script_launch`` in the code asset (the bundle,
unpacked): the launcher reads ``cloudgd-script.json`` beside ``trainers``, gets each
input's and output's mounted path on its command line (Azure ML substitutes
``${{inputs.<name>}}`` / ``${{outputs.<name>}}``), sets the ``CLOUDGD_*`` contract and
starts the script directly: with ``distribution: pytorch`` Azure ML itself starts one
process per GPU with torchrun's variables set. The prebuilt environment is the curated
PyTorch image plus a conda specification holding torch and the script's own
``requirements`` (Azure ML builds it into a fresh environment, so torch is listed).
"""

from __future__ import annotations

from typing import Any

from cloudgd.errors import SpecError
from cloudgd.script_spec import ScriptSpec
from cloudgd.trainer_requirements import PYTHON as PYTHON_VERSION
from cloudgd.trainer_requirements import TORCH, canonical

LAUNCH = "python -m trainers.script_launch"
CONDA_NAME = "cloudgd-script"


def command(script: ScriptSpec, checkpoints: bool) -> str:
    """The job's command: the launcher with every mounted path spelled out."""
    parts = [
        LAUNCH,
        "--cloudgd-model-dir ${{outputs.model}}",
        "--cloudgd-output-dir ${{outputs.metrics}}",
    ]
    if checkpoints:
        parts.append("--cloudgd-checkpoint-dir ${{outputs.checkpoints}}")
    parts += [f"--cloudgd-data {name}=${{{{inputs.{name}}}}}" for name in script.inputs]
    return " ".join(parts)


def inputs(script: ScriptSpec, data_input: Any) -> dict[str, Any]:
    """One ``uri_folder`` input per channel; ``data_input(uri, field)`` is the renderer's
    check and folder rule (the trainer's data input uses the same one)."""
    found = {}
    for name, uri in script.inputs.items():
        found[name] = data_input(uri, f"script.inputs.{name}")
    return found


def _name(requirement: str) -> str:
    head = requirement.split(";", 1)[0]
    for stop in "=<>!~[ @":
        head = head.split(stop, 1)[0]
    return canonical(head.strip())


def environment(image: str, requires: list[str]) -> dict[str, Any]:
    """The curated image and a conda specification: Python, pip, torch (unless the
    script pins its own) and the script's requirement lines, in their order."""
    pip = list(requires)
    if not any(_name(line) == "torch" for line in pip):
        pip.insert(0, TORCH)
    for line in pip:
        if line.startswith("-"):
            raise SpecError(
                f"script.requirements: {line!r}: an Azure ML conda environment takes "
                "requirement lines only, not pip options",
                hint="list the packages themselves (an index URL goes in pip's own config)",
            )
    conda = {
        "name": CONDA_NAME,
        "channels": ["conda-forge"],
        "dependencies": [f"python={PYTHON_VERSION}", "pip", {"pip": pip}],
    }
    return {"image": image, "conda_file": conda}
