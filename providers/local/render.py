"""The local provider's plan (pure): JobSpec + run dir → the request the supervisor runs.

The request is plain JSON data and is exactly what runs: the run directory, the
trainer config, the layout to create (see ``contracts.py``), and one entry per
rank with its command, working directory and full environment. What only the
machine knows (interpreter, a free port, CPU count, where relative paths point,
secret values) is left as placeholders or references and resolved at submit and
launch, so the same spec and runs dir always give byte-identical plans.
"""

from __future__ import annotations

import posixpath
import shlex
from typing import Any

from cloudgd.durations import format_duration
from cloudgd.errors import SpecError
from cloudgd.plan import JobHandle, Plan
from cloudgd.spec import JobSpec
from cloudgd.trainer_requirements import job_requirements, package_requirements
from providers.local.contracts import PYTHON, ContractInputs, layout, rank_env
from providers.local.options import LocalOptions
from trainers.config_data import resolved_mode

OPERATION = "local:run"
# A cloud-sized spec (64 nodes x 8 GPUs) must not fork hundreds of trainers on a laptop.
MAX_PROCESSES = 64
_CONTENT_TYPES = {
    "csv": "text/csv",
    "text_csv": "text/csv",
    "npz": "application/x-npz",
    "parquet": "application/x-parquet",
    "jsonl": "application/jsonlines",
}


def anchored(path: str, spec_dir: str | None) -> str:
    """``path`` resolved from the job file's directory when it is relative.

    Pure: no file system access. ``~`` paths are left for submit to expand (the home
    directory is the machine's, not the plan's).
    """
    if spec_dir is None or posixpath.isabs(path) or path.startswith("~"):
        return path
    return posixpath.normpath(posixpath.join(spec_dir, path))


def local_data_path(spec: JobSpec, spec_dir: str | None = None) -> str | None:
    """The job's data as a local path (``file://`` stripped), or None when it has none.

    A relative path resolves from ``spec_dir`` (the job file's directory) when given.
    Raises SpecError for cloud URIs: the local provider never downloads.
    """
    uri = spec.trainer.data.uri
    if not uri:
        return None
    if uri.startswith("file://"):
        return anchored(uri[len("file://") :], spec_dir)
    if "://" in uri:
        scheme = uri.split("://", 1)[0]
        raise SpecError(
            f"trainer.data.uri: the local provider reads local files only (got a {scheme}:// URI)",
            hint="copy the data here and point trainer.data.uri at the file or directory, "
            "e.g. --set trainer.data.uri=./data/train.csv",
        )
    return anchored(uri, spec_dir)


def contract_inputs(spec: JobSpec, *, run_dir: str, job_name: str, job_hash: str) -> ContractInputs:
    """What the emulated contracts need, derived from the spec."""
    accelerator = spec.resources.parsed_accelerator
    azure = spec.providers.azure
    scope = {
        "subscription_id": azure.subscription_id,
        "resource_group": azure.resource_group,
        "workspace": azure.workspace,
        "experiment_name": azure.experiment_name,
    }
    container, azure_requires = None, None
    if spec.image != "prebuilt":
        from providers.gcp.render import UNPACK_AND_RUN

        container = ["sh", "-c", UNPACK_AND_RUN]
    elif not azure.environment:
        from providers.azure.environment import environment_pip_list, trainer_environment

        azure_requires = environment_pip_list(
            trainer_environment(spec.trainer.model.kind, spec.trainer.data.source)
        )
    return ContractInputs(
        vertex_container=container,
        azure_requires=azure_requires,
        image_requires=[
            *package_requirements(),
            *job_requirements(spec.trainer.model.kind, spec.trainer.data.source),
        ],
        run_dir=run_dir,
        job_name=job_name,
        job_hash=job_hash,
        nodes=spec.resources.nodes,
        processes_per_node=spec.processes_per_node,
        gpus_per_node=accelerator.count if accelerator.is_gpu else 0,
        has_data=local_data_path(spec) is not None,
        content_type=_CONTENT_TYPES.get(spec.trainer.data.source),
        streaming=resolved_mode(spec.trainer.data) == "stream",
        instance_type=spec.resources.instance_type,
        region=spec.resources.region,
        azure={k: v for k, v in scope.items() if v},
    )


