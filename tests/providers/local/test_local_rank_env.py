"""What a local rank's environment holds: the shell's, scrubbed of platform variables,
then the contract's PYTHONPATH, the plan's env, the isolated interpreter and secrets."""

from __future__ import annotations

import os

from providers.local.rank_env import HIDDEN_ENV_PREFIX, rank_env

SHELL = {
    "HOME": "/home/me",
    "PATH": "/usr/bin",
    "PYTHONPATH": "/my/src",
    "SM_MODEL_DIR": "/opt/ml/model",  # left over from a SageMaker shell
    "RANK": "3",
    f"{HIDDEN_ENV_PREFIX}TOKEN": "s3cret",
}


def test_platform_variables_from_the_shell_do_not_reach_a_rank() -> None:
    env = rank_env(SHELL, python_path=None, declared={}, isolated_python=None, secrets={})
    assert env == {
        "HOME": "/home/me",
        "PATH": "/usr/bin",
        "PYTHONPATH": "/my/src",
        "PYTHONUNBUFFERED": "1",
    }


def test_the_contract_sets_or_drops_pythonpath() -> None:
    emulated = rank_env(
        SHELL, python_path=["/opt/code", "/opt/lib"], declared={}, isolated_python=None, secrets={}
    )
    assert emulated["PYTHONPATH"] == os.pathsep.join(["/opt/code", "/opt/lib"])
    dropped = rank_env(SHELL, python_path=[], declared={}, isolated_python=None, secrets={})
    assert "PYTHONPATH" not in dropped


def test_the_isolated_interpreter_comes_first_on_path_and_secrets_win() -> None:
    env = rank_env(
        SHELL,
        python_path=None,
        declared={"PATH": "/image/bin", "TOKEN": "placeholder", "RANK": "0"},
        isolated_python="/envs/vertex/bin/python",
        secrets={"TOKEN": "s3cret"},
    )
    assert env["PATH"] == os.pathsep.join(["/envs/vertex/bin", "/image/bin"])
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert (env["TOKEN"], env["RANK"]) == ("s3cret", "0")
