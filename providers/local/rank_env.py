"""The environment a local job's rank is launched with.

This process's environment without any platform or torchrun variables inherited from
the submitting shell, then ``PYTHONUNBUFFERED=1``, the emulated ``PYTHONPATH`` when the
contract sets one, the plan's per-rank env (placeholders resolved) and the job's secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

# Credential-looking env values travel to the supervisor here, not in plan.json
# (providers.local.provider.hide_credentials); ranks get them under their own names.
HIDDEN_ENV_PREFIX = "CLOUDGD_HIDDEN_"
_SCRUB_PREFIXES = (
    "SM_",
    "SAGEMAKER_",
    "AIP_",
    "CLOUD_ML_",
    "AZUREML_",
    "TORCHELASTIC_",
    HIDDEN_ENV_PREFIX,
)
_SCRUB_NAMES = frozenset(
    {
        "CLUSTER_SPEC",
        "TF_CONFIG",
        "TRAINING_JOB_NAME",
        "CURRENT_HOST",
        "MASTER_ADDR",
        "MASTER_PORT",
        "WORLD_SIZE",
        "RANK",
        "LOCAL_RANK",
        "LOCAL_WORLD_SIZE",
        "NODE_RANK",
        "GROUP_RANK",
        "GROUP_WORLD_SIZE",
        "ROLE_RANK",
        "ROLE_WORLD_SIZE",
        "CLOUDGD_CONFIG",
        "CLOUDGD_DATA_DIR",
        "CLOUDGD_MODEL_DIR",
        "CLOUDGD_CHECKPOINT_DIR",
        "CLOUDGD_OUTPUT_DIR",
        "CLOUDGD_TENSORBOARD_DIR",
        "CLOUDGD_CODE_DIR",
    }
)


def inherited_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The submitting shell's environment minus variables that would fake a platform."""
    return {
        k: v
        for k, v in environ.items()
        if k not in _SCRUB_NAMES and not k.startswith(_SCRUB_PREFIXES)
    }


def rank_env(
    environ: Mapping[str, str],
    *,
    python_path: list[str] | None,
    declared: Mapping[str, str],
    isolated_python: str | None,
    secrets: Mapping[str, str],
) -> dict[str, str]:
    """One rank's environment.

    ``python_path``: the contract's ``PYTHONPATH`` entries (None keeps the inherited one,
    ``[]`` drops it); ``declared``: the plan's env for the rank, placeholders resolved;
    ``isolated_python``: the interpreter of the contract's isolated environment, if any.
    """
    env = inherited_env(environ)
    env["PYTHONUNBUFFERED"] = "1"
    if python_path is not None:
        env.pop("PYTHONPATH", None)
        if python_path:
            env["PYTHONPATH"] = os.pathsep.join(python_path)
    env.update(declared)
    if isolated_python:  # its site-packages links this machine's: write nothing there
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        # the image's `python` (a container command runs whatever `python` is on PATH),
        # ahead of a PATH the contract sets (the image's own, for the AWS toolkit)
        env["PATH"] = os.pathsep.join([str(Path(isolated_python).parent), env.get("PATH", "")])
    env.update(secrets)
    return env
