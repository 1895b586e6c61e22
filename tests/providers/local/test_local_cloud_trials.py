"""Contract tests: one real tuning trial through each cloud's in-container path, tiny size.

The local plan of a rehearsal is the single job as each cloud starts it (the Vertex
sdist pip-installed into an isolated environment and ``python -m trainers``; Azure's
command in an environment holding only its conda pip list). A trial is that job plus
what the tuning service adds, taken from the rendered tuning request itself: Vertex
appends ``--<parameterId>=<value>`` and sets ``CLOUD_ML_TRIAL_ID``; an Azure ML sweep
runs the trial command with ``${{search_space.*}}`` substituted. The trainer must
train with the trial's value and report the objective where the service reads it.
(The single jobs run in test_local_emulation.py and test_local_isolated_env.py.)
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from local_support import load_spec, wait_done

from cloudgd.plan import BundleRef, JobHandle, JobState, Plan, RenderContext
from providers.local.provider import LocalProvider

pytestmark = pytest.mark.slow

TUNING: dict[str, Any] = {
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {"trainer.epochs": {"type": "choice", "values": [1, 2]}},
    "max_trials": 2,
    "parallel_trials": 1,
    "strategy": "grid",
}
SDIST = BundleRef(path="/b/t.tar.gz", sha256="0" * 64, filename="t.tar.gz", format="sdist")
TAR = BundleRef(path="/b/t.tar.gz", sha256="0" * 64, filename="t.tar.gz", format="tar.gz")


def _with_trial(plan: Plan, args: list[str], env: dict[str, str]) -> Plan:
    request = json.loads(json.dumps(plan.request))
    for rank in request["ranks"]:
        rank["argv"] += args
        rank["env"] = {**rank["env"], **env}
    return plan.model_copy(update={"request": request})


def _epochs_trained(final_extra: dict[str, Any]) -> int:
    metrics = Path(final_extra["artifacts"]["output_dir"]) / "metrics.jsonl"
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    return len({r["epoch"] for r in records if "epoch" in r and "val_loss" in r})


def _run(provider: LocalProvider, plan: Plan) -> Any:
    final = wait_done(provider, provider.submit(plan), timeout=300)
    log = "\n".join(list(provider.logs(JobHandle.parse(plan.handle)))[-20:])
    assert final.state is JobState.SUCCEEDED, f"{final.message}\n{log}"
    return final


def test_a_vertex_tuning_trial_runs_in_the_pip_installed_package(
    provider: LocalProvider, ctx: RenderContext
) -> None:
    from providers.gcp.tuning import HP_METRIC_ENV, render_tuning

    spec = load_spec(tuning=TUNING, providers={"local": {"emulate": "gcp"}})
    tuning = render_tuning(spec, RenderContext(now=ctx.now, bundle=SDIST), rehearsal=True)
    job = tuning.request["hyperparameterTuningJob"]
    [parameter] = job["studySpec"]["parameters"]
    [code] = job["trialJobSpec"]["workerPoolSpecs"]
    metric_env = {e["name"]: e["value"] for e in code["pythonPackageSpec"]["env"]}
    # what Vertex appends to the trial's arguments, and the trial id it sets
    trial_args = [f"--{parameter['parameterId']}=2"]
    plan = _with_trial(
        provider.plan(spec, ctx),
        trial_args,
        {"CLOUD_ML_TRIAL_ID": "7", HP_METRIC_ENV: metric_env[HP_METRIC_ENV]},
    )
    final = _run(provider, plan)
    assert _epochs_trained(final.extra) == 2  # the trial's value, not the spec's 1
    hp_file = Path(plan.request["ranks"][0]["env"]["CLOUD_ML_HP_METRIC_FILE"])
    reports = [json.loads(line) for line in hp_file.read_text().splitlines()]
    assert reports and all(r["trial"] == "7" and "val_loss" in r for r in reports)


def test_an_azure_sweep_trial_runs_the_trial_command_in_the_declared_environment(
    provider: LocalProvider, ctx: RenderContext
) -> None:
    from providers.azure.tuning import render_tuning

    spec = load_spec(tuning=TUNING, providers={"local": {"emulate": "azure"}})
    sweep = render_tuning(spec, RenderContext(now=ctx.now, bundle=TAR), rehearsal=True)
    trial = sweep.request["trial"]
    # the sweep's trial command is the single job's plus the overrides Azure substitutes
    single = provider.plan(spec, ctx)
    base = shlex.split(trial["command"])
    added = base[base.index("--set") :]
    substituted = [a.replace("${{search_space.trainer_epochs}}", "2") for a in added]
    assert substituted == ["--set", "trainer.epochs=2"]
    plan = _with_trial(single, substituted, trial["environment_variables"])
    assert plan.request["layout"]["python_env"]["label"] == "the Azure ML environment"
    final = _run(provider, plan)
    assert _epochs_trained(final.extra) == 2
