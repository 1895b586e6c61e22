"""The local plan: pure, deterministic, machine-independent, and golden.

Regenerate the golden files with ``CLOUDGD_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from local_support import FIXED_NOW, load_spec

from cloudgd.errors import SpecError
from cloudgd.plan import JobHandle, RenderContext
from cloudgd.spec import JobSpec
from providers.local.provider import LocalProvider
from tests.support.golden import assert_golden

GOLDEN = Path(__file__).parent / "golden"
FIXED_CTX = RenderContext(now=FIXED_NOW, runs_dir="/runs")

CASES: dict[str, dict[str, object]] = {
    "digits-none": {},
    "digits-aws-2node": {
        "resources": {"nodes": 2},
        "providers": {"local": {"emulate": "aws"}},
    },
    "digits-gcp": {"providers": {"local": {"emulate": "gcp"}}},
    "digits-azure-csv": {
        "trainer": {
            "data": {"source": "csv", "uri": "data/train.csv", "target": "label"},
            "epochs": 1,
        },
        "providers": {"local": {"emulate": "azure"}},
    },
}


def case_spec(name: str) -> JobSpec:
    return load_spec(**CASES[name])  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_matches_golden(name: str) -> None:
    text = LocalProvider().plan(case_spec(name), FIXED_CTX).to_json()
    path = GOLDEN / f"{name}.json"
    assert_golden(path, text)


def test_same_inputs_give_byte_identical_plans() -> None:
    spec = case_spec("digits-aws-2node")
    assert LocalProvider().plan(spec, FIXED_CTX).to_json() == (
        LocalProvider().plan(spec, FIXED_CTX).to_json()
    )


def test_plan_names_the_run_dir_and_handle() -> None:
    plan = LocalProvider().plan(load_spec(), FIXED_CTX)
    assert plan.operation == "local:run"
    assert plan.request["run_dir"] == f"/runs/{plan.job_name}"
    assert plan.handle == f"local:///runs/{plan.job_name}"
    assert JobHandle.parse(plan.handle).parts == (f"/runs/{plan.job_name}",)


def test_plan_holds_no_machine_specific_interpreter_or_cwd(tmp_path: Path) -> None:
    text = LocalProvider().plan(load_spec(), FIXED_CTX).to_json()
    assert sys.executable not in text
    assert os.getcwd() not in text
    assert json.loads(text)["request"]["python"] == "{python}"


def test_explicit_python_option_is_used_verbatim() -> None:
    spec = load_spec(providers={"local": {"python": "/opt/py/bin/python3"}})
    plan = LocalProvider().plan(spec, FIXED_CTX)
    assert {r["argv"][0] for r in plan.request["ranks"]} == {"/opt/py/bin/python3"}


def test_idempotency_key_changes_the_run_dir() -> None:
    spec = load_spec()
    plain = LocalProvider().plan(spec, FIXED_CTX)
    keyed = LocalProvider().plan(spec, FIXED_CTX.model_copy(update={"idempotency_key": "ci-42"}))
    assert plain.request["run_dir"] != keyed.request["run_dir"]


def test_runs_dir_precedence_context_then_provider_then_spec_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDGD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CLOUDGD_RUNS_DIR", raising=False)
    spec = load_spec(providers={"local": {"runs_dir": str(tmp_path / "from-spec")}})
    bare = RenderContext(now=FIXED_NOW)

    def root(provider: LocalProvider, ctx: RenderContext, s: JobSpec = spec) -> str:
        return str(Path(provider.plan(s, ctx).request["run_dir"]).parent)

    assert root(LocalProvider(runs_dir="/p"), FIXED_CTX) == "/runs"
    assert root(LocalProvider(runs_dir="/p"), bare) == "/p"
    assert root(LocalProvider(), bare) == str(tmp_path / "from-spec")
    assert root(LocalProvider(), bare, load_spec()) == str(tmp_path / "home" / "runs")


def test_every_rank_is_listed_with_its_own_environment() -> None:
    spec = load_spec(resources={"nodes": 2}, distributed={"processes_per_node": 2})
    ranks = LocalProvider().plan(spec, FIXED_CTX).request["ranks"]
    assert [(r["rank"], r["node"], r["local_rank"]) for r in ranks] == [
        (0, 0, 0),
        (1, 0, 1),
        (2, 1, 0),
        (3, 1, 1),
    ]
    assert [r["env"]["RANK"] for r in ranks] == ["0", "1", "2", "3"]
    assert {r["env"]["WORLD_SIZE"] for r in ranks} == {"4"}
    assert {r["env"]["OMP_NUM_THREADS"] for r in ranks} == {"1"}  # spec.env reaches every rank


def test_gpu_spec_runs_one_process_per_gpu() -> None:
    spec = load_spec(resources={"accelerator": "T4:2"})
    plan = LocalProvider().plan(spec, FIXED_CTX)
    assert plan.request["world_size"] == 2
    assert "emulated" in plan.summary["accelerator"]


def test_a_cloud_sized_job_is_refused_before_it_forks_hundreds_of_processes() -> None:
    spec = load_spec(resources={"nodes": 16, "accelerator": "A100:8"})
    with pytest.raises(SpecError, match=r"128 local processes, more than the local provider"):
        LocalProvider().plan(spec, FIXED_CTX)
    fits = load_spec(resources={"nodes": 8, "accelerator": "A100:8"})
    assert LocalProvider().plan(fits, FIXED_CTX).request["world_size"] == 64


def test_secrets_appear_as_references_never_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", "s3cr3t-value")
    spec = load_spec(secrets={"API_TOKEN": {"source": "env", "ref": "MY_TOKEN"}})
    text = LocalProvider().plan(spec, FIXED_CTX).to_json()
    assert "s3cr3t-value" not in text
    assert json.loads(text)["request"]["secrets"] == {
        "API_TOKEN": {"source": "env", "ref": "MY_TOKEN"}
    }


@pytest.mark.parametrize("uri", ["s3://bucket/train.csv", "gs://b/x.csv", "azureml://d/x"])
def test_cloud_data_uris_are_refused_with_the_field_named(uri: str) -> None:
    spec = load_spec(trainer={"data": {"source": "csv", "uri": uri}})
    with pytest.raises(SpecError, match=r"trainer\.data\.uri: the local provider reads local"):
        LocalProvider().plan(spec, FIXED_CTX)


def test_file_uri_is_a_local_path() -> None:
    spec = load_spec(trainer={"data": {"source": "npz", "uri": "file:///data/x.npz"}})
    assert LocalProvider().plan(spec, FIXED_CTX).request["data"]["uri"] == "/data/x.npz"


def test_plan_imports_no_torch_or_cloud_sdk() -> None:
    import subprocess

    code = (
        "import sys; from datetime import datetime, UTC;"
        "from cloudgd.spec import JobSpec; from cloudgd.plan import RenderContext;"
        "from providers.local.provider import LocalProvider;"
        "LocalProvider().plan(JobSpec(name='x1'), RenderContext(now=datetime.now(UTC), "
        "runs_dir='/r'));"
        "bad = [m for m in ('torch', 'boto3', 'azure.ai.ml', 'google.cloud.aiplatform') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root
    )
    assert result.returncode == 0, result.stdout + result.stderr
