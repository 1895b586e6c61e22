"""``--run-local`` on aws through Amazon's own in-container code (``sagemaker-training``).

The AWS PyTorch training images start ``train``, which is ``sagemaker-training``'s
``sagemaker_training.cli.train`` with ``SAGEMAKER_TRAINING_MODULE`` naming
``sagemaker_pytorch_container.training:main``. A rehearsal runs exactly that, here:
the local provider lays out the ``/opt/ml`` tree (``SAGEMAKER_BASE_DIR`` points the
toolkit at it), ``hyperparameters.json`` holds the request's own ``HyperParameters``
(a tuning trial's values added as plain strings, as SageMaker writes them), and the
toolkit itself downloads the bundle from the rehearsal bucket (``S3_ENDPOINT_URL``),
installs its ``requirements.txt``, builds the arguments and launches the entry point
(torchrun for several processes). It runs in an isolated environment holding only
what the image provides and what ``requirements.txt`` declares, so a forgotten
dependency fails here as it fails on SageMaker.

What stays emulated: what the SageMaker platform does around the container (copying
the S3 channels into ``input/data``, ``resourceconfig.json``, the environment of the
container, checkpoint sync). Several nodes fall back to cloudgd's own emulation:
the toolkit's torchrun needs the hosts ``algo-N`` to resolve, which they do only on
SageMaker's network. Without the toolkit installed the emulation runs too, and the
run's log says so.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import tarfile
from importlib import metadata
from typing import Any

from cloudgd.bundle import REQUIREMENTS_NAME
from cloudgd.tuning.space import value_text
from providers.aws import image_packages
from providers.local.contracts import MASTER_PORT, PYTHON

TRAIN_MODULE = "sagemaker_training.cli.train"
FRAMEWORK_MODULE = "sagemaker_pytorch_container.training:main"
DISTRIBUTIONS = ("sagemaker-training", "sagemaker-pytorch-training")
_MODULES = ("sagemaker_training", "sagemaker_pytorch_container")
PROFILE = "cloudgd-rehearsal"
CONTAINER_BASE = "/opt/ml/"
IMAGE_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
TUNING_OBJECTIVE = "_tuning_objective_metric"
INSTALL_HINT = "pip install 'cloudgd[rehearse]' to rehearse with Amazon's own toolkit"


def missing_toolkit() -> str | None:
    """The toolkit module this interpreter lacks, or None when both are importable."""
    for module in _MODULES:
        if importlib.util.find_spec(module) is None:
            return module
    return None


def toolkit_versions() -> str:
    """``sagemaker-training 5.1.4, sagemaker-pytorch-training 3.0.0`` (for the log)."""
    found = []
    for name in DISTRIBUTIONS:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (version unknown)")
    return ", ".join(found)


def bundle_requirements(bundle: str) -> str:
    """The bundle's ``requirements.txt`` ("" when it has none), what the toolkit installs."""
    with tarfile.open(bundle, "r:gz") as archive:
        for member in archive.getmembers():
            if member.name.lstrip("./") == REQUIREMENTS_NAME and member.isfile():
                handle = archive.extractfile(member)
                return handle.read().decode() if handle else ""
    return ""


ENV_LABEL = "the AWS PyTorch training image with the bundle's requirements.txt"


