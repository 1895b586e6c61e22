"""Each emulated cloud contract, seen from inside a real rank process.

A probe script stands in for the trainer: it reports what the platform gave it
(working dir, argv, env, files) and the test checks that against the contract.
The last test runs the real trainer under every emulation once it exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from local_support import ScriptPlan, load_spec, wait_done

from cloudgd.plan import JobHandle, JobState, RenderContext
from providers.local.provider import LocalProvider

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import json, os, sys
from pathlib import Path
import importlib.util
sys.path.insert(0, os.getcwd())  # as `python -m trainers` or `python cloudgd_entry.py` would
spec = importlib.util.find_spec("trainers")
report = {
    "cwd": os.getcwd(),
    "argv": sys.argv[1:],
    "executable": sys.executable,
    "env": dict(os.environ),
    "trainers": str(Path(spec.origin).parent) if spec and spec.origin else None,
    "files": sorted(p.name for p in Path.cwd().iterdir()),
}
Path(os.environ["PROBE_OUT"]).write_text(json.dumps(report))
"""


def probe(
    provider: LocalProvider,
    ctx: RenderContext,
    scripted: ScriptPlan,
    tmp_path: Path,
    **updates: object,
) -> tuple[dict[str, Any], dict[str, Any]]:
    out = tmp_path / "probe.json"
    env = {"OMP_NUM_THREADS": "1", "PROBE_OUT": str(out)}
    spec = load_spec(env=env, **updates)
    plan = scripted(provider.plan(spec, ctx), PROBE, keep_args=True)
    final = wait_done(provider, provider.submit(plan))
    assert final.state is JobState.SUCCEEDED, final.message
    return json.loads(out.read_text()), plan.request


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "train.csv"
    path.parent.mkdir()
    path.write_text("x,label\n1,0\n2,1\n")
    return path


def test_sagemaker_contract_inside_the_rank(
    provider: LocalProvider,
    ctx: RenderContext,
    scripted: ScriptPlan,
    tmp_path: Path,
    csv_file: Path,
) -> None:
    seen, request = probe(
        provider,
        ctx,
        scripted,
        tmp_path,
        trainer={"data": {"source": "csv", "uri": str(csv_file)}},
        providers={"local": {"emulate": "aws"}},
    )
    env, base = seen["env"], Path(request["run_dir"]) / "opt" / "ml"
    assert seen["cwd"] == str(base / "code")
    assert {"cloudgd_entry.py", "cloudgd-job.json", "trainers"} <= set(seen["files"])
    assert seen["trainers"] == str(base / "code" / "trainers")  # the bundle, not the repo
    assert env["SAGEMAKER_BASE_DIR"] == str(base)
    assert (base / "input/config/resourceconfig.json").is_file()
    hps = json.loads((base / "input/config/hyperparameters.json").read_text())
    assert all(isinstance(v, str) for v in hps.values())
    assert (Path(env["SM_CHANNEL_TRAIN"]) / "train.csv").read_text() == csv_file.read_text()
    training = json.loads(env["SM_TRAINING_ENV"])
    assert isinstance(training["num_cpus"], int) and training["num_cpus"] >= 1
    assert env["SM_NUM_CPUS"] == str(training["num_cpus"])
    assert "PYTHONPATH" not in env  # a SageMaker container has no user PYTHONPATH
    assert "RANK" not in env  # single process: no torchrun variables


def test_vertex_contract_inside_the_rank(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan, tmp_path: Path
) -> None:
    seen, _ = probe(provider, ctx, scripted, tmp_path, providers={"local": {"emulate": "gcp"}})
    env = seen["env"]
    # pip installed the sdist into an isolated environment (cached under CLOUDGD_HOME/envs)
    site = Path(seen["trainers"]).parent
    assert site.name == "site-packages" and (site / "cloudgd-job.json").is_file()
    assert Path(seen["executable"]).parents[1].parent.name == "envs"
    assert "PYTHONPATH" not in env  # nothing of this machine's Python leaks in
    assert Path(env["AIP_MODEL_DIR"]).is_dir() and env["AIP_MODEL_DIR"].endswith("/")
    assert Path(env["AIP_CHECKPOINT_DIR"]).is_dir()
    assert json.loads(env["CLUSTER_SPEC"])["task"] == {
        "type": "workerpool0",
        "index": 0,
        "trial": "",
    }
    assert env["CLOUD_ML_JOB_ID"].isdigit()


def test_azure_contract_inside_the_rank(
    provider: LocalProvider,
    ctx: RenderContext,
    scripted: ScriptPlan,
    tmp_path: Path,
    csv_file: Path,
) -> None:
    seen, request = probe(
        provider,
        ctx,
        scripted,
        tmp_path,
        trainer={"data": {"source": "csv", "uri": str(csv_file)}},
        providers={"local": {"emulate": "azure"}},
    )
    root = Path(request["run_dir"]) / "azureml"
    argv = seen["argv"]
    assert argv[:2] == ["--config", "cloudgd-job.json"]
    flags = dict(zip(argv[::2], argv[1::2], strict=True))
    assert flags["--model-dir"] == str(root / "outputs" / "model")
    assert flags["--output-dir"] == str(root / "outputs" / "metrics")
    assert (Path(flags["--data-dir"]) / "train.csv").is_file()
    assert seen["cwd"] == str(root / "wd")
    assert {"outputs", "logs", "trainers", "cloudgd-job.json"} <= set(seen["files"])
    assert seen["env"]["AZUREML_RUN_ID"] == request["job_name"]


