"""The container side: Dockerfile lint, pinned requirements, import boundaries."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from trainer_helpers import subprocess_env

REPO = Path(__file__).resolve().parents[2]
TRAINERS = REPO / "trainers"


def hadolint() -> str | None:
    venv_binary = Path(sys.executable).parent / "hadolint"
    return str(venv_binary) if venv_binary.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed")
    proc = subprocess.run(
        [binary, str(TRAINERS / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_runs_as_non_root_with_an_exec_entrypoint() -> None:
    lines = (TRAINERS / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert 'ENTRYPOINT ["python", "-m", "trainers"]' in lines  # exec form receives SIGTERM


def test_requirements_are_pinned() -> None:
    for line in (TRAINERS / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert "==" in line, f"unpinned requirement: {line}"


def test_trainer_never_imports_cloudgd_or_providers() -> None:
    for path in TRAINERS.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in ("cloudgd", "providers"), f"{path}: {name}"


def test_config_and_context_load_without_torch() -> None:
    code = (
        "import sys, trainers.config, trainers.configio, trainers.context;"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    env = subprocess_env()
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr


def test_sagemaker_train_argument_is_accepted() -> None:
    from trainers.__main__ import parse_args

    args = parse_args(["train", "--set", "epochs=2"])
    assert args.mode == "train" and args.sets == ["epochs=2"]


def test_vertex_tuning_trial_arguments_become_overrides() -> None:
    from trainers.__main__ import parse_args

    args = parse_args(["--config", "c.json", "--trainer.optimizer.lr=0.02", "--trainer.epochs=3"])
    assert args.sets == ["trainer.optimizer.lr=0.02", "trainer.epochs=3"]
    with pytest.raises(SystemExit):
        parse_args(["--unknown-flag=1"])


def test_sagemaker_toolkit_arguments_become_overrides() -> None:
    """sagemaker-training passes each hyperparameter as two arguments: --name value."""
    from trainers.__main__ import parse_args

    args = parse_args(["train", "--trainer.batch_size", "64", "--trainer.optimizer.lr", "0.02"])
    assert args.mode == "train"
    assert args.sets == ["trainer.batch_size=64", "trainer.optimizer.lr=0.02"]


def test_both_argument_forms_mix_and_come_after_set() -> None:
    from trainers.__main__ import parse_args

    args = parse_args(
        ["--trainer.epochs", "3", "--set", "seed=1", "--trainer.optimizer.lr=1e-3", "train"]
    )
    assert args.mode == "train"
    assert args.sets == ["seed=1", "trainer.epochs=3", "trainer.optimizer.lr=1e-3"]


@pytest.mark.parametrize("argv", [["--trainer.epochs"], ["--trainer.=3"], ["--trainer.", "3"]])
def test_a_tuned_argument_without_a_name_or_value_exits_2(argv: list[str]) -> None:
    from trainers.__main__ import parse_args

    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
