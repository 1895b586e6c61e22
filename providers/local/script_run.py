"""The local plan of a ``script:`` job (pure): the launcher per node, the cloud's layout.

The emulated cloud's directories and variables come from ``contracts.py`` as for the
trainer; on top of them each node runs ``python -m trainers.script_launch`` (which maps
those variables to ``CLOUDGD_*``, see docs/scripts.md) in the unpacked bundle, whose
``cloudgd-script.json`` staging writes from ``request["script"]["config"]``. Each input
channel is staged into the place that cloud gives it: SageMaker's
``input/data/<name>`` (``SM_CHANNEL_<NAME>``), Azure ML's ``${{inputs.<name>}}``, and
a plain directory passed with ``--cloudgd-data`` for a plain run and Vertex (which has
no channels: its job passes the ``/gcs/`` path the same way).

The script runs in an isolated environment holding torch (the image's) and what its
``requirements.txt`` declares, built once per content hash (``isolated_env.py``).
One launcher per node starts torchrun for several processes, as on SageMaker and
Vertex; emulating Azure ML, one launcher per process gets torchrun's variables from
the runner, as Azure ML's PyTorch distribution sets them.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from cloudgd.errors import SpecError
from cloudgd.script_spec import CONFIG_NAME, launch_config
from cloudgd.spec import JobSpec
from providers.local.contracts import (
    MASTER_ADDR,
    MASTER_PORT,
    PYTHON,
    ContractInputs,
    Layout,
    rank_env,
    sagemaker_base,
)

if TYPE_CHECKING:
    from cloudgd.ci.reported import JobReports

LAUNCHER = [PYTHON, "-m", "trainers.script_launch"]
IMAGE_PACKAGES = ("torch",)  # what the PyTorch images give every script
_CODE = "code"  # where the bundle puts the job's own files


def input_paths(spec: JobSpec, spec_dir: str | None) -> dict[str, str]:
    """Each input channel as a local path (relative ones from the job file's directory).

    Raises SpecError for a cloud URI: the local provider never downloads.
    """
    from providers.local.render import anchored

    assert spec.script is not None
    paths = {}
    for name, uri in spec.script.inputs.items():
        if uri.startswith("file://"):
            uri = uri[len("file://") :]
        elif "://" in uri:
            scheme = uri.split("://", 1)[0]
            raise SpecError(
                f"script.inputs.{name}: the local provider reads local files only "
                f"(got a {scheme}:// URI)",
                hint=f"copy the data here and use --set script.inputs.{name}=./data",
            )
        paths[name] = anchored(uri, spec_dir)
    return paths


def _channel_dirs(lay: Layout, inputs: ContractInputs, names: list[str]) -> dict[str, list[str]]:
    run = inputs.run_dir
    if lay.emulate == "aws":
        return {
            name: [f"{sagemaker_base(inputs, i)}/input/data/{name}" for i in range(inputs.nodes)]
            for name in names
        }
    if lay.emulate == "azure":
        return {name: [f"{run}/azureml/inputs/{name}"] for name in names}
    return {name: [f"{run}/data/{name}"] for name in names}


def _launcher_args(lay: Layout, run: str, channels: dict[str, list[str]]) -> list[str]:
    """What each cloud's command line passes the launcher besides its platform variables."""
    args = ["--cloudgd-config", "{code_dir}/" + CONFIG_NAME]
    if lay.emulate == "aws":
        return args
    if lay.emulate == "azure":
        for name in channels:
            args += ["--cloudgd-data", f"{name}=${{{{inputs.{name}}}}}"]
        args += ["--cloudgd-model-dir", "${{outputs.model}}"]
        args += ["--cloudgd-checkpoint-dir", "${{outputs.checkpoints}}"]
        return [*args, "--cloudgd-output-dir", "${{outputs.metrics}}"]
    for name, dirs in channels.items():
        args += ["--cloudgd-data", f"{name}={dirs[0]}"]
    if lay.emulate == "none":
        args += ["--cloudgd-model-dir", lay.artifacts["model_dir"]]
        args += ["--cloudgd-checkpoint-dir", lay.artifacts["checkpoint_dir"]]
        args += ["--cloudgd-output-dir", lay.artifacts["output_dir"]]
    return args


def _code_dirs(lay: Layout, run: str) -> list[str]:
    # Vertex installs the sdist into site-packages; a script job unpacks the same files
    # into the job's working directory instead (the launcher finds its config beside them).
    return list(lay.code_dirs) or [f"{run}/vertex/wd"]


def script_request(
    spec: JobSpec,
    lay: Layout,
    inputs: ContractInputs,
    *,
    python: str,
    spec_dir: str | None,
) -> dict[str, Any]:
    """The parts of the local request that differ for a script job: ``layout``
    (dirs, code dirs, bindings, python_env), ``ranks``, ``script`` and ``notes``."""
    from providers.local.render import anchored

    script = spec.script
    assert script is not None
    run = inputs.run_dir
    paths = input_paths(spec, spec_dir)
    channels = _channel_dirs(lay, inputs, list(paths))
    code_dirs = _code_dirs(lay, run)
    bindings = dict(lay.bindings)
    if lay.emulate == "azure":
        bindings.update({f"${{{{inputs.{name}}}}}": dirs[0] for name, dirs in channels.items()})
    per_process = lay.emulate == "azure"  # Azure ML starts every process itself
    ranks = []
    for node_index, node in enumerate(lay.nodes):
        env = {**spec.env, **node.env}
        if lay.emulate == "aws":
            base = sagemaker_base(inputs, node_index)
            for name in paths:
                env[f"SM_CHANNEL_{name.upper()}"] = f"{base}/input/data/{name}"
            env["SM_CHANNELS"] = "[" + ",".join(f'"{n}"' for n in sorted(paths)) + "]"
        code_dir = code_dirs[min(node_index, len(code_dirs) - 1)]
        argv = [python if a == PYTHON else a for a in LAUNCHER]
        argv += [a.replace("{code_dir}", code_dir) for a in _launcher_args(lay, run, channels)]
        local_ranks = range(inputs.processes_per_node) if per_process else range(1)
        for local_rank in local_ranks:
            extra = rank_env(inputs, node_index, local_rank) if per_process else {}
            if not per_process and inputs.world_size > 1:
                extra = {
                    "NODE_RANK": str(node_index),
                    "MASTER_ADDR": MASTER_ADDR,
                    "MASTER_PORT": MASTER_PORT,
                }
            ranks.append(
                {
                    "rank": node_index * inputs.processes_per_node + local_rank,
                    "node": node_index,
                    "local_rank": local_rank,
                    "argv": argv,
                    "cwd": code_dir,  # the bundle root: the launcher imports its trainers/
                    "env": dict(sorted({**env, **extra}.items())),
                }
            )
    requirements = (
        posixpath.join(code_dirs[0], _CODE, script.requirements) if script.requirements else None
    )
    python_env: dict[str, Any] = {
        "label": "the script",  # "the script requires 'x', which is not installed ..."
        "base": list(IMAGE_PACKAGES),
        "requires": [],
        "requirements_file": requirements,
    }
    data_dirs = [d for dirs in channels.values() for d in dirs]
    layout = lay.model_copy(
        update={
            "dirs": [*lay.dirs, *(d for d in code_dirs if d not in lay.dirs)],
            "code_dirs": code_dirs,
            "bindings": bindings,
            "python_env": python_env,
            "data_dirs": data_dirs,
        }
    )
    return {
        "layout": layout,
        "ranks": ranks,
        "script": {
            "config": launch_config(
                script,
                nodes=inputs.nodes,
                processes_per_node=inputs.processes_per_node,
                code_dir=_CODE,
            ),
            "code_dir": None if spec.code is None else anchored(spec.code, spec_dir),
            "requirements": script.requirements,
            "inputs": {name: {"uri": path, "dirs": channels[name]} for name, path in paths.items()},
        },
    }


def reports_of_request(request: dict[str, Any]) -> JobReports | None:
    """What a run of this local ``request`` (its plan.json) reports: a script job's
    ``script.metrics`` as its launcher config holds them, else the trainer's (a request
    without ``script`` runs the trainer). None when the config cannot be read."""
    from cloudgd.ci.reported import JobReports

    script = request.get("script")
    if script is None:
        return JobReports.trainer()
    config = script.get("config") if isinstance(script, dict) else None
    metrics = config.get("metrics") if isinstance(config, dict) else None
    if not isinstance(metrics, dict) or not isinstance(metrics.get("regex", {}), dict):
        return None
    names = sorted(str(name) for name in metrics.get("regex", {}))
    return JobReports.script(names, any_name=metrics.get("file") is not None)
