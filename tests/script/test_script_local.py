"""Script jobs on the local provider: each emulated cloud's own variables and the CLOUDGD_*
contract, the requirements environment built once per content hash, torchrun for several
processes, and cancel."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.script.conftest import Invoke, MakeJob
from tests.script.test_script_example import cloudgd, run_dir

JOB = """\
name: tiny
code: .
script:
  entry_point: train.py
  args: ["--out", "${output_dir}"]
  inputs: {train: ./data, val: ./val.csv}
  metrics: {regex: {val_loss: 'val_loss=([-+0-9.eE]+)'}}
"""
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "byo-script" / "job.yaml"
FILES = {"data/train.csv": "x,y\n1,2\n", "val.csv": "x,y\n3,4\n"}


def env_of(log: str) -> dict[str, str]:
    pairs = [line.split("env ", 1)[1].split("=", 1) for line in log.splitlines() if "env " in line]
    return dict(pairs)


def submit(home: Path, job: Path, *sets: str) -> tuple[Path, str]:
    args = [a for s in sets for a in ("--set", s)]
    done = cloudgd(home, "submit", str(job), "-p", "local", "--wait", *args)
    assert done.returncode == 0, done.stderr + done.stdout
    run = run_dir(home)
    return run, (run / "logs" / "job.log").read_text()


@pytest.mark.parametrize(
    ("emulate", "own", "data_dir"),
    [
        ("none", [], "data/train"),
        ("aws", ["SM_CHANNEL_TRAIN", "SM_CHANNEL_VAL", "SM_MODEL_DIR"], "opt/ml/input/data/train"),
        ("gcp", ["AIP_MODEL_DIR", "AIP_CHECKPOINT_DIR", "CLOUD_ML_JOB_ID"], "data/train"),
        ("azure", ["AZUREML_RUN_ID"], "azureml/inputs/train"),
    ],
)
def test_each_emulated_cloud_gives_its_own_variables_and_the_contract(
    tmp_path: Path, make_job: MakeJob, emulate: str, own: list[str], data_dir: str
) -> None:
    script = (
        "import os, sys\nprint('args:', *sys.argv[1:])\n"
        "for k in sorted(os.environ):\n    print(f'env {k}={os.environ[k]}')\n"
        "print(open(os.path.join(os.environ['CLOUDGD_DATA_DIR'], 'train.csv')).read())\n"
        "print('val_loss=0.125')\n"
    )
    job = make_job(JOB, script=script, files=FILES)
    run, log = submit(tmp_path / "home", job, f"providers.local.emulate={emulate}")
    env = env_of(log)
    for name in own:
        assert name in env, f"{name} missing for emulate={emulate}"
    assert env["CLOUDGD_DATA_DIR"] == env["CLOUDGD_DATA_DIR_TRAIN"] == str(run / data_dir)
    assert Path(env["CLOUDGD_DATA_DIR_VAL"], "val.csv").is_file()
    assert "x,y\n1,2" in log
    assert f"args: --out {env['CLOUDGD_OUTPUT_DIR']}" in log
    for name in ("CLOUDGD_MODEL_DIR", "CLOUDGD_CHECKPOINT_DIR", "CLOUDGD_OUTPUT_DIR"):
        assert Path(env[name]).is_dir()
    status = json.loads(cloudgd(tmp_path / "home", "status", str(run), "-o", "json").stdout)
    assert status["state"] == "SUCCEEDED"
    assert status["metrics"]["val_loss"] == 0.125  # collected into the contract's output dir


def test_requirements_are_installed_once_per_content_hash(
    tmp_path: Path, make_job: MakeJob
) -> None:
    script = "import numpy\nprint('numpy', numpy.__version__)\n"
    job = make_job(
        JOB.replace("  inputs: {train: ./data, val: ./val.csv}\n", "")
        .replace('["--out", "${output_dir}"]', "[]")
        .replace("script:\n", "script:\n  requirements: requirements.txt\n"),
        script=script,
        files={"requirements.txt": "# what train.py imports\nnumpy  # the array library\n"},
    )
    home = tmp_path / "home"
    _, first = submit(home, job)
    assert "isolated environment: " in first and "numpy==" in first
    second_home_run = cloudgd(home, "submit", str(job), "-p", "local", "--wait", "--set",
                              "script.args=[\"--again\"]")  # fmt: skip
    assert second_home_run.returncode == 0, second_home_run.stderr
    logs = [p.read_text() for p in sorted((home / "runs").glob("*/logs/job.log"))]
    assert sum("reusing the isolated environment" in log for log in logs) == 1
    assert len(list((home / "envs").glob("env-*"))) == 1


def test_a_requirement_that_is_not_installed_is_refused_before_the_run_is_created(
    tmp_path: Path, make_job: MakeJob
) -> None:
    job = make_job(
        JOB.replace("script:\n", "script:\n  requirements: requirements.txt\n"),
        files={**FILES, "requirements.txt": "surely-not-a-package-here==1.0\n"},
    )
    done = cloudgd(tmp_path, "submit", str(job), "-p", "local", "--wait")
    assert done.returncode == 2
    assert done.stderr.startswith(
        "cloudgd: error: script.requirements: requirements.txt requires "
        "'surely-not-a-package-here==1.0', which is not installed"
    )
    assert not list((tmp_path / "runs").glob("tiny-*"))
    (job.parent / "requirements.txt").write_text("-r other.txt\n")
    done = cloudgd(tmp_path, "submit", str(job), "-p", "local", "--wait")
    assert done.returncode == 2
    assert "'-r other.txt': includes, constraints and editable installs" in done.stderr


@pytest.mark.slow
def test_several_processes_per_node_run_under_torchrun(tmp_path: Path) -> None:
    run, log = submit(
        tmp_path,
        EXAMPLE,
        'script.args=["--epochs", "2", "--hidden", "8"]',
        "distributed.processes_per_node=2",
    )
    assert "torch.distributed.run --nnodes=1 --nproc-per-node=2" in log
    records = (run / "output" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["epoch"] for r in records] == [1, 2]  # rank 0 alone prints


def test_cancel_stops_a_running_script(tmp_path: Path, make_job: MakeJob) -> None:
    job = make_job(JOB, script="import time\nprint('started', flush=True)\ntime.sleep(300)\n",
                   files=FILES)  # fmt: skip
    done = cloudgd(tmp_path, "submit", str(job), "-p", "local")
    assert done.returncode == 0, done.stderr
    run = run_dir(tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "started" not in (run / "logs" / "job.log").read_text():
        time.sleep(0.2)
    cancelled = cloudgd(tmp_path, "cancel", str(run), "-o", "json")
    assert json.loads(cancelled.stdout)["state"] == "CANCELLED"
    (rank,) = json.loads((run / "state.json").read_text())["ranks"]
    assert rank["exit_code"] is not None


def test_gates_report_and_logs_read_the_collected_metrics(
    tmp_path: Path, make_job: MakeJob
) -> None:
    job = make_job(JOB, script="print('epoch=1 val_loss=0.5')\nprint('epoch=2 val_loss=0.125')\n",
                   files=FILES)  # fmt: skip
    home = tmp_path / "home"
    passed = cloudgd(home, "submit", str(job), "-p", "local", "--wait",
                     "--max-metric", "val_loss=0.2")  # fmt: skip
    assert passed.returncode == 0, passed.stderr
    run = run_dir(home)
    missed = cloudgd(home, "wait", str(run), "--max-metric", "val_loss=0.1")
    assert missed.returncode == 4
    logs = cloudgd(home, "logs", str(run))
    assert "epoch=2 val_loss=0.125" in logs.stdout
    report = cloudgd(home, "report", str(run), "--out", str(tmp_path / "reports"))
    assert report.returncode == 0, report.stderr
    assert "val_loss" in next((tmp_path / "reports").glob("*.md")).read_text()


def test_a_gate_on_a_metric_the_script_does_not_collect_is_refused(
    tmp_path: Path, make_job: MakeJob
) -> None:
    job = make_job(JOB, files=FILES)
    done = cloudgd(tmp_path, "submit", str(job), "-p", "local", "--wait",
                   "--min-metric", "val_los=0.1")  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "cloudgd: error: --min-metric val_los: script.metrics collects no such metric; "
        "did you mean 'val_loss'?"
    )
    assert not (tmp_path / "runs").exists()


def test_cost_and_the_budget_gate_price_a_script_job(tmp_path: Path) -> None:
    cost = cloudgd(tmp_path, "--output", "json", "cost", str(EXAMPLE))
    assert cost.returncode == 0, cost.stderr
    assert json.loads(cost.stdout)  # one JSON document: the job priced on every cloud
    calibrate = cloudgd(tmp_path, "cost", str(EXAMPLE), "--calibrate")
    assert calibrate.returncode == 2  # it would time the built-in trainer, not the script
    assert "--calibrate times the built-in trainer's steps" in calibrate.stderr
    over = cloudgd(tmp_path, "submit", str(EXAMPLE), "-p", "aws", "--backend", "moto",
                   "--dry-run", "--set", "limits.max_cost_usd=0.01",
                   "--set", "script.inputs.train=s3://cloudgd-rehearsal/byo/")  # fmt: skip
    assert over.returncode == 2
    assert "limits.max_cost_usd: worst case" in over.stderr


@pytest.mark.slow
def test_two_emulated_sagemaker_hosts_run_one_launcher_each_under_torchrun(tmp_path: Path) -> None:
    run, log = submit(
        tmp_path,
        EXAMPLE,
        'script.args=["--epochs", "2", "--hidden", "8"]',
        "resources.nodes=2",
        "providers.local.emulate=aws",
    )
    assert "--nnodes=2 --nproc-per-node=1 --node-rank=0" in log
    assert "--nnodes=2 --nproc-per-node=1 --node-rank=1" in log
    assert (run / "hosts" / "algo-1" / "opt" / "ml" / "model" / "model.pt").is_file()
    output = run / "hosts" / "algo-1" / "opt" / "ml" / "output" / "data"
    assert len((output / "metrics.jsonl").read_text().splitlines()) == 2  # node 0 collects


def test_follow_does_not_promise_the_trainers_epoch_count(
    tmp_path: Path, make_job: MakeJob, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cloudgd.cli.follow as follow

    seen: dict[str, object] = {}
    real = follow.follow_job

    def recording(*args: object, **kwargs: object) -> object:
        seen.update(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(follow, "follow_job", recording)
    job = make_job(JOB, files=FILES)
    result = invoke("submit", str(job), "-p", "local", "--follow")
    assert result.exit_code == 0, result.output
    assert seen["total_epochs"] is None  # a script's epochs are its own business


@pytest.mark.slow
def test_emulating_azure_every_process_runs_the_script_itself(tmp_path: Path) -> None:
    # Azure ML's PyTorch distribution starts each process with torchrun's variables set
    run, log = submit(
        tmp_path,
        EXAMPLE,
        'script.args=["--epochs", "2", "--hidden", "8"]',
        "distributed.processes_per_node=2",
        "providers.local.emulate=azure",
    )
    assert "torch.distributed.run" not in log
    assert "[rank 1] cloudgd script: train.py --epochs 2" in log
    metrics = run / "azureml" / "outputs" / "metrics" / "metrics.jsonl"
    assert len(metrics.read_text().splitlines()) == 2  # rank 0 alone collects