def declared(requirements: str) -> list[str]:
    """The requirement lines of a ``requirements.txt`` (pip options and comments left out:
    the toolkit's own pip still reads the file as it is)."""
    lines = (line.split(" #", 1)[0].strip() for line in requirements.splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def python_env(requirements: str) -> tuple[dict[str, Any], list[str]]:
    """The isolated environment the toolkit runs in (``providers/local/isolated_env.py``
    builds it when the run starts), and notes for the run's log.

    It holds what the image provides (:mod:`providers.aws.image_packages`), what the
    bundle's ``requirements.txt`` declares, and their dependencies: the toolkit's
    ``pip install -r requirements.txt`` then finds everything installed, and a package
    neither declares is missing here as it is on SageMaker.
    """
    here, absent = image_packages.split_by_presence()
    notes = []
    if absent:
        notes.append(
            f"rehearsal: the image also carries {', '.join(absent)} ({image_packages.SOURCE}), "
            "not installed here: a job that imports one of them fails this rehearsal only"
        )
    env = {
        "label": ENV_LABEL,
        "base": here,
        "requires": declared(requirements),
        "scripts": ["torchrun"],  # the toolkit starts torchrun from PATH, as in the image
    }
    return env, notes


def trial_hyperparameters(
    static: dict[str, str], values: dict[str, Any], metric: str
) -> dict[str, str]:
    """A tuning trial's ``hyperparameters.json``: the static ones (JSON-encoded by cloudgd),
    the trial's values as the plain strings SageMaker writes, and the objective's name."""
    hps = dict(static)
    hps.update({path: value_text(value) for path, value in values.items()})
    hps[TUNING_OBJECTIVE] = metric
    return hps


def _aws_files(run_dir: str, region: str) -> tuple[dict[str, str], dict[str, str]]:
    """A config file and variables that give the toolkit moto's credentials and nothing else.

    The user's own AWS variables are blanked: a rehearsal never signs with real keys.
    (The keys sit in the config file: a variable naming a credentials file would be
    hidden from the plan as if it were a secret.)
    """
    config = f"{run_dir}/aws/config"
    files = {
        config: f"[profile {PROFILE}]\nregion = {region}\n"
        "aws_access_key_id = testing\naws_secret_access_key = testing\n",
    }
    env = {
        "AWS_CONFIG_FILE": config,
        "AWS_PROFILE": PROFILE,
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SESSION_TOKEN": "",
    }
    return files, env


def toolkit_request(
    request: dict[str, Any],
    hyperparameters: dict[str, str],
    *,
    endpoint: str,
    region: str,
    requirements: str,
    job_name: str,
    code_channel: str | None = None,
) -> dict[str, Any]:
    """The local provider's ``emulate: aws`` request, rewritten so the toolkit runs it.

    One process per host, as in the container: the toolkit starts the ranks itself.
    ``code_channel`` is a local copy of the request's ``code`` channel; it becomes
    ``input/data/code``, and a ``sagemaker_submit_directory`` under ``/opt/ml`` is read
    under the emulated base (the one path the toolkit cannot re-root itself).
    """
    if int(request["nodes"]) != 1:
        raise ValueError("the toolkit rehearsal runs one host")
    out = copy.deepcopy(request)
    run = out["run_dir"]
    first = out["ranks"][0]
    base = first["env"]["SAGEMAKER_BASE_DIR"]  # the emulated /opt/ml the layout made
    layout = out["layout"]
    hyperparameters = dict(hyperparameters)
    submitted = _decoded(hyperparameters.get("sagemaker_submit_directory", "?"))
    if submitted.startswith(CONTAINER_BASE):
        local = f"{base}/{submitted.removeprefix(CONTAINER_BASE)}"
        hyperparameters["sagemaker_submit_directory"] = json.dumps(local)
    if code_channel:
        layout["links"][f"{base}/input/data/code"] = code_channel
    layout["files"][f"{base}/input/config/hyperparameters.json"] = (
        json.dumps(hyperparameters, indent=2, sort_keys=True) + "\n"
    )
    aws_files, aws_env = _aws_files(run, region)
    layout["files"].update(aws_files)
    # The toolkit unpacks sagemaker_submit_directory only into an empty code dir.
    layout["code_dirs"] = []
    platform = {
        key: value
        for key, value in first["env"].items()
        if not key.startswith(("SM_", "SAGEMAKER_"))
        and key not in ("TRAINING_JOB_NAME", "CURRENT_HOST")
        and key not in _RANK_VARS
    }
    env = {
        **platform,
        **aws_env,
        "SAGEMAKER_BASE_DIR": base,
        "SAGEMAKER_TRAINING_MODULE": FRAMEWORK_MODULE,
        "TRAINING_JOB_NAME": job_name,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "S3_ENDPOINT_URL": endpoint,
        # The hosts are algo-N, which resolve only on SageMaker's network: skip the
        # toolkit's DNS wait, as SageMaker Studio's local mode does.
        "SM_STUDIO_LOCAL_MODE": "True",
        # The image's PATH; the run puts the environment's bin/ (python, torchrun) first.
        "PATH": os.pathsep.join(IMAGE_PATH),
        "PYTHONDONTWRITEBYTECODE": "1",  # as the image sets it (its site-packages are links)
    }
    if int(out["world_size"]) > 1:
        env["PET_MASTER_PORT"] = MASTER_PORT  # torchrun's port: a free one, not 29500
    environment, env_notes = python_env(requirements)
    layout["python_env"] = environment
    out["ranks"] = [
        {
            "rank": 0,
            "node": 0,
            "local_rank": 0,
            "argv": [PYTHON, "-m", TRAIN_MODULE],
            "cwd": base,
            "env": dict(sorted(env.items())),
        }
    ]
    out["toolkit"] = {"module": TRAIN_MODULE, "framework": FRAMEWORK_MODULE}
    out["notes"] = [
        f"rehearsal: Amazon's in-container toolkit runs this job ({toolkit_versions()}): "
        f"{TRAIN_MODULE} with {FRAMEWORK_MODULE}, code from {submitted}",
        *env_notes,
    ]
    return out


def declare_channels(request: dict[str, Any], channels: list[str]) -> None:
    """Write ``inputdataconfig.json`` naming ``channels`` (the cloud request's own), as
    SageMaker does: the toolkit sets ``SM_CHANNEL_<NAME>`` for each channel it lists."""
    base = request["ranks"][0]["env"]["SAGEMAKER_BASE_DIR"]
    config = {
        name: {
            "RecordWrapperType": "None",
            "S3DistributionType": "FullyReplicated",
            "TrainingInputMode": "File",
        }
        for name in channels
    }
    files = request["layout"]["files"]
    files[f"{base}/input/config/inputdataconfig.json"] = json.dumps(config, indent=2) + "\n"


_RANK_VARS = frozenset(
    {"MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE"}
    | {"NODE_RANK", "GROUP_RANK"}
)


def _decoded(value: str) -> str:
    try:
        return str(json.loads(value))
    except ValueError:
        return value


def emulation_note(reason: str) -> str:
    """The log line of a rehearsal that runs cloudgd's emulation instead of the toolkit."""
    return f"rehearsal: {reason}; cloudgd's emulation of the SageMaker container runs the job"
