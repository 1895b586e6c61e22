"""``--run-local`` of a Vertex AI script job in python-package mode: what Vertex runs.

A ``pythonPackageSpec`` worker pool names an executor image "that will run the provided
Python package", the ``packageUris`` of "the Python package files which are the training
program and its dependent packages", the ``pythonModule`` "to run after installing the
packages", its ``args`` ("Command line arguments to be passed to the Python task") and
``env`` ("Environment variables to be passed to the python module")
(``google.cloud.aiplatform_v1.types.PythonPackageSpec``). The rehearsal does exactly
that with the request the render made and the package the submit uploaded:

* each ``packageUris`` object is downloaded from the fake's Cloud Storage (the bytes the
  submit put there, the same that go to Google Cloud);
* pip installs it offline (``--no-index --no-deps --no-build-isolation``) into an
  isolated environment that holds the image's torch and what the package's own
  metadata declares, nothing else (``providers/local/isolated_env.py``): a package pip
  cannot build, or one that leaves out a dependency, fails here as it fails on Vertex;
* every node runs ``python -m <pythonModule> <args>`` with ``env`` set;
* Cloud Storage FUSE shows each bucket at ``/gcs/<bucket>/`` (Vertex docs,
  cloud-storage-file-system): the run directory's ``gcs/`` stands in for that mount,
  holding the inputs copied from the fake store at their FUSE paths, and every
  ``/gcs/`` path in ``args`` and ``env`` is read under it.

What stays cloudgd's emulation (``providers/local/contracts_vertex_azure.py``): the
container's own variables (``AIP_*`` name local directories, not ``gs://`` URIs;
``CLUSTER_SPEC``, ``CLOUD_ML_JOB_ID``), the image (this machine's Python and torch),
and several nodes as local processes.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudgd.errors import ProviderError
from cloudgd.home import runs_dir as default_runs_dir
from cloudgd.plan import Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.base import Provider
from providers.gcp.inputs import download_input
from providers.gcp.script_render import fuse_folder
from providers.local.contracts import PYTHON
from providers.local.contracts_vertex_azure import VERTEX_IMAGE_PACKAGES

if TYPE_CHECKING:
    from providers.gcp.provider import GcpProvider
    from providers.local.tuning_jobs import TrialPlanner

LABEL = "the Vertex package"
_FUSE = re.compile(r"(^|[=:,])/gcs/")  # a FUSE path as a value, or after NAME= / a separator


def package_spec(cloud_request: dict[str, Any]) -> dict[str, Any] | None:
    """The first worker pool's ``pythonPackageSpec``, or None (a custom container). The
    render gives every pool the same code spec, so it is what runs on every node."""
    pools = cloud_request["customJob"]["jobSpec"]["workerPoolSpecs"]
    spec = pools[0].get("pythonPackageSpec")
    return dict(spec) if spec else None


def under_mount(text: str, gcs_root: str) -> str:
    """``text`` with each ``/gcs/`` FUSE path read under ``gcs_root`` instead."""
    return _FUSE.sub(lambda m: f"{m.group(1)}{gcs_root.rstrip('/')}/", text)


def package_request(
    local_request: dict[str, Any],
    pool: dict[str, Any],
    package: str,
    inputs: dict[str, str],
) -> dict[str, Any]:
    """The local provider's ``emulate: gcp`` request of a script job, rewritten to run
    ``pool`` (a ``pythonPackageSpec``): ``package`` (a local copy of its one package
    file) installed into the isolated environment, ``python -m <pythonModule> <args>``
    on every node, and each input (channel -> its ``gs://`` URI) at its FUSE path."""
    out = copy.deepcopy(local_request)
    run = out["run_dir"]
    gcs_root = f"{run}/gcs"
    env = {item["name"]: under_mount(item["value"], gcs_root) for item in pool.get("env", [])}
    argv = [PYTHON, "-m", pool["pythonModule"]]
    argv += [under_mount(arg, gcs_root) for arg in pool.get("args", [])]
    for rank in out["ranks"]:
        rank["argv"] = list(argv)
        rank["cwd"] = f"{run}/vertex/wd"  # not the package: Vertex installs it, never unpacks
        rank["env"] = dict(sorted({**rank["env"], **env}.items()))
    layout = out["layout"]
    emulated = {d for channel in out["script"]["inputs"].values() for d in channel["dirs"]}
    mounted = {}
    for name, uri in inputs.items():
        mounted[name] = under_mount(fuse_folder(uri), gcs_root)
        out["script"]["inputs"][name]["dirs"] = [mounted[name]]
    layout["dirs"] = [d for d in layout["dirs"] if d not in emulated] + sorted(mounted.values())
    layout["code_dirs"] = []  # nothing unpacked: the installed package is the code
    layout["python_env"] = {
        "label": LABEL,
        "base": list(VERTEX_IMAGE_PACKAGES),
        "requires": [],  # what the package declares comes from its own metadata
        "sdist": package,
    }
    uris = ", ".join(pool.get("packageUris", []))
    out["notes"] = [
        *out.get("notes", []),
        f"rehearsal: Vertex python-package mode runs this job: pip installs {uris} "
        f"(no index, no downloads), then python -m {pool['pythonModule']} with the request's "
        f"args and env; /gcs/ is {gcs_root}/",
    ]
    return out


def fetch_package(provider: GcpProvider, cloud_plan: Plan, pool: dict[str, Any], dest: Path) -> str:
    """A local copy of the pool's package file, from the fake's Cloud Storage."""
    uris = list(pool.get("packageUris") or [])
    if len(uris) != 1:
        raise ProviderError(
            f"pythonPackageSpec.packageUris: the rehearsal installs one package, the request "
            f"names {len(uris)}",
            hint="cloudgd renders one sdist per job; plan the job again",
        )
    _, project, _, location = cloud_plan.request["parent"].split("/")
    api = provider._api(location, provider._fake_endpoint(), project)
    return str(download_input(api, uris[0], dest, project))


def rehearsal_plan(
    provider: GcpProvider, cloud_plan: Plan, spec: JobSpec, ctx: RenderContext, local: Provider
) -> Plan:
    """The local plan of a python-package script job's rehearsal (after the submit put the
    package and checked the inputs in the fake store)."""
    pool = package_spec(cloud_plan.request)
    assert pool is not None and spec.script is not None
    copies = Path(ctx.runs_dir or default_runs_dir()).absolute() / ".inputs" / cloud_plan.job_name
    inputs = dict(cloud_plan.summary.get("inputs") or {})
    if provider._reads_backend_data(spec):
        spec = provider._with_backend_data(cloud_plan, spec, ctx)
    plan = local.plan(spec, ctx.model_copy(update={"bundle": None}))
    package = fetch_package(provider, cloud_plan, pool, copies / ".package")
    request = package_request(plan.request, pool, package, inputs)
    summary = {
        **plan.summary,
        "command": " ".join(["python", *request["ranks"][0]["argv"][1:]]),
        "rehearsal": "Vertex's python-package mode: the uploaded package, pip-installed",
    }
    return plan.model_copy(update={"request": request, "summary": summary})


def trial_planner(
    provider: GcpProvider, tuning_plan: Plan, ctx: RenderContext
) -> TrialPlanner | None:
    """How ``tune --run-local`` rehearses each trial of a python-package script study: the
    trial job spec's package and module, with the trial's values appended to its args as
    ``--<parameterId>=<value>`` (how cloudgd's Vertex render expects them, see
    ``providers/gcp/tuning.py``); None for other studies (the local emulation runs them)."""
    from cloudgd import registry
    from cloudgd.rehearsal import with_inputs
    from cloudgd.tuning.names import cloud_name
    from cloudgd.tuning.space import value_text

    job = tuning_plan.request["hyperparameterTuningJob"]
    pools = job["trialJobSpec"]["workerPoolSpecs"]
    pool = pools[0].get("pythonPackageSpec")
    if "script" not in tuning_plan.summary or not pool:
        return None
    copies = Path(ctx.runs_dir or default_runs_dir()).absolute() / ".inputs"
    copies = copies / tuning_plan.job_name
    package = fetch_package(provider, tuning_plan, pool, copies / ".package")
    inputs = dict(tuning_plan.summary.get("inputs") or {})
    local_copies = provider.rehearsal_inputs(tuning_plan, copies)  # once, for every trial

    def plan(spec: JobSpec, values: dict[str, Any], trial_ctx: RenderContext, number: int) -> Plan:
        local = registry.create(registry.LOCAL, runs_dir=trial_ctx.runs_dir)
        spec = with_inputs(spec, local_copies)
        local_plan = local.plan(spec, trial_ctx.model_copy(update={"bundle": None}))
        values_args = [f"--{cloud_name(path)}={value_text(v)}" for path, v in values.items()]
        trial_pool = {**pool, "args": [*pool.get("args", []), *values_args]}
        request = package_request(local_plan.request, trial_pool, package, inputs)
        for rank in request["ranks"]:  # the trial id cloudml-hypertune reads
            rank["env"] = dict(
                sorted({**rank["env"], "CLOUD_ML_TRIAL_ID": str(number + 1)}.items())
            )
        summary = {
            **local_plan.summary,
            "command": " ".join(["python", *request["ranks"][0]["argv"][1:]]),
        }
        return local_plan.model_copy(update={"request": request, "summary": summary})

    return plan
