"""Vertex AI's and Azure ML's container contracts under a local run directory (pure).

The Vertex python-package path pip-installs the job's sdist into an isolated
environment holding torch (the image) and what the sdist declares, then runs
``python -m trainers``; a custom image runs the request's own container command.
Azure ML runs its command in an environment holding exactly the job's conda pip
list (``providers/local/isolated_env.py`` builds both). See contracts.py for the
shared models and placeholders.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from providers.local.contracts import (
    CHANNEL,
    MASTER_ADDR,
    MASTER_PORT,
    PYTHON,
    ContractInputs,
    Layout,
    NodeContract,
)


def vertex_job_id(job_hash: str) -> str:
    """A stable numeric id shaped like Vertex's (18 digits), derived from the spec hash."""
    return str(10**17 + int(job_hash[:15], 16) % (9 * 10**17))


def cluster_spec(inputs: ContractInputs, node: int) -> dict[str, Any]:
    """Vertex's CLUSTER_SPEC for one node: workerpool0 = primary, workerpool1 = the rest."""
    port = MASTER_PORT if inputs.world_size > 1 else "2222"
    address = f"{MASTER_ADDR}:{port}"
    cluster: dict[str, list[str]] = {"workerpool0": [address]}
    if inputs.nodes > 1:
        cluster["workerpool1"] = [address] * (inputs.nodes - 1)
    task = {"type": "workerpool0", "index": 0, "trial": ""}
    if node > 0:
        task = {"type": "workerpool1", "index": node - 1, "trial": ""}
    return {"cluster": cluster, "environment": "cloud", "task": task}


# What the prebuilt PyTorch executor images provide before the package is installed.
# They carry more (numpy, often scikit-learn), but only torch is promised by their name;
# the sdist declares the rest, so a job that rehearses here runs on any of them.
VERTEX_IMAGE_PACKAGES = ("torch",)


SDIST = "{sdist}"  # the local sdist, where the container reads /gcs/<bucket>/.../<sdist>


def vertex_layout(inputs: ContractInputs) -> Layout:
    """Vertex AI: AIP_* and CLUSTER_SPEC, the package installed or the container command."""
    run = inputs.run_dir
    aip, pkg, data = f"{run}/aip", f"{run}/vertex/package", f"{run}/data/{CHANNEL}"
    args = ["--data-dir", data] if inputs.has_data else []
    argv = [PYTHON, "-m", "trainers", *args]
    python_env: dict[str, Any] = {
        "label": "the Vertex package",
        "base": list(VERTEX_IMAGE_PACKAGES),
        "requires": [],
        "sdist_dir": pkg,
    }
    extra_env: dict[str, str] = {}
    if inputs.vertex_container:
        # The request's exact command: it unpacks the sdist into $TMPDIR/cloudgd and runs
        # the `python` on PATH, which is an environment holding what a custom image must.
        argv = [*inputs.vertex_container, SDIST, *args]
        python_env = {
            "label": "the custom image (torch and the trainer's packages, docs/providers/gcp.md)",
            "base": list(VERTEX_IMAGE_PACKAGES),
            "requires": list(inputs.image_requires),
            "sdist_dir": pkg,
            "install": False,
        }
        extra_env["TMPDIR"] = f"{run}/vertex/tmp"
    nodes = [
        NodeContract(
            argv=argv,
            cwd=f"{run}/vertex/wd",
            env={
                # Vertex hands out baseOutputDirectory sub-paths with a trailing slash
                "AIP_MODEL_DIR": f"{aip}/model/",
                "AIP_CHECKPOINT_DIR": f"{aip}/checkpoints/",
                "AIP_TENSORBOARD_LOG_DIR": f"{aip}/logs/",
                "CLOUD_ML_JOB_ID": vertex_job_id(inputs.job_hash),
                "CLOUD_ML_HP_METRIC_FILE": f"{aip}/hypertune/output.metrics",
                "CLUSTER_SPEC": json.dumps(cluster_spec(inputs, node)),
                **extra_env,
            },
        )
        for node in range(inputs.nodes)
    ]
    return Layout(
        emulate="gcp",
        dirs=[f"{aip}/{d}" for d in ("model", "checkpoints", "logs", "hypertune")]
        + [pkg, f"{run}/vertex/wd"]
        + ([f"{run}/vertex/tmp"] if inputs.vertex_container else [])
        + ([data] if inputs.has_data else []),
        files={},
        code_dirs=[],
        data_dirs=[data] if inputs.has_data else [],
        python_path=[],
        # As the executor image does: pip-install the sdist, run `python -m trainers`.
        python_env=python_env,
        nodes=nodes,
        artifacts={
            "model_dir": f"{aip}/model",
            # Vertex has no output-dir variable; the trainer writes beside AIP_MODEL_DIR
            "output_dir": f"{aip}/output",
            "checkpoint_dir": f"{aip}/checkpoints",
            "tensorboard_dir": f"{aip}/logs",
        },
    )


def azure_layout(inputs: ContractInputs) -> Layout:
    """Azure ML: ${{inputs.*}}/${{outputs.*}} bindings, AZUREML_* variables, its environment."""
    run = inputs.run_dir
    root, wd = f"{run}/azureml", f"{run}/azureml/wd"
    outputs = {name: f"{root}/outputs/{name}" for name in ("model", "checkpoints", "metrics")}
    bindings = {f"${{{{outputs.{name}}}}}": path for name, path in outputs.items()}
    argv = [PYTHON, "-m", "trainers", "--config", "cloudgd-job.json"]
    argv += ["--model-dir", "${{outputs.model}}", "--checkpoint-dir", "${{outputs.checkpoints}}"]
    argv += ["--output-dir", "${{outputs.metrics}}"]
    data = f"{root}/inputs/{CHANNEL}"
    if inputs.has_data:
        argv += ["--data-dir", f"${{{{inputs.{CHANNEL}}}}}"]
        bindings[f"${{{{inputs.{CHANNEL}}}}}"] = data
    scope = inputs.azure
    env = {
        "AZUREML_RUN_ID": inputs.job_name,
        "AZUREML_ARM_SUBSCRIPTION": scope.get("subscription_id")
        or "00000000-0000-0000-0000-000000000000",
        "AZUREML_ARM_RESOURCEGROUP": scope.get("resource_group") or "local",
        "AZUREML_ARM_WORKSPACE_NAME": scope.get("workspace") or "local",
        "AZUREML_ARM_PROJECT_NAME": scope.get("experiment_name") or "cloudgd",
        "AZUREML_EXPERIMENT_ID": str(uuid.UUID(inputs.job_hash[:32])),
        "MLFLOW_TRACKING_URI": f"file:{root}/mlruns",
    }
    python_env = None
    if inputs.azure_requires is not None:
        # The conda environment Azure ML builds holds exactly its specification.
        python_env = {
            "label": "the Azure ML environment",
            "base": [],
            "requires": list(inputs.azure_requires),
        }
    return Layout(
        emulate="azure",
        dirs=[wd, f"{wd}/outputs", f"{wd}/logs", *outputs.values()]
        + ([data] if inputs.has_data else []),
        files={},
        code_dirs=[wd],
        data_dirs=[data] if inputs.has_data else [],
        python_path=[],
        python_env=python_env,
        bindings=bindings,
        nodes=[NodeContract(argv=argv, cwd=wd, env=env)] * inputs.nodes,
        artifacts={
            "model_dir": outputs["model"],
            "output_dir": outputs["metrics"],
            "checkpoint_dir": outputs["checkpoints"],
        },
    )
