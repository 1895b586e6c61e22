"""trainers/script_launch.py: each platform's variables become the CLOUDGD_* contract,
placeholders are filled, extra arguments reach the script, metrics are collected."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from trainers.script_launch import parse_options
from trainers.script_metrics import Collector

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """\
import os, sys
print("args:", " ".join(sys.argv[1:]))
for name in sorted(os.environ):
    if name.startswith("CLOUDGD_"):
        print(f"env {name}={os.environ[name]}")
print("epoch=1 loss=0.9 val_loss=0.5")
print("epoch=2 loss=0.7 val_loss=0.25")
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


def launch(tmp: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    code = tmp / "bundle" / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "train.py").write_text(SCRIPT)
    config = {
        "version": 1,
        "entry_point": "train.py",
        "module": None,
        "args": ["--data", "${data_dir}", "--out=${model_dir}", "--val", "${data_dir.val}"],
        "channels": ["train", "val"],
        "metrics": {"regex": {"val_loss": r"val_loss=([-+0-9.eE]+)", "epoch": r"epoch=(\d+)"}},
        "nodes": 1,
        "processes_per_node": 1,
        "code_dir": "code",
    }
    (tmp / "bundle" / "cloudgd-script.json").write_text(json.dumps(config))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "CLOUDGD_"))}
    return subprocess.run(
        [sys.executable, "-m", "trainers.script_launch", *extra],
        cwd=tmp / "bundle",
        env={**clean, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def printed_env(stdout: str) -> dict[str, str]:
    pairs = [line[4:].split("=", 1) for line in stdout.splitlines() if line.startswith("env ")]
    return dict(pairs)


def test_sagemaker_channels_and_dirs_become_the_cloudgd_contract(tmp_path: Path) -> None:
    base = tmp_path / "opt" / "ml"
    env = {
        "SAGEMAKER_BASE_DIR": str(base),
        "SM_MODEL_DIR": str(base / "model"),
        "SM_OUTPUT_DATA_DIR": str(base / "output" / "data"),
        "SM_CHANNEL_TRAIN": str(base / "input" / "data" / "train"),
        "SM_CHANNEL_VAL": str(base / "input" / "data" / "val"),
    }
    done = launch(tmp_path, env, "--lr", "0.01")  # a SageMaker hyperparameter
    assert done.returncode == 0, done.stderr
    seen = printed_env(done.stdout)
    assert seen["CLOUDGD_DATA_DIR"] == env["SM_CHANNEL_TRAIN"]
    assert seen["CLOUDGD_DATA_DIR_VAL"] == env["SM_CHANNEL_VAL"]
    assert seen["CLOUDGD_MODEL_DIR"] == env["SM_MODEL_DIR"]
    assert seen["CLOUDGD_CHECKPOINT_DIR"] == str(base / "checkpoints")
    assert seen["CLOUDGD_OUTPUT_DIR"] == env["SM_OUTPUT_DATA_DIR"]
    assert (
        f"args: --data {env['SM_CHANNEL_TRAIN']} --out={env['SM_MODEL_DIR']} "
        f"--val {env['SM_CHANNEL_VAL']} --lr 0.01"
    ) in done.stdout
    output = base / "output" / "data"
    records = [json.loads(line) for line in (output / "metrics.jsonl").read_text().splitlines()]
    assert records == [
        {"kind": "epoch", "epoch": 1, "step": 1, "val_loss": 0.5},
        {"kind": "epoch", "epoch": 2, "step": 2, "val_loss": 0.25},
    ]
    summary = json.loads((output / "summary.json").read_text())
    assert summary["final"] == {"epoch": 2, "val_loss": 0.25}
    assert summary["platform"] == "sagemaker" and summary["exit_code"] == 0


def test_options_win_over_the_platform_and_the_exit_code_passes_through(tmp_path: Path) -> None:
    env = {"AZUREML_RUN_ID": "run-1", "EXIT_WITH": "3"}
    done = launch(
        tmp_path,
        env,
        "--cloudgd-data",
        f"train={tmp_path / 'in'}",
        f"--cloudgd-data=val={tmp_path / 'val'}",
        "--cloudgd-model-dir",
        str(tmp_path / "m"),
        "--cloudgd-checkpoint-dir",
        str(tmp_path / "c"),
        "--cloudgd-output-dir",
        str(tmp_path / "o"),
    )
    assert done.returncode == 3
    seen = printed_env(done.stdout)
    assert seen["CLOUDGD_DATA_DIR_TRAIN"] == str(tmp_path / "in")
    assert seen["CLOUDGD_CHECKPOINT_DIR"] == str(tmp_path / "c")
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["exit_code"] == 3


def test_vertex_dirs_map_from_aip_variables(tmp_path: Path) -> None:
    aip = tmp_path / "aip"
    env = {
        "AIP_MODEL_DIR": f"{aip}/model/",
        "AIP_CHECKPOINT_DIR": f"{aip}/checkpoints/",
        "CLOUD_ML_JOB_ID": "123",
        "CLOUDGD_DATA_DIR_TRAIN": str(tmp_path / "train"),
        "CLOUDGD_DATA_DIR_VAL": str(tmp_path / "val"),
    }
    done = launch(tmp_path, env)
    assert done.returncode == 0, done.stderr
    seen = printed_env(done.stdout)
    assert seen["CLOUDGD_MODEL_DIR"] == f"{aip}/model"
    assert seen["CLOUDGD_CHECKPOINT_DIR"] == f"{aip}/checkpoints"
    assert seen["CLOUDGD_OUTPUT_DIR"] == f"{aip}/output"
    assert (aip / "output" / "metrics.jsonl").is_file()


def test_a_missing_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trainers.script_launch", "--cloudgd-config", "nope.json"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "cloudgd script launcher: script config not found: nope.json\n"


def test_launcher_options_are_split_from_the_script_arguments() -> None:
    opts = parse_options(["--lr", "0.1", "--cloudgd-data", "a=/x", "--cloudgd-output-dir=/o"])
    assert (opts.extra, opts.data, opts.dirs) == (["--lr", "0.1"], {"a": "/x"}, {"output": "/o"})


def test_a_metrics_file_the_script_writes_is_collected(tmp_path: Path) -> None:
    (tmp_path / "mine.jsonl").write_text(
        '{"epoch": 1, "acc": 0.5}\n{"epoch": 2, "acc": 0.75}\n{"ep'
    )
    collector = Collector(tmp_path, {}, "mine.jsonl")
    assert collector.read_metrics_file() == 2
    summary = collector.finish(0, platform="local", world_size=1)
    assert summary["final"] == {"acc": 0.75, "epoch": 2}
    last = json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[-1])
    assert last == {"kind": "epoch", "epoch": 2, "step": 2, "acc": 0.75}


def test_the_launcher_imports_only_the_standard_library() -> None:
    # It runs before the script's requirements are known to be there, in any Python.
    code = (
        "import sys, trainers.script_launch\n"
        "third = {m.split('.')[0] for m in sys.modules} & {'cloudgd', 'providers', 'pydantic',"
        " 'numpy', 'torch', 'yaml'}\n"
        "print(sorted(third))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "[]\n", done.stderr


def test_torchrun_starts_the_processes_of_a_node_unless_the_platform_did() -> None:
    from trainers.context import detect_context
    from trainers.script_launch import script_argv

    config = {"entry_point": "train.py", "nodes": 2, "processes_per_node": 4}

    def command(env: dict[str, str]) -> list[str]:
        return script_argv(config, ["--lr", "1"], env, detect_context(env=env))[1:]

    # Azure ML's PyTorch distribution started all 8 processes: run the script as it is
    azure = {"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "AZUREML_RUN_ID": "r"}
    assert command(azure) == ["train.py", "--lr", "1"]
    # one launcher per node with per-node RANK/WORLD_SIZE (2 nodes): torchrun, node 1
    vertex = {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "10.0.0.2", "MASTER_PORT": "2222"}
    assert command(vertex) == [
        "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=4", "--node-rank=1",
        "--master-addr=10.0.0.2", "--master-port=2222", "train.py", "--lr", "1",
    ]  # fmt: skip
    # SageMaker: the host order gives the node rank and algo-1 the master (port 7777)
    hosts = {"SM_HOSTS": '["algo-1","algo-2"]', "SM_CURRENT_HOST": "algo-2", "SM_MODEL_DIR": "/m"}
    assert command(hosts)[4:7] == ["--node-rank=1", "--master-addr=algo-1", "--master-port=7777"]
    single = {**config, "nodes": 1, "processes_per_node": 1}
    assert script_argv(single, [], {}, detect_context(env={}))[1:] == ["train.py"]
