"""``--run-local`` of an Azure ML script job: the job's own ``command``, as Azure ML runs it.

A command job is "the command to execute on startup of the job" (REST
``CommandJob.command``) run in its ``code`` folder (the command job YAML reference's
``command: ls`` with ``code: src`` example lists the code), with its
``environment_variables`` "set on the process where the command is executed" (same
reference), in its ``environment``. The rehearsal runs exactly the rendered body's
``command``:

* the code snapshot is downloaded from the fake's blob store (the folder the submit
  uploaded as the code asset) and copied into the run's working directory;
* ``${{inputs.<name>}}`` and ``${{outputs.<name>}}`` are substituted with each input's
  and output's local path ("References to an input data asset or model" / "an output
  data asset or model", "Works for all jobs": Azure ML's expressions page); a literal
  input becomes its value; any other expression refuses the rehearsal, naming it;
* the command runs through a shell (the reference's ``command: echo $hello_env_var``
  example expands a variable) in an isolated environment holding exactly the inline
  environment's conda ``pip`` list (``providers/local/isolated_env.py``), so a package
  the environment leaves out fails here as it fails there.

What stays cloudgd's emulation (``providers/local/contracts_vertex_azure.py``): the
``AZUREML_*`` variables, ``MLFLOW_TRACKING_URI``, torchrun's variables per process under
``distribution: pytorch``, mounts (local directories, not blobfuse), the image (this
machine's Python; the conda ``python=`` pin is only compared).
"""

from __future__ import annotations

import copy
import os
import platform
import re
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudgd.errors import ProviderError
from cloudgd.home import runs_dir as default_runs_dir
from cloudgd.plan import JobHandle, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.azure import code_asset
from providers.azure.scope import WorkspaceScope
from providers.base import Provider

if TYPE_CHECKING:
    from providers.azure.provider import AzureProvider
    from providers.local.tuning_jobs import TrialPlanner

LABEL = "the Azure ML environment"
SHELL = "bash"
# Azure's expression format is ${{ <expression> }}; spaces inside the braces are allowed.
_EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
_BINDING = re.compile(r"(inputs|outputs|search_space)\.([A-Za-z0-9_]+)")
_KINDS = {"inputs": "input", "outputs": "output", "search_space": "hyperparameter"}


def substitute(
    command: str,
    inputs: dict[str, str],
    outputs: dict[str, str],
    search_space: dict[str, str] | None = None,
) -> str:
    """``command`` with each ``${{inputs.<name>}}`` / ``${{outputs.<name>}}`` replaced by
    ``inputs[name]`` / ``outputs[name]`` (and, for a sweep's trial, each
    ``${{search_space.<name>}}`` by the trial's value); ProviderError naming an
    expression that is none of these, or a name the job does not define."""
    tables = {"inputs": inputs, "outputs": outputs}
    if search_space is not None:
        tables["search_space"] = search_space

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        binding = _BINDING.fullmatch(expression)
        if binding is None or binding.group(1) not in tables:
            allowed = " and ".join(f"${{{{{kind}.<name>}}}}" for kind in tables)
            raise ProviderError(
                f"command: ${{{{{expression}}}}}: this job substitutes only {allowed}"
            )
        kind, name = binding.groups()
        found = tables[kind].get(name)
        if found is None:
            raise ProviderError(
                f"command: ${{{{{expression}}}}}: the job has no {_KINDS[kind]} named {name!r}"
            )
        return found

    return _EXPRESSION.sub(value, command)


