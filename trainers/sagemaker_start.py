"""What the trainer image does when SageMaker starts it: ``<ENTRYPOINT> train``.

SageMaker runs a bring-your-own image as ``docker run IMAGE train``, so the image's
``python -m trainers`` gets ``train`` and nothing else: no config, no code. The job's
code bundle (config included) is ``sagemaker_submit_directory`` in
``hyperparameters.json``; for an own image cloudgd sends it as the ``code`` input
channel, so SageMaker itself puts it in ``/opt/ml/input/data/code``.

- With Amazon's toolkit in the image (``pip install sagemaker-training``), the toolkit
  runs the job exactly as in the AWS PyTorch images: its ``train`` unpacks the bundle,
  installs its requirements and runs ``cloudgd_entry.py`` with the hyperparameters as
  arguments (torchrun for several processes).
- Without it, the bundle is unpacked into ``/opt/ml/code`` here and its trainer runs
  from there; it reads tuned values from ``hyperparameters.json`` itself. A script job's
  launcher (``sagemaker_program``: ``cloudgd_script.py``) gets them as ``--name value``
  arguments instead, as the toolkit would pass them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tarfile
from collections.abc import Mapping
from pathlib import Path

from trainers.errors import ConfigError

ENTRY = "cloudgd_entry.py"
FRAMEWORK_MODULE = "sagemaker_pytorch_container.training:main"


def base_dir(env: Mapping[str, str]) -> Path:
    """``/opt/ml``, or where ``SAGEMAKER_BASE_DIR`` puts it (as the toolkit reads it)."""
    return Path(env.get("SAGEMAKER_BASE_DIR") or "/opt/ml")


def started_by_sagemaker(env: Mapping[str, str]) -> bool:
    """True inside a SageMaker training container (its hyperparameters file exists)."""
    return (base_dir(env) / "input" / "config" / "hyperparameters.json").is_file()


def toolkit_command(env: Mapping[str, str]) -> tuple[list[str], dict[str, str]] | None:
    """The toolkit's ``train`` and its environment, or None when the image lacks it."""
    train = shutil.which("train", path=env.get("PATH"))
    if train is None or importlib.util.find_spec("sagemaker_training") is None:
        return None
    child = dict(env)
    if importlib.util.find_spec("sagemaker_pytorch_container") is not None:
        child.setdefault("SAGEMAKER_TRAINING_MODULE", FRAMEWORK_MODULE)
    return [train], child


def _hyperparameters(base: Path) -> dict[str, str]:
    path = base / "input" / "config" / "hyperparameters.json"
    loaded = json.loads(path.read_text())
    return {str(k): v for k, v in loaded.items() if isinstance(v, str)}


def _decoded(raw: str) -> str:
    """A hyperparameter's value as the toolkit passes it (cloudgd JSON-encodes them)."""
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return str(value)


def _submit_directory(base: Path) -> str:
    raw = _hyperparameters(base).get("sagemaker_submit_directory")
    if raw is None:
        path = base / "input" / "config" / "hyperparameters.json"
        raise ConfigError(f"{path}: no sagemaker_submit_directory")
    return _decoded(raw)


def program(base: Path) -> str:
    """The bundle's entry file (``sagemaker_program``): the trainer's, or the script
    launcher's (``cloudgd_script.py``) for a script job."""
    raw = _hyperparameters(base).get("sagemaker_program")
    return _decoded(raw) if raw else ENTRY


def program_args(base: Path) -> list[str]:
    """``--name value`` for every hyperparameter that is not SageMaker's own, as the
    toolkit passes them: a script job's tuned values become the script's arguments."""
    args: list[str] = []
    for key, raw in sorted(_hyperparameters(base).items()):
        if not key.startswith(("sagemaker_", "_")):
            args += [f"--{key}", _decoded(raw)]
    return args


def unpack_bundle(env: Mapping[str, str]) -> Path:
    """Unpack the job's bundle into ``<base>/code`` (kept if already there); its path.

    A container path (``/opt/ml/...``) is read under ``SAGEMAKER_BASE_DIR`` when set.
    """
    base = base_dir(env)
    source = _submit_directory(base)
    if source.startswith("/opt/ml/"):
        source = str(base / source.removeprefix("/opt/ml/"))
    code = base / "code"
    if (code / program(base)).is_file():
        return code
    if not Path(source).is_file():
        raise ConfigError(
            f"the code bundle {source} is not in the container, and the image has no "
            "SageMaker training toolkit to fetch it",
            hint="plan with cloudgd, which sends the bundle as the 'code' input channel for "
            "your own image, or pip install sagemaker-training in the image",
        )
    code.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source, "r:gz") as archive:
        archive.extractall(code, filter="data")
    return code


def handoff(env: Mapping[str, str]) -> tuple[list[str], str | None, dict[str, str]]:
    """(command, working dir, environment) that runs the job SageMaker started."""
    toolkit = toolkit_command(env)
    if toolkit is not None:
        return toolkit[0], None, toolkit[1]
    code = unpack_bundle(env)
    entry = program(base_dir(env))
    if entry == ENTRY:  # the trainer reads tuned values from hyperparameters.json itself
        return [sys.executable, str(code / ENTRY)], str(code), dict(env)
    return [sys.executable, str(code / entry), *program_args(base_dir(env))], str(code), dict(env)


def exec_handoff(env: Mapping[str, str]) -> None:
    """Replace this process with :func:`handoff`'s command (signals reach it directly)."""
    argv, cwd, child = handoff(env)
    print(f"SageMaker started the image: running {' '.join(argv)}", flush=True)
    if cwd:
        os.chdir(cwd)
    os.execve(argv[0], argv, child)