def render_request(
    spec: JobSpec,
    *,
    run_dir: str,
    job_name: str,
    job_hash: str,
    options: LocalOptions,
    spec_dir: str | None = None,
) -> dict[str, Any]:
    """The request dict (JSON-able, deterministic).

    Relative ``code:`` and data paths resolve from ``spec_dir``, the job file's directory
    (without one, as for a spec built in Python, submit resolves them from the current one).
    """
    inputs = contract_inputs(spec, run_dir=run_dir, job_name=job_name, job_hash=job_hash)
    if inputs.world_size > MAX_PROCESSES:
        raise SpecError(
            f"resources.nodes x processes per node = {inputs.world_size} local processes, "
            f"more than the local provider starts ({MAX_PROCESSES})",
            hint="for a local rehearsal try --set resources.nodes=1 "
            "--set distributed.processes_per_node=1",
        )
    lay = layout(options.emulate, inputs)
    python = options.python or PYTHON
    script = None
    if spec.script is not None:  # your own script instead of the trainer (script_run.py)
        from providers.local.script_run import script_request

        script = script_request(spec, lay, inputs, python=python, spec_dir=spec_dir)
        lay = script.pop("layout")
    ranks = script.pop("ranks") if script else []
    for node_index, node in enumerate([] if script else lay.nodes):
        for local_rank in range(inputs.processes_per_node):
            env = {**spec.env, **node.env, **rank_env(inputs, node_index, local_rank)}
            ranks.append(
                {
                    "rank": node_index * inputs.processes_per_node + local_rank,
                    "node": node_index,
                    "local_rank": local_rank,
                    "argv": [python if arg == PYTHON else arg for arg in node.argv],
                    "cwd": node.cwd,
                    "env": dict(sorted(env.items())),
                }
            )
    return {
        "run_dir": run_dir,
        "job_name": job_name,
        "emulate": options.emulate,
        "python": python,
        "nodes": inputs.nodes,
        "processes_per_node": inputs.processes_per_node,
        "world_size": inputs.world_size,
        "grace_period": options.grace_period,
        "max_runtime": spec.limits.max_runtime,
        "restarts": spec.scaling.restarts,
        # a script job's config.json is its launcher config (the trainer's is unused)
        "config": script["script"]["config"] if script else spec.trainer.model_dump(mode="json"),
        "code_dir": None if spec.code is None else anchored(spec.code, spec_dir),
        "data": {"uri": local_data_path(spec, spec_dir), "channel_dirs": lay.data_dirs}
        if inputs.has_data
        else None,
        "secrets": {
            key: {"source": ref.source, "ref": ref.ref} for key, ref in sorted(spec.secrets.items())
        },
        "layout": lay.model_dump(
            mode="json",
            exclude={"nodes", "emulate", "data_dirs"}
            | ({"python_env"} if not lay.python_env else set()),
        ),
        "ranks": ranks,
        **({"script": script["script"]} if script else {}),
    }


def _image_summary(spec: JobSpec, python_env: dict[str, Any] | None) -> str:
    if spec.script is not None:
        listed = f" and {spec.script.requirements}" if spec.script.requirements else ""
        return f"your script, in an isolated environment holding torch{listed}"
    if python_env:
        python = f"an isolated environment holding what {python_env['label']} declares"
    else:
        python = "this machine's Python"
    if spec.image == "prebuilt":
        return f"the trainer bundle with {python}"
    return f"{spec.image} is not run locally; the trainer bundle runs with {python}"


def build_plan(
    spec: JobSpec,
    *,
    run_dir: str,
    job_name: str,
    job_hash: str,
    options: LocalOptions,
    spec_dir: str | None = None,
) -> Plan:
    """The full Plan: request, handle ``local://<run dir>`` and a human summary."""
    request = render_request(
        spec,
        run_dir=run_dir,
        job_name=job_name,
        job_hash=job_hash,
        options=options,
        spec_dir=spec_dir,
    )
    emulate = options.emulate
    summary = {
        "run_dir": run_dir,
        "emulate": "none (plain local run)" if emulate == "none" else emulate,
        "nodes": request["nodes"],
        "processes_per_node": request["processes_per_node"],
        "world_size": request["world_size"],
        "accelerator": f"{spec.resources.accelerator} (emulated; the trainer uses what this "
        "machine has)"
        if spec.resources.accelerator != "none"
        else "none",
        "max_runtime": format_duration(spec.limits.max_runtime),
        "image": _image_summary(spec, request["layout"].get("python_env")),
        "command": shlex.join(request["ranks"][0]["argv"]),
    }
    if spec.script is not None:
        summary["script"] = shlex.join(["python", *spec.script.command])
    return Plan(
        provider="local",
        operation=OPERATION,
        request=request,
        handle=str(JobHandle(provider="local", parts=(run_dir,))),
        job_name=job_name,
        summary=summary,
    )