def test_a_data_directory_becomes_the_channel(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan, tmp_path: Path
) -> None:
    data = tmp_path / "shards"
    data.mkdir()
    for i in range(3):
        (data / f"part-{i}.npz").write_bytes(b"x")
    seen, _ = probe(
        provider,
        ctx,
        scripted,
        tmp_path,
        trainer={"data": {"source": "npz", "uri": str(data)}},
        providers={"local": {"emulate": "aws"}},
    )
    channel = Path(seen["env"]["SM_CHANNEL_TRAIN"])
    assert sorted(p.name for p in channel.iterdir()) == ["part-0.npz", "part-1.npz", "part-2.npz"]


def test_two_emulated_sagemaker_hosts_share_checkpoints(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan, tmp_path: Path
) -> None:
    script = (
        "import os\nfrom pathlib import Path\n"
        "base = Path(os.environ['SAGEMAKER_BASE_DIR'])\n"
        "(base / 'checkpoints' / f\"from-{os.environ['SM_CURRENT_HOST']}\").write_text('x')\n"
    )
    spec = load_spec(resources={"nodes": 2}, providers={"local": {"emulate": "aws"}})
    plan = scripted(provider.plan(spec, ctx), script)
    assert wait_done(provider, provider.submit(plan)).state is JobState.SUCCEEDED
    shared = Path(plan.request["run_dir"]) / "hosts" / "algo-1" / "opt" / "ml" / "checkpoints"
    assert sorted(p.name for p in shared.iterdir()) == ["from-algo-1", "from-algo-2"]


@pytest.mark.skipif(
    not (ROOT / "trainers" / "__main__.py").exists(),
    reason="the trainer (trainers/__main__.py) has not landed on this branch yet",
)
@pytest.mark.parametrize("emulate", ["none", "aws", "gcp", "azure"])
def test_real_trainer_on_digits_for_one_epoch(
    provider: LocalProvider, ctx: RenderContext, emulate: str
) -> None:
    spec = load_spec(providers={"local": {"emulate": emulate}})
    plan = provider.plan(spec, ctx)
    final = wait_done(provider, provider.submit(plan), timeout=300)
    log = "\n".join(list(provider.logs(JobHandle.parse(plan.handle)))[-30:])
    assert final.state is JobState.SUCCEEDED, f"{final.message}\n{log}"
    model_dir = Path(final.extra["artifacts"]["model_dir"])
    assert (model_dir / "model.pt").is_file()
    assert final.metrics, "summary.json metrics were not found"


def test_a_vertex_custom_image_runs_the_requests_exact_command(
    provider: LocalProvider, ctx: RenderContext
) -> None:
    """containerSpec: `sh -c <unpack and run> <sdist>`, with the `python` of an environment
    holding what docs/providers/gcp.md says a custom image must hold."""
    from providers.gcp.render import UNPACK_AND_RUN

    spec = load_spec(
        image="us-docker.pkg.dev/p/r/trainer:1", providers={"local": {"emulate": "gcp"}}
    )
    plan = provider.plan(spec, ctx)
    [rank] = plan.request["ranks"]
    assert rank["argv"][:4] == ["sh", "-c", UNPACK_AND_RUN, "{sdist}"]
    final = wait_done(provider, provider.submit(plan), timeout=300)
    log = "\n".join(provider.logs(JobHandle.parse(plan.handle)))
    assert final.state is JobState.SUCCEEDED, f"{final.message}\n{log}"
    run = Path(plan.request["run_dir"])
    assert (run / "vertex" / "tmp" / "cloudgd" / "cloudgd_entry.py").is_file()  # unpacked here
    assert (Path(final.extra["artifacts"]["model_dir"]) / "model.pt").is_file()


def test_a_streamed_parquet_source_trains_under_the_sagemaker_emulation_as_fastfile(
    provider: LocalProvider, ctx: RenderContext, tmp_path: Path
) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "trainers"))
    from stream_helpers import write_parquet

    write_parquet(tmp_path / "events")
    data = {"source": "parquet", "uri": str(tmp_path / "events"), "mode": "stream"}
    spec = load_spec(trainer={"data": data}, providers={"local": {"emulate": "aws"}})
    plan = provider.plan(spec, ctx)
    final = wait_done(provider, provider.submit(plan), timeout=300)
    log = "\n".join(list(provider.logs(JobHandle.parse(plan.handle)))[-30:])
    assert final.state is JobState.SUCCEEDED, f"{final.message}\n{log}"
    assert "parquet (1680 train / 420 val rows" in log
    opt_ml = Path(plan.request["run_dir"]) / "opt" / "ml"  # one host: no hosts/ level
    channels = json.loads((opt_ml / "input" / "config" / "inputdataconfig.json").read_text())
    assert channels["train"]["TrainingInputMode"] == "FastFile"
    channel = opt_ml / "input" / "data" / "train"
    assert channel.is_symlink() and channel.resolve() == (tmp_path / "events").resolve()