def environment(job: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """The isolated environment the job's inline environment describes (its conda pip
    list), and notes; None for a registered environment or an image without a conda
    file (their contents are not known offline: the local emulation's stands in)."""
    env = job.get("environment")
    if not isinstance(env, dict) or not isinstance(env.get("conda_file"), dict):
        what = f"image {env.get('image')}" if isinstance(env, dict) else env
        return None, [
            f"rehearsal: the environment {what} cannot be inspected offline; "
            "rehearsing with torch and script.requirements"
        ]
    pip: list[str] = []
    pinned = None
    for dep in env["conda_file"].get("dependencies") or []:
        if isinstance(dep, dict):
            pip += [str(line) for line in dep.get("pip") or []]
        elif str(dep).startswith("python="):
            pinned = str(dep).removeprefix("python=")
    notes = []
    here = platform.python_version()
    if pinned and not here.startswith(pinned):
        notes.append(f"rehearsal: the environment pins python={pinned}; rehearsing with {here}")
    return {"label": LABEL, "base": [], "requires": pip}, notes


def command_request(
    local_request: dict[str, Any],
    job: dict[str, Any],
    snapshot: str,
    search_space: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The local provider's ``emulate: azure`` request of a script job, rewritten to run
    ``job``'s own ``command`` (substituted; ``search_space``: a sweep trial's values)
    from a copy of ``snapshot``, the code folder."""
    out = copy.deepcopy(local_request)
    root = f"{out['run_dir']}/azureml"
    wd = f"{root}/wd"
    inputs = {}
    for name, spec in (job.get("inputs") or {}).items():
        literal = not isinstance(spec, dict) or "value" in spec
        inputs[name] = str(spec.get("value") if isinstance(spec, dict) else spec)
        if not literal:
            inputs[name] = f"{root}/inputs/{name}"
    outputs = {name: f"{root}/outputs/{name}" for name in job.get("outputs") or {}}
    command = substitute(job["command"], inputs, outputs, search_space)
    variables = {str(k): str(v) for k, v in (job.get("environment_variables") or {}).items()}
    for rank in out["ranks"]:
        rank["argv"] = [SHELL, "-c", command]
        rank["cwd"] = wd
        rank["env"] = dict(sorted({**rank["env"], **variables}.items()))
    layout = out["layout"]
    layout["dirs"] = list(dict.fromkeys([*layout["dirs"], *outputs.values()]))
    layout["code_dirs"] = []  # the snapshot, not a local rebuild, is the working directory
    layout["copies"] = {wd: snapshot}
    layout["bindings"] = {}  # substituted above, as Azure ML does before the command starts
    python_env, notes = environment(job)
    if python_env is not None:
        layout["python_env"] = python_env
    out["notes"] = [
        *out.get("notes", []),
        f"rehearsal: Azure ML's command job runs this job: {SHELL} -c '{command}' in a copy "
        f"of the uploaded code snapshot {job.get('code')}",
        *notes,
    ]
    return out


def fetch_snapshot(provider: AzureProvider, cloud_plan: Plan, code: str, dest: Path) -> str:
    """A local copy of the code asset ``code`` (an ARM id), from the fake's blob store
    (fetched once)."""
    name, version = code_asset.name_and_version(code)
    if not dest.is_dir():
        scope = WorkspaceScope.of_handle(JobHandle.parse(cloud_plan.handle))
        client = provider._connect(scope, "fake", provider._fake_endpoint(), 0)
        partial = dest.parent / f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        try:
            client.download_code(name, version, partial)
            partial.rename(dest)
        except OSError:
            if not dest.is_dir():  # not a parallel rehearsal that fetched it first
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return str(dest)


def rehearsal_plan(
    provider: AzureProvider, cloud_plan: Plan, spec: JobSpec, ctx: RenderContext, local: Provider
) -> Plan:
    """The local plan of a script job's rehearsal (after the submit uploaded the code and
    checked the inputs in the fake store)."""
    copies = Path(ctx.runs_dir or default_runs_dir()).absolute() / ".inputs" / cloud_plan.job_name
    if provider._reads_backend_data(spec):
        spec = provider._with_backend_data(cloud_plan, spec, ctx)
    plan = local.plan(spec, ctx.model_copy(update={"bundle": None}))
    code = str(cloud_plan.request["code"])
    snapshot = fetch_snapshot(provider, cloud_plan, code, copies / ".code")
    request = command_request(plan.request, cloud_plan.request, snapshot)
    summary = {
        **plan.summary,
        "command": request["ranks"][0]["argv"][2],
        "rehearsal": "Azure ML's command job: the rendered command, from the uploaded code",
    }
    return plan.model_copy(update={"request": request, "summary": summary})


def trial_planner(
    provider: AzureProvider, tuning_plan: Plan, ctx: RenderContext
) -> TrialPlanner | None:
    """How ``tune --run-local`` rehearses each trial of a script sweep: the sweep's
    ``trial`` command with ``${{search_space.<name>}}`` substituted by the trial's values
    ("The hyperparameter values for each trial are selected based on the search_space":
    Azure ML's expressions page), from the uploaded snapshot; None for other sweeps."""
    from cloudgd import registry
    from cloudgd.rehearsal import with_inputs
    from cloudgd.tuning.space import identifier, value_text

    sweep = tuning_plan.request
    if "script" not in tuning_plan.summary:
        return None
    trial_job = {**sweep["trial"], "inputs": sweep.get("inputs"), "outputs": sweep.get("outputs")}
    copies = Path(ctx.runs_dir or default_runs_dir()).absolute() / ".inputs"
    copies = copies / tuning_plan.job_name
    snapshot = fetch_snapshot(provider, tuning_plan, str(trial_job["code"]), copies / ".code")
    local_copies = provider.rehearsal_inputs(tuning_plan, copies)  # once, for every trial

    def plan(spec: JobSpec, values: dict[str, Any], trial_ctx: RenderContext, number: int) -> Plan:
        local = registry.create(registry.LOCAL, runs_dir=trial_ctx.runs_dir)
        local_plan = local.plan(
            with_inputs(spec, local_copies), trial_ctx.model_copy(update={"bundle": None})
        )
        space = {identifier(path): value_text(value) for path, value in values.items()}
        request = command_request(local_plan.request, trial_job, snapshot, space)
        summary = {**local_plan.summary, "command": request["ranks"][0]["argv"][2]}
        return local_plan.model_copy(update={"request": request, "summary": summary})

    return plan
